"""The tests mirror the package: each module ``tagger/<room>/<m>.py`` has ``tests/<room>/test_<m>.py`` (or a line
here saying where it is tested), each package says what it is for, and tests import their helpers from plain modules.

Whether a test that starts processes, sends signals or trains is marked slow is checked while it runs, by the
autouse fixture ``slow_work_is_marked_slow`` in tests/conftest.py; and the fast tests that use a library's cache
built on first use (matplotlib's font list) pass on their first run on a new machine as on any later one.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers import ROOT

PACKAGE = ROOT / "tagger"
TESTS = ROOT / "tests"

# Modules whose tests are not in tests/<room>/test_<module>.py, and where they are.
COVERED_ELSEWHERE = {
    "tagger/tagging/preload.py": "imported by the --jobs fork server: tests/tagging/test_jobs.py",
    "tagger/tagging/files.py": "tag_file and the --jobs decision, through tag: tests/cli/test_tag.py, "
    "tests/tagging/test_predictor.py, test_jobs.py",
    "tagger/tagging/options.py": "TagOptions and its defaults: tests/nn/test_config.py, tests/cli/test_tag.py",
    "tagger/cli/serve.py": "the serve command, run as a real server: tests/service/test_server.py",
    "tagger/service/model.py": "the model behind the service, through its routes: tests/service/test_app.py",
    "tagger/service/openapi.py": "the schema at /openapi.json: tests/service/test_app.py",
    "tagger/service/page.py": "the page at /: tests/service/test_app.py, test_server.py (headless Chromium)",
    "tagger/service/requests.py": "bad requests and their statuses: tests/service/test_app.py, test_server.py",
    "tagger/tagging/stream.py": "tag_stream, with every kind of model: tests/tagging/test_predictor.py, "
    "test_model.py, tests/data/test_inputs.py",
    "tagger/tagging/rewrite.py": "the tag rewrites: tests/tagging/test_predictor.py (and test_model.py)",
    "tagger/training/run.py": "where a run stands, used by every stage: tests/training/test_loop.py, test_trainer.py",
}

# Test modules that test no single module of their room, and what they test.
TESTS_WITHOUT_MODULE = {
    "tests/test_contract.py": "the contract of every model kind through every face: cli, api, service, --jobs, Dask",
    "tests/test_docs.py": "the documents cite tests that exist and figures that equal bench/results",
    "tests/test_layout.py": "this file: the tests' layout, and the fast tests' first run on a new machine",
}

# Names still imported from tests/conftest.py (none: helpers are plain modules, fixtures are found by name).
CONFTEST_NAMES: set[str] = set()


def relative(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "__init__.py")


def mirror_of(path: Path) -> Path:
    """tests/<room>/test_<m>.py for tagger/<room>/<m>.py (tests/test_<m>.py for tagger/<m>.py)."""
    return TESTS / path.parent.relative_to(PACKAGE) / f"test_{path.stem}.py"


def test_every_module_has_its_test_module_or_says_where_it_is_tested():
    missing = [relative(m) for m in modules() if not mirror_of(m).exists()]
    untested = sorted(set(missing) - set(COVERED_ELSEWHERE))
    assert untested == [], "add tests/<room>/test_<m>.py, or a line in COVERED_ELSEWHERE saying where it is tested"
    stale = sorted(set(COVERED_ELSEWHERE) - set(missing))
    assert stale == [], "modules gone or tested in their own test module now: take them out of COVERED_ELSEWHERE"


def test_every_test_module_tests_a_module_or_says_what_it_tests():
    tested = {mirror_of(m) for m in modules()}
    extra = sorted(relative(t) for t in TESTS.rglob("test_*.py") if t not in tested)
    assert extra == sorted(TESTS_WITHOUT_MODULE), "name test modules after their module, or list them here"


def test_every_package_says_what_it_is_for():
    silent = [
        relative(p) for p in sorted(PACKAGE.rglob("__init__.py")) if not ast.get_docstring(ast.parse(p.read_bytes()))
    ]
    assert silent == []


def test_every_folder_of_tests_is_a_package():
    """tests.<room>.helpers imports, and two rooms may hold test modules of the same name."""
    folders = {t.parent for t in TESTS.rglob("test_*.py")}
    assert sorted(relative(f) for f in folders if not (f / "__init__.py").exists()) == []


def test_helpers_come_from_plain_modules_not_from_conftest():
    """pytest advises against importing from conftest modules: fixtures come by name, helpers from a module."""
    imported = {}
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_bytes())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.endswith("conftest"):
                for alias in node.names:
                    imported.setdefault(alias.name, []).append(relative(path))
    assert {name: where for name, where in imported.items() if name not in CONFTEST_NAMES} == {}


# Fast tests that use a library's cache, which the library builds on first use (in HOME, or where MPLCONFIGDIR or
# XDG_CACHE_HOME say) with a process of its own: matplotlib's font list (fc-list), which the fixture `matplotlib`
# builds first for every test that draws (test_plot.py's need no trained model: this run stays short).
FIRST_USE = ["tests/cli/test_plot.py"]


@pytest.mark.slow
def test_the_fast_tests_pass_on_their_first_run_on_a_new_machine(tmp_path):
    """As in a new HOME (issue 30: test_info_plot_writes_a_png failed there, "mark this test slow: it starts a
    process", and passed on every later run)."""
    pytest.importorskip("matplotlib")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "MPLCONFIGDIR", "PYTEST_"))}
    env.update(HOME=str(tmp_path), PYTHONPATH=str(ROOT))
    command = [sys.executable, "-m", "pytest", "-q", "-m", "not slow", "-p", "no:cacheprovider", *FIRST_USE]
    done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:]
    assert (tmp_path / ".cache" / "matplotlib").is_dir()  # the cache was built in the new HOME, by the fixture
