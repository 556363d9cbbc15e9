"""config.py: the configs and defaults, importable without torch, and the one source of the library's defaults."""

from __future__ import annotations

import inspect
import subprocess
import sys
from dataclasses import fields

import pytest

from tagger.nn import config


@pytest.mark.slow
def test_importing_config_does_not_import_torch():
    code = "import sys, tagger.nn.config; print(sorted(m for m in ('torch', 'numpy') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout.strip()) == (0, "[]"), out.stderr


def test_library_functions_take_their_defaults_from_config():
    from tagger.training import evaluation, loop

    defaults = {f.name: getattr(config.DEFAULTS, f.name) for f in fields(config.Defaults)}
    seen = set()
    for function in (evaluation.evaluate, loop.train):
        for name, param in inspect.signature(function).parameters.items():
            if name in defaults:
                assert param.default == defaults[name], (function.__name__, name)
                seen.add(name)
    assert seen == set(defaults), f"defaults no library function takes: {sorted(set(defaults) - seen)}"


def test_no_default_has_two_homes():
    """The tagging options' defaults are TagOptions' alone; evaluate and train read those they share from it."""
    from tagger.tagging.options import TagOptions
    from tagger.training import evaluation, loop

    tagging = {f.name: f.default for f in fields(TagOptions)}
    assert not set(tagging) & {f.name for f in fields(config.Defaults)}
    for function in (evaluation.evaluate, loop.train):
        for name, param in inspect.signature(function).parameters.items():
            if name in tagging:
                assert param.default == tagging[name], (function.__name__, name)


def test_defaults_are_frozen():
    with pytest.raises(AttributeError):
        config.DEFAULTS.resume = True  # type: ignore[misc]


def test_default_model_path_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "m.pt"))
    assert config.default_model_path() == tmp_path / "m.pt"
    monkeypatch.delenv("TAGGER_MODEL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    assert config.default_model_path() == tmp_path / "tagger" / "model.pt"


def test_context_defaults_to_auto_and_an_old_model_file_reads_as_none():
    assert config.ModelConfig().context == "auto"
    old_file = {k: v for k, v in config.ModelConfig().to_dict().items() if k != "context"}
    assert config.ModelConfig.from_dict(old_file).context == "none"
    assert config.ModelConfig.from_dict({**old_file, "context": "document"}).context == "document"
    assert set(config.CONTEXTS) == {"auto", "none", "document"}


def test_an_unknown_context_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="context must be one of auto, none, document, got 'sentence'"):
        config.ModelConfig(context="sentence")
