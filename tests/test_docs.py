"""The documents say what the tests and the measurements say.

README.md, bench/README.md and docs/robustness.md cite tests as ``tests/test_x.py::test_name`` (a ``[id]`` after
the name is a parameter id and is not checked). Every cited test must exist, every case of the robustness catalogue
must name one, lines stay short, and the run tables of bench/README.md equal the files in bench/results/.

A case without its test (``TODO(lead)``) or a feature still to be described (``<!-- lead: ... -->``) fails.
"""

from __future__ import annotations

import ast
import functools
import json
import re
import statistics
from pathlib import Path

import pytest

from tests.helpers import ROOT

DOCS = ("README.md", "bench/README.md", "docs/robustness.md")
RESULTS = ROOT / "bench" / "results"
CITATION = re.compile(r"tests/((?:\w+/)?test_\w+\.py)::(test_\w+)")
TODO = "TODO(lead)"
PLACEHOLDER = "<!-- lead:"
MAX_LINE = 120
MAX_README_LINES = 220  # "about 200 lines": the users' document, not a notebook


def read(name: str) -> str:
    return (ROOT / name).read_text(encoding="utf-8")


@functools.cache  # parsed once for the three documents
def defined_tests() -> frozenset[str]:
    """``file::name`` of every test function in tests/ (module level or in a class)."""
    names = set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test_"):
                names.add(f"{path.relative_to(ROOT / 'tests').as_posix()}::{node.name}")
    return frozenset(names)


def cells(row: str) -> list[str]:
    """The cells of a Markdown table row; ``\\|`` inside a cell is not a separator."""
    return [c.strip() for c in re.split(r"(?<!\\)\|", row.strip()[1:-1])]


def tables(text: str) -> list[tuple[list[str], list[str]]]:
    """(header cells, data rows) of each Markdown table in ``text``."""
    lines = text.splitlines()
    found = []
    for i in range(len(lines) - 1):
        starts = lines[i].startswith("|") and (i == 0 or not lines[i - 1].startswith("|"))
        if starts and re.fullmatch(r"\|(\s*:?-+:?\s*\|)+", lines[i + 1].strip()):
            rows = []
            for line in lines[i + 2 :]:
                if not line.startswith("|"):
                    break
                rows.append(line)
            found.append((cells(lines[i]), rows))
    return found


def long_lines(text: str) -> list[tuple[int, int]]:
    """(line number, length) of lines over the limit, outside tables, code blocks and lines with a URL."""
    found, in_code = [], False
    for number, line in enumerate(text.splitlines(), 1):
        if line.lstrip().startswith("```"):
            in_code = not in_code
            continue
        if in_code or line.lstrip().startswith("|") or "://" in line:
            continue
        if len(line) > MAX_LINE:
            found.append((number, len(line)))
    return found


@pytest.mark.parametrize("name", DOCS)
def test_every_cited_test_exists(name):
    cited = {f"{file}::{test}" for file, test in CITATION.findall(read(name))}
    missing = sorted(cited - defined_tests())
    assert not missing, f"{name} cites tests that are not in tests/: {missing}"


def test_the_catalogue_cites_tests():
    cited = CITATION.findall(read("docs/robustness.md"))
    assert len(cited) >= 50, f"only {len(cited)} test citations found in docs/robustness.md"


def test_every_case_of_the_catalogue_names_its_test_or_a_todo():
    checked = 0
    for header, rows in tables(read("docs/robustness.md")):
        if header[-1] != "test":
            continue
        for row in rows:
            test = cells(row)[-1]
            assert CITATION.search(test) or test == TODO, f"docs/robustness.md: a case without its test: {row}"
            checked += 1
    assert checked >= 50, f"only {checked} cases found in docs/robustness.md"


def test_no_case_without_its_test_and_no_placeholder_is_left():
    left = [
        f"{name}:{number}: {line.strip()[:100]}"
        for name in DOCS
        for number, line in enumerate(read(name).splitlines(), 1)
        if (line.startswith("|") and TODO in line) or line.startswith(PLACEHOLDER)
    ]
    assert not left, "to fill in:\n" + "\n".join(left)


def test_readme_is_at_most_about_200_lines():
    count = len(read("README.md").splitlines())
    assert count <= MAX_README_LINES, f"README.md has {count} lines; at most {MAX_README_LINES}"


@pytest.mark.parametrize("name", DOCS)
def test_no_line_over_120_characters_outside_tables_code_and_urls(name):
    assert not long_lines(read(name)), f"{name}: (line, length) over {MAX_LINE}: {long_lines(read(name))}"


def test_the_line_checks_can_fail():
    text = "x" * 121 + "\n| " + "y" * 130 + " |\n```\n" + "z" * 130 + "\n```\nsee https://example.org/" + "w" * 120
    assert long_lines(text) == [(1, 121)]
    ((header, rows),) = tables("| case | test |\n|---|---|\n| a \\| b | `tests/data/test_x.py::test_y[id]` |\n")
    assert header == ["case", "test"] and cells(rows[0]) == ["a \\| b", "`tests/data/test_x.py::test_y[id]`"]
    assert CITATION.findall(rows[0]) == [("data/test_x.py", "test_y")]


# README's Python snippets, run as written (issue 20): each ```python block, in a folder holding the files they read.
KNOWN_BROKEN = {  # a snippet that fails today -> why; strict: once the README is fixed, the entry must go
}


def python_blocks(text: str) -> list[tuple[int, str]]:
    """(line number, code) of each ```python block of ``text``."""
    found, start, code = [], None, []
    for number, line in enumerate(text.splitlines(), 1):
        if start is None and line.strip() == "```python":
            start, code = number + 1, []
        elif start is not None and line.strip() == "```":
            found.append((start, "\n".join(code) + "\n"))
            start = None
        elif start is not None:
            code.append(line)
    return found


def _snippet_cases():
    for line, code in python_blocks(read("README.md")):
        broken = [why for key, why in KNOWN_BROKEN.items() if key in code]
        marks = [pytest.mark.xfail(strict=True, reason=broken[0])] if broken else []
        yield pytest.param(line, code, id=f"README.md:{line}", marks=marks)


def test_the_readme_has_python_snippets():
    assert len(python_blocks(read("README.md"))) >= 2
    assert python_blocks("x\n```python\na = 1\n```\n```\nb\n```\n") == [(3, "a = 1\n")]


@pytest.mark.parametrize(("line", "code"), list(_snippet_cases()))
def test_readme_python_snippets_run_as_written(trained_model, tmp_path, monkeypatch, cli_env, line, code):
    from tests.helpers import run_cli

    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))  # the default model path (Tagger.load())
    monkeypatch.chdir(tmp_path)
    text = "\ufeffMary lives in Paris .\r\nJohn Smith works for Acme Corp in Berlin .\n"
    (tmp_path / "input.txt").write_bytes(text.encode("utf-8"))
    result = run_cli("tag", "input.txt", "--format", "jsonl")  # the README's `tagger tag input.txt --format jsonl`
    assert result.exit_code == 0, result.output
    (tmp_path / "out.jsonl").write_text(result.stdout, encoding="utf-8")
    exec(compile(code, f"README.md:{line}", "exec"), {"__name__": "readme"})


SPEED_RUNS = "speed-runs.md"  # the speed benchmark's runs, one row each


@functools.cache
def speed_runs() -> dict[int, dict[str, str]]:
    """The rows of bench/results/speed-runs.md by run number, each a dict of the table's columns."""
    ((header, rows),) = tables((RESULTS / SPEED_RUNS).read_text(encoding="utf-8"))
    return {int(row[0]): dict(zip(header, row)) for row in map(cells, rows)}


def tokens_per_second(run: int) -> int:
    return int(speed_runs()[run]["raw text, tokens/s"].replace(",", ""))


def runs(name: str) -> list[dict]:
    rows = [json.loads(line) for line in (RESULTS / name).read_text(encoding="utf-8").splitlines() if line.strip()]
    return sorted(rows, key=lambda r: (r["setting"], r.get("changes", ""), r["seed"]))


def run_row(r: dict) -> str:
    """The row of a bench/README.md accuracy table for one JSON line of bench/results/."""
    changes = " ".join(f"`{c}`" for c in r["changes"].split()) if r.get("changes") else "none (defaults)"
    minutes = f"{r['seconds_to_best'] / 60:.1f} / {r['seconds'] / 60:.1f}"
    return (
        f"| {r['setting']} | {changes} | {r['seed']} | {r['test_f1']:.2f} | {r['dev_f1']:.2f} | "
        f"{r['best_epoch']} / {r['epochs_run']} | {minutes} | {r['sentences_per_second']:.0f} |"
    )


def every_run_table(file: str) -> list[str]:
    """The rows of the table under bench/README.md's heading that names ``file``."""
    text = read("bench/README.md")
    section = text[text.index("## Every run, as recorded") :]
    heading = re.search(rf"^### .*\(`{re.escape(file)}`\)$", section, re.M)
    assert heading, f"bench/README.md has no table of every run for {file}"
    (_, rows), *_ = tables(section[heading.end() :])
    return rows


def test_every_run_tables_match_the_result_files():
    for name in ("accuracy.jsonl", "accuracy-earlier-code.jsonl", "recipe.jsonl"):
        assert every_run_table(name) == [run_row(r) for r in runs(name)], f"bench/README.md's table of {name}"


def test_the_accuracy_means_in_the_docs_are_those_of_the_benchmark_file():
    by_setting: dict[str, list[float]] = {}
    for r in runs("accuracy.jsonl"):
        by_setting.setdefault(r["setting"], []).append(r["test_f1"])
    for setting, scores in by_setting.items():
        figure = f"{statistics.mean(scores):.2f} +- {statistics.stdev(scores):.2f}"
        for name in ("README.md", "bench/README.md"):
            assert figure in read(name), f"{name} lacks {setting}'s test F1 {figure} (bench/results/accuracy.jsonl)"


def code_map() -> dict[str, str]:
    """The README's code map: each listed path (``tagger/data``, ``tagger/api.py``) and its description."""
    section = read("README.md").split("## Code map", 1)[1]
    return {cells(row)[0].strip("`").rstrip("/"): cells(row)[1] for _, rows in tables(section) for row in rows}


def rooms() -> list[Path]:
    """The package's rooms, read from the tree: each folder of tagger/ that holds Python modules."""
    return sorted(p for p in (ROOT / "tagger").iterdir() if p.is_dir() and any(p.glob("*.py")))


def summary(room: Path) -> str:
    """What a room's ``__init__`` docstring says it is: its first sentence, after its name (``The data room:``)."""
    init = room / "__init__.py"
    doc = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8"))) if init.exists() else None
    assert doc, f"{init.relative_to(ROOT)} has no docstring saying what the room is for"
    first = " ".join(doc.split("\n\n")[0].split())
    return re.split(r"\.\s+(?=[A-Z])", first)[0].rstrip(".").split(": ", 1)[-1].replace("``", "`")


def test_the_code_map_lists_every_room_and_only_what_exists():
    mapped = code_map()
    listed = {path for path in mapped if not path.endswith(".py")}
    assert listed == {room.relative_to(ROOT).as_posix() for room in rooms()}, "README.md's code map against tagger/"
    assert all((ROOT / path).exists() for path in mapped), mapped


@pytest.mark.parametrize("room", [room.name for room in rooms()])
def test_the_code_map_says_what_each_room_s_docstring_says(room):
    """A room's line opens with its ``__init__`` docstring's first sentence; the details after it are the README's."""
    said = code_map().get(f"tagger/{room}", "")
    assert said.startswith(summary(ROOT / "tagger" / room)), f"README.md's code map, tagger/{room}/: {said!r}"


def test_a_room_s_summary_is_its_first_sentence_after_its_name(tmp_path):
    (tmp_path / "__init__.py").write_text('"""The x room: a in, b out.\n\nMore. And more."""\n', encoding="utf-8")
    assert summary(tmp_path) == "a in, b out"
    (tmp_path / "__init__.py").write_text('"""Plain ``words`` here, e.g. these. Then more."""\n', encoding="utf-8")
    assert summary(tmp_path) == "Plain `words` here, e.g. these"


def test_every_speed_run_has_its_date_commit_and_figures():
    found = speed_runs()
    assert len(found) >= 19 and sorted(found) == list(range(1, len(found) + 1))
    for run, row in found.items():
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["date"]), f"speed run {run}: date {row['date']!r}"
        assert re.fullmatch(r"[0-9a-f]{7,40}", row["commit"]), f"speed run {run}: commit {row['commit']!r}"
        assert tokens_per_second(run) > 0 and row["forward alone, tokens/s"], f"speed run {run}: no throughput"


def test_the_readme_speed_and_memory_figures_are_those_of_the_speed_runs():
    """The results table's range is runs 12 on (today's reading path); its memory figure run 15's, on 200 MB."""
    readme = read("README.md")
    today = [tokens_per_second(run) for run in speed_runs() if run >= 12]
    assert f"{min(today):,} to {max(today):,} tokens/s" in readme
    assert f"{tokens_per_second(18):,} with document context (run 18)" in readme
    peak = re.fullmatch(r"(\d+ MB) on 200 MB", speed_runs()[15]["peak RSS"])
    assert peak and f"{peak.group(1)}, flat" in readme


def test_every_result_file_is_cited_by_the_docs():
    """bench/results/ keeps only what the docs cite, each file by its full name."""
    docs = read("README.md") + read("bench/README.md")
    uncited = sorted(p.name for p in RESULTS.iterdir() if p.name not in docs)
    assert not uncited, f"bench/results/ holds files no document cites: {uncited}"


def anchor(heading: str) -> str:
    """The anchor GitHub gives a Markdown heading."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@pytest.mark.parametrize("name", DOCS)
def test_every_link_to_a_heading_finds_it(name):
    text = read(name)
    missing = []
    for target, fragment in re.findall(r"\]\(([^)\s#]*)#([^)\s]+)\)", text):
        linked = (ROOT / name).parent / target if target else ROOT / name
        if "://" in target or not linked.exists():
            continue
        headings = re.findall(r"^#+ (.+)$", linked.read_text(encoding="utf-8"), re.M)
        if fragment not in {anchor(h) for h in headings}:
            missing.append(f"{target}#{fragment}")
    assert not missing, f"{name} links to headings that are not there: {missing}"


def test_the_anchors_are_github_s():
    assert anchor("The files in `bench/results/`") == "the-files-in-benchresults"
    assert anchor("Runs 16 to 19: `--jobs`, the cost") == "runs-16-to-19---jobs-the-cost"
