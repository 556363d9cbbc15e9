"""Rules for option values: each refusal names the option and the value."""

from __future__ import annotations

from pathlib import Path
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


def _values_of(args: list[str], plain: bool):
    """What a command built as the tagger builds its commands gets for ``args`` (with ``plain``: its values
    converted by ``PlainValues``; without: by typer's own conversion), or the usage error's message."""
    from typer.core import TyperCommand

    from tagger.cli.options import Command, built

    got = []

    def command(
        n: Annotated[int, option("--n", help="N.")] = 1,
        share: Annotated[float, option("--share", help="Share.")] = 0.5,
        name: Annotated[str, option("--name", help="Name.")] = "x",
        to: Annotated[Path | None, option("--to", help="File.")] = None,
        models: Annotated[list[Path] | None, option("--model", "-m", help="Models.")] = None,
        flag: Annotated[bool, option("--flag/--no-flag", help="Flag.")] = False,
        files: Annotated[list[str] | None, typer.Argument()] = None,
    ) -> None:
        got.append((n, share, name, to, models, flag, files))

    click_command = built(command)
    if not plain:  # typer's own parse_args, which leaves the conversion to typer
        click_command.parse_args = lambda ctx, a: TyperCommand.parse_args(click_command, ctx, a)
    assert isinstance(click_command, Command)
    try:
        click_command.main(args, standalone_mode=False)
    except typer.BadParameter as e:
        return e.format_message()
    return got[0]


@pytest.mark.parametrize(
    "args",
    [
        [],
        ["--n", "12", "--share", "0.25", "--name", "y", "--to", "out.txt", "-m", "a.pt", "-m", "b.onnx", "--flag"],
        ["--n", "-3", "--share", "1e-3", "f1", "-", "f2"],
        ["--share", ".5", "--n", " 7"],  # not plainly digits: typer's own conversion
        ["--n", "1_000", "--share", "inf"],
        ["--n", "x"],
        ["--share", "1.5.2"],
    ],
)
def test_option_values_are_converted_as_typer_converts_them(args):
    assert _values_of(args, plain=True) == _values_of(args, plain=False)
