"""Hypothesis settings for the property tests of every room: example counts scaled to the loaded profile.

The profiles are registered and chosen in tests/conftest.py: the default (hypothesis's 100 examples) for the whole
suite, "quick" (a fifth of each count) for ``-m "not slow"``.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings


def examples(n: int) -> int:
    """``n`` examples under the default profile, scaled to the loaded one (a fifth under "quick", at least 5)."""
    return max(5, n * settings.default.max_examples // settings.get_profile("default").max_examples)


def property_test(max_examples: int):
    """Hypothesis settings for a property test: ``max_examples`` scaled to the loaded profile, no deadline."""

    def decorate(test):
        checks = [HealthCheck.too_slow]
        return settings(max_examples=examples(max_examples), deadline=None, suppress_health_check=checks)(test)

    return decorate


# Property tests whose examples are cheap run 150 of them; those that tag text or load a model, 60.
FAST = property_test(150)
SLOW = property_test(60)
