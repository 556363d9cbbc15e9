"""Rules for option values: each refusal names the option and the value."""

from __future__ import annotations

from typing import Annotated

import pytest
import typer

from tagger.cli.options import at_least, between, fraction, one_of, option, positive


@pytest.mark.parametrize(
    ("rule", "value", "message"),
    [
        (at_least(1), 0, "--x must be at least 1, got 0"),
        (at_least(0), -0.5, "--x must be at least 0, got -0.5"),
        (at_least(0), float("nan"), "--x must be a finite number, got nan"),
        (at_least(0), float("inf"), "--x must be a finite number, got inf"),
        (positive, 0.0, "--x must be positive, got 0.0"),
        (positive, float("nan"), "--x must be a finite number, got nan"),
        (fraction, 1.0, "--x must be in [0, 1), got 1.0"),
        (fraction, -0.1, "--x must be in [0, 1), got -0.1"),
        (fraction, float("nan"), "--x must be a finite number, got nan"),
        (between(0, 9), 10, "--x must be from 0 to 9, got 10"),
        (one_of(("a", "b")), "c", "--x must be one of a, b, got 'c'"),
    ],
)
def test_a_refused_value_is_named(rule, value, message):
    with pytest.raises(ValueError) as info:
        rule("--x", value)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("rule", "value"),
    [(at_least(1), 1), (at_least(-1), -1), (positive, 1e-9), (fraction, 0.0), (between(0, 9), 9), (one_of("ab"), "a")],
)
def test_a_good_value_passes(rule, value):
    rule("--x", value)


def test_option_checks_its_rules_and_shows_its_choices():
    app = typer.Typer()
    got = []

    @app.command()
    def command(
        n: Annotated[int, option("--n", help="N.", rules=[at_least(1)])],
        kind: Annotated[str, option("--kind", help="Kind.", choices=("a", "b"))],
        maybe: Annotated[str | None, option("--maybe", help="Left out: not checked.", choices=("x",))] = None,
    ) -> None:
        got.append((n, kind, maybe))

    from typer.testing import CliRunner

    runner = CliRunner()
    assert runner.invoke(app, ["--n", "2", "--kind", "b"]).exit_code == 0
    assert got == [(2, "b", None)]
    refused = runner.invoke(app, ["--n", "0", "--kind", "a"])
    assert refused.exit_code == 2 and "--n must be at least 1, got 0" in refused.output
    refused = runner.invoke(app, ["--n", "1", "--kind", "c"])
    assert refused.exit_code == 2 and "--kind must be one of a, b, got 'c'" in refused.output
    assert "<a|b>" in runner.invoke(app, ["--help"]).output
