"""`tagger tag`: formats, inputs, scores, n-best, html, several files, -o, encodings, and what ends a run."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tagger.tagging import files
from tests.cli.helpers import SENTENCE, run
from tests.corpora import GOOD, conll
from tests.helpers import ROOT, TINY_NET, last_error_line, one_line_error, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")


def test_tag_stdin_inline(trained_model):
    result = run(["tag", "-m", trained_model, "--format", "inline"], input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"
    assert result.stderr.splitlines() == ["tagged 1 sentence"]


def test_tag_stdin_conll(trained_model):
    text = SENTENCE + "\nAcme Corp hired Mary .\n"
    result = run(["tag", "-m", trained_model, "--format", "conll"], input=text)
    assert result.exit_code == 0, result.output
    blocks = result.stdout.split("\n\n")
    assert blocks[-1] == ""  # every sentence ends with a blank line
    rows = [[line.split("\t") for line in block.splitlines()] for block in blocks[:-1]]
    assert [[r[0] for r in block] for block in rows] == [SENTENCE.split(), "Acme Corp hired Mary .".split()]
    assert all(len(r) == 2 for block in rows for r in block)
    assert [r[1] for r in rows[0]] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]


def test_tag_stdin_jsonl_offsets_index_the_input(trained_model):
    text = "John Smith lives in Paris .\r\n\nZoë met Angela Merkel in New York .  Acme Corp hired Bob .\n"
    result = run(["tag", "-m", trained_model, "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 2
    assert records[0]["tokens"] == SENTENCE.split()
    assert records[0]["tags"] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
    assert [(e["type"], e["start"], e["end"]) for e in records[0]["entities"]] == [("PER", 0, 2), ("LOC", 4, 5)]
    entities = 0
    for record in records:
        assert len(record["tokens"]) == len(record["tags"])
        for (start, end), token in zip(record["offsets"], record["tokens"]):
            assert text[start:end] == token
        for e in record["entities"]:
            assert set(e) >= {"type", "start", "end", "char_start", "char_end"}
            assert 0 <= e["start"] < e["end"] <= len(record["tokens"])
            assert text[e["char_start"] : e["char_end"]] == e["text"]
            assert e["text"] == " ".join(record["tokens"][e["start"] : e["end"]])
            entities += 1
    assert entities >= 4
    later = [e for r in records[1:] for e in r["entities"]]
    assert any(e["text"] == "Angela Merkel" and e["char_start"] == text.index("Angela") for e in later)


def test_tag_formats_agree(trained_model):
    text = "Angela Merkel works for Google in Berlin .\nYesterday Mary met Bob .\n"
    outputs = {}
    for fmt in ("conll", "inline", "jsonl"):
        result = run(["tag", "-m", trained_model, "--format", fmt], input=text)
        assert result.exit_code == 0, result.output
        outputs[fmt] = result.stdout
    records = [json.loads(line) for line in outputs["jsonl"].splitlines()]
    conll = [[line.split("\t") for line in block.splitlines()] for block in outputs["conll"].split("\n\n") if block]
    assert [[r[1] for r in block] for block in conll] == [r["tags"] for r in records]
    inline = []
    for r in records:
        words = list(r["tokens"])
        for e in reversed(r["entities"]):
            words[e["start"] : e["end"]] = [f"[{e['type']} " + " ".join(words[e["start"] : e["end"]]) + "]"]
        inline.append(" ".join(words))
    assert outputs["inline"].splitlines() == inline


def test_a_column_file_read_as_raw_text_is_said_in_one_warning(trained_model, tmp_path):
    """`tagger tag conll2003/test.txt` tagged '-DOCSTART- -X- -X- O' as words, status 0, and said nothing."""
    data = tmp_path / "test.txt"
    data.write_text("-DOCSTART- -X- -X- O\n\nSOCCER NN B-NP O\nJAPAN NNP B-NP B-LOC\n", encoding="utf-8")
    result = run(["tag", data, tmp_path / "test.txt", "-m", trained_model])
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert warnings == [warnings[0]] * 2  # once per input
    assert warnings[0].startswith(f"warning: {data}: this looks like a column file")
    assert "--input conll" in warnings[0]
    assert "warning" not in run(["tag", data, "-m", trained_model, "--input", "conll"]).stderr
    assert "warning" not in run(["tag", data, "-m", trained_model, "--input", "text"]).stderr  # chosen: no second guess


def test_tag_a_file_argument(trained_model, tmp_path):
    path = tmp_path / "in.txt"
    path.write_text(SENTENCE + "\n", encoding="utf-8")
    result = run(["tag", path, "-m", trained_model, "--format", "inline"])
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"


def test_tag_input_tokens(trained_model):
    text = "John Smith lives in Paris.\n\n  Mary\tmet Bob  \n"
    result = run(["tag", "-m", trained_model, "--input", "tokens", "--format", "jsonl"], input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    # One sentence a line, split at spaces and tabs only (no tokenizer); blank lines skipped.
    assert [r["tokens"] for r in records] == [["John", "Smith", "lives", "in", "Paris."], ["Mary", "met", "Bob"]]
    assert all(len(r["tags"]) == len(r["tokens"]) for r in records)


def test_tag_input_conll(trained_model, tiny_dir):
    from tagger.data.reader import read_conll

    gold = read_conll(tiny_dir / "test.txt")
    result = run(["tag", tiny_dir / "test.txt", "-m", trained_model, "--input", "conll", "--format", "conll"])
    assert result.exit_code == 0, result.output
    blocks = [block for block in result.stdout.split("\n\n") if block]
    assert len(blocks) == len(gold)
    tokens = [[line.split("\t")[0] for line in block.splitlines()] for block in blocks]
    assert tokens == [s.tokens for s in gold]
    assert result.stderr.splitlines() == [f"tagged {len(gold)} sentences"]


def test_a_conllu_file_is_tagged_as_its_words_and_mixed_inputs_need_input(trained_model, tmp_path):
    ud = ROOT / "tests" / "data" / "fixtures" / "ud"
    result = run(["tag", ud / "xx_tiny-ud-dev.conllu", "-m", trained_model, "--format", "jsonl"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["tokens"] for line in result.stdout.splitlines()] == [["Bill", "ate", "the", "tea", "."]]
    first = run(["tag", ud / "xx_tiny-ud-train.conllu", "-m", trained_model, "--input", "conllu", "--format", "inline"])
    assert first.stdout.splitlines()[0].split() == ["I", "do", "n't", "like", "rain", "."]  # 2-3 don't: its words
    text = tmp_path / "x.txt"
    text.write_text("Bill ate.\n", encoding="utf-8")
    mixed = run(["tag", ud / "xx_tiny-ud-dev.conllu", text, "-m", trained_model])
    one_line_error(mixed, "some inputs are .conllu files and some are not: give --input")


def test_tag_input_conll_from_stdin_without_tags(trained_model):
    text = "-DOCSTART-\n\nJohn\nSmith\nlives\nin\nParis\n.\n\nMary NNP\nsmiled VBD\n"
    result = run(["tag", "-m", trained_model, "--input", "conll", "--format", "inline"], input=text)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "[PER John Smith] lives in [LOC Paris] ."
    assert lines[1].endswith("smiled") and "Mary" in lines[1]
    assert len(lines) == 2


def test_tagger_model_env_var_picks_the_default_model(trained_model, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))
    result = run(["tag", "--format", "inline"], input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output
    assert result.stdout == "[PER John Smith] lives in [LOC Paris] .\n"


def test_tagger_model_env_var_pointing_nowhere(tmp_path, monkeypatch):
    missing = tmp_path / "elsewhere.pt"
    monkeypatch.setenv("TAGGER_MODEL", str(missing))
    one_line_error(run(["tag"], input=SENTENCE + "\n"), str(missing), "no model file")


def test_model_option_beats_env_var(trained_model, tmp_path, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "elsewhere.pt"))
    result = run(["tag", "-m", trained_model, "--format", "inline"], input=SENTENCE + "\n")
    assert result.exit_code == 0, result.output


def test_tag_malformed_conll_from_stdin(trained_model):
    result = run(["tag", "-m", trained_model, "--input", "conll"], input="John NNP\nSmith\n")
    assert result.exit_code == 2
    assert "<stdin>:2:" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_tag_non_utf8_input(trained_model, tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes("Paris\nZ\xfcrich\n".encode("latin-1"))
    result = run(["tag", path, "-m", trained_model])
    assert result.exit_code == 2
    assert f"{path}:2:" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "Traceback" not in result.output


def test_model_file_that_is_not_a_model(tmp_path):
    path = tmp_path / "model.pt"
    path.write_text("hello\n", encoding="utf-8")
    one_line_error(run(["tag", "-m", path], input=SENTENCE + "\n"), str(path))


def test_missing_input_file(trained_model, tmp_path):
    missing = tmp_path / "nope.txt"
    one_line_error(run(["tag", missing, "-m", trained_model]), str(missing), "no such file")


def _none_tagged(inputs: list[str]) -> dict[str, int]:
    return {"<stdin>" if file == "-" else file: 0 for file in inputs}


@pytest.mark.parametrize("file", [None, "-", "empty.txt"])
def test_empty_input_writes_nothing_and_exits_0_with_a_note(monkeypatch, tmp_path, file):
    """A filter given nothing gives nothing (tag_files counts 0 sentences for empty or blank input)."""
    calls = []
    monkeypatch.setattr(files, "tag_files", lambda inputs, *args: calls.append(inputs) or _none_tagged(inputs))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "empty.txt").write_text("")  # input files are checked before any work
    args = ["tag", "-m", tmp_path / "m.pt"] + ([] if file is None else [file])
    result = run(args, input="\n  \n")
    assert (result.exit_code, result.stdout) == (0, ""), result.output
    name = "<stdin>" if file in (None, "-") else file
    assert result.stderr.splitlines() == [f"tagged 0 sentences: {name} is empty or blank, nothing was written"]
    assert len(calls) == 1


def test_tag_of_another_scheme_than_the_given_one(tmp_path):
    data = tmp_path / "train.txt"
    data.write_bytes(conll(GOOD, "Ann\tS-PER\nruns\tO"))
    result = run_cli("train", "--train", data, "--scheme", "iob2", "--model", tmp_path / "m.pt", *TINY_NET)
    assert result.exit_code == 2
    assert f"{data}:7: 'S-PER' is not a tag of the IOB2 scheme" in last_error_line(result.stderr)


# `tag` input and output


def test_empty_or_blank_input_is_not_an_error(tmp_path, trained_model):
    """`tagger tag` is a filter: like cat or sort it writes nothing for no input and exits 0."""
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    for args, text in (
        (["tag"], ""),
        (["tag"], "\n\n  \n"),
        (["tag", "--input", "conll"], "-DOCSTART- O\n\n"),
        (["tag", str(empty)], None),
    ):
        result = run_cli(*args, "--model", trained_model, input=text)
        assert result.exit_code == 0, result.stderr
        assert result.stdout == ""


@pytest.mark.slow
def test_closed_stdout_ends_quietly_with_status_0(tmp_path, trained_model):
    """`tagger tag big.txt | head -1`: a real pipeline; head exits after one line."""
    words = "Mary lives in Paris . John Smith works for Google in Berlin".split()
    big = tmp_path / "big.txt"
    big.write_text("".join(" ".join(words[i % 7 :] + words[: i % 7]) + "\n" for i in range(3000)), encoding="utf-8")
    script = (
        f'"{sys.executable}" cli.py tag --model "{trained_model}" --input tokens "{big}" 2>"{tmp_path}/err" | head -1;'
        f' echo "${{PIPESTATUS[0]}}"'
    )
    out = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120)
    first, status = out.stdout.splitlines()
    assert first.split("\t")[0] in words
    assert status == "0"
    assert (tmp_path / "err").read_text() == ""


def test_text_in_any_script_is_tagged(trained_model):
    text = "東京は日本の首都です。\nمرحبا بالعالم في باريس\nMary 😀 lives in Paris 🇫🇷 👍🏽 .\nΑθήνα Москва ṩ̈ e\u0301\n"
    result = run_cli("tag", "--model", trained_model, "--format", "jsonl", input=text)
    assert result.exit_code == 0, result.output
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(records) >= 4
    for record in records:
        assert len(record["tags"]) == len(record["tokens"]) == len(record["offsets"])
        for token, (start, end) in zip(record["tokens"], record["offsets"]):
            assert text[start:end] == token
    assert any("😀" in r["tokens"] for r in records)


def test_token_of_10000_characters(tmp_path, trained_model):
    long = "x" * 5_000 + "é" * 5_000
    path = tmp_path / "long.conll"
    path.write_text(f"Mary\tO\n{long}\tO\nlives\tO\n", encoding="utf-8")
    result = run_cli("tag", path, "--model", trained_model, "--input", "conll")
    assert result.exit_code == 0, result.output
    assert [line.split("\t")[0] for line in result.stdout.splitlines()] == ["Mary", long, "lives", ""]
    result = run_cli("tag", "--model", trained_model, "--format", "jsonl", input=f"Mary met {long} in Paris .\n")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tokens"] == ["Mary", "met", long, "in", "Paris", "."]


@pytest.mark.slow
def test_ctrl_c_while_tagging_stops_the_worker_quietly(trained_model, tmp_path):
    """Ctrl-C goes to the whole process group, the tokenizer worker too: the tagger says
    "interrupted" in one line with status 130, soon, with no traceback from the worker
    and no process left behind."""
    text = tmp_path / "big.txt"
    text.write_text("Mary lives in Paris and works for Acme Corp. in London.\n" * 100_000)
    proc = subprocess.Popen(
        [sys.executable, "cli.py", "tag", "-m", str(trained_model), str(text)],
        cwd=ROOT,
        env=dict(os.environ, TAGGER_THREADS="1"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # a process group of its own, as a shell gives a pipeline
    )
    try:
        deadline = time.monotonic() + 60
        worker = None
        while worker is None and proc.poll() is None and time.monotonic() < deadline:
            for task in Path(f"/proc/{proc.pid}/task").glob("*"):  # children are listed under their thread
                for child in (task / "children").read_text().split():
                    if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                        worker = int(child)
            time.sleep(0.05)
        assert worker is not None, "no worker process started"
        time.sleep(0.3)  # the worker is busy with a window
        os.killpg(proc.pid, signal.SIGINT)
        start = time.monotonic()
        _, stderr = proc.communicate(timeout=30)
        stopped = time.monotonic() - start
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert proc.returncode == 130, stderr
    assert "Traceback" not in stderr and "KeyboardInterrupt" not in stderr, stderr
    assert last_error_line(stderr) == "tagger: interrupted"
    assert stopped < 4, stopped  # not the reader thread's 5 s grace, waiting for a result that never comes
    time.sleep(0.5)
    assert not Path(f"/proc/{worker}").exists() or b"spawn_main" not in Path(f"/proc/{worker}/cmdline").read_bytes()


def test_a_cuda_device_is_accepted_where_there_is_one(monkeypatch, trained_model):

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    seen = []
    monkeypatch.setattr(files, "tag_files", lambda inputs, out, paths, options: seen.append(options.device) or {})
    for device in ("cuda", "cuda:1"):
        assert run(["tag", "-m", trained_model, "--device", device], input="Mary\n").exit_code == 0
    assert seen == ["cuda", "cuda:1"]
    one_line_error(run(["tag", "-m", trained_model, "--device", "cuda:2"]), "--device", "cuda:2", "2 found")


TEXT = (
    "John Smith lives in Paris .\nAcme Corp hired Mary in Berlin .\nYesterday Bob met Ana Lopez .\n"
    "Google opened a store in New York yesterday .\n"
)


def tag(model, *args, input: str = TEXT):
    result = run_cli("tag", "-m", model, *args, input=input)
    assert result.exit_code == 0, result.output
    return result.stdout


def records(model, *args, input: str = TEXT) -> list[dict]:
    return [json.loads(line) for line in tag(model, "--format", "jsonl", *args, input=input).splitlines()]


# --scores


def test_jsonl_has_entity_scores_only_when_asked(trained_model):
    plain = records(trained_model)
    scored = records(trained_model, "--scores", "entities")
    assert any(r["entities"] for r in plain)
    for without, with_ in zip(plain, scored):
        assert all("score" not in e for e in without["entities"])
        assert "token_scores" not in without and "probability" not in without
        assert without["tags"] == with_["tags"]
        assert [e["text"] for e in without["entities"]] == [e["text"] for e in with_["entities"]]
        assert all(0.0 <= e["score"] <= 1.0 for e in with_["entities"])
        assert 0.0 < with_["probability"] <= 1.0
        assert "token_scores" not in with_  # --scores entities: no per-token scores


def test_scores_tokens_adds_a_score_per_token(trained_model):
    for record in records(trained_model, "--scores", "tokens"):
        assert len(record["token_scores"]) == len(record["tokens"])
        assert all(0.0 <= s <= 1.0 for s in record["token_scores"])
        assert all("score" in e for e in record["entities"])


def test_inline_shows_entity_scores_when_asked(trained_model):
    plain = tag(trained_model, "--format", "inline").splitlines()
    scored = tag(trained_model, "--format", "inline", "--scores", "entities").splitlines()
    assert "|" not in "".join(plain)
    entities = [e for r in records(trained_model, "--scores", "entities") for e in r["entities"]]
    shown = re.findall(r"\[(\w+) ([^\]|]+)\|(\d\.\d\d)\]", "\n".join(scored))
    assert [(kind, text, float(score)) for kind, text, score in shown] == [
        (e["type"], e["text"], round(e["score"], 2)) for e in entities
    ]
    assert re.sub(r"\|\d\.\d\d\]", "]", "\n".join(scored)) == "\n".join(plain)


# --min-score


def test_min_score_1_drops_every_entity_below_1(trained_model):
    scored = records(trained_model, "--scores", "entities")
    kept = records(trained_model, "--scores", "entities", "--min-score", "1.0")
    dropped = 0
    for before, after in zip(scored, kept):
        assert all(e["score"] >= 1.0 for e in after["entities"])
        for e in before["entities"]:
            if e["score"] < 1.0:
                assert set(after["tags"][e["start"] : e["end"]]) == {"O"}, (e, after["tags"])
                dropped += 1
    assert dropped > 0  # the test must be able to fail: some entity scored below 1


def test_min_score_without_scores_changes_tags_and_shows_no_scores(trained_model):
    plain = records(trained_model)
    kept = records(trained_model, "--min-score", "1.0")
    assert sum(len(r["entities"]) for r in kept) < sum(len(r["entities"]) for r in plain)
    for record in kept:
        assert not {"token_scores", "probability"} & set(record)
        assert all("score" not in e for e in record["entities"])


def test_min_score_0_changes_nothing(trained_model):
    for args in ([], ["--format", "jsonl", "--scores", "entities"], ["--format", "inline"]):
        assert tag(trained_model, *args, "--min-score", "0") == tag(trained_model, *args)


# --nbest


def test_nbest_gives_at_most_k_sequences_most_probable_first(trained_model):
    plain = records(trained_model)
    best = records(trained_model, "--nbest", "3")
    for one, record in zip(plain, best):
        nbest = record["nbest"]
        assert 1 <= len(nbest) <= 3
        assert nbest[0]["tags"] == one["tags"] == record["tags"]
        probabilities = [n["probability"] for n in nbest]
        assert probabilities == sorted(probabilities, reverse=True)
        assert all(0.0 <= p <= 1.0 for p in probabilities) and sum(probabilities) <= 1.0 + 1e-9
        assert all(len(n["tags"]) == len(record["tokens"]) for n in nbest)
        assert len({tuple(n["tags"]) for n in nbest}) == len(nbest)  # different sequences
        assert all("score" not in e for e in record["entities"])  # n-best alone adds no scores
    assert any(len(r["nbest"]) == 3 for r in best)


# --format html


def test_html_is_one_escaped_page(trained_model):
    text = 'John Smith met <script>alert(1)</script> in Paris .\nMary said "><img src=x onerror=alert(2)> .\n'
    page = tag(trained_model, "--format", "html", input=text)
    assert page.count("<!DOCTYPE html>") == 1 and page.rstrip().endswith("</html>")
    assert "<script" not in page and "<img" not in page
    assert "&lt;script&gt;" in page and "&quot;&gt;&lt;img" in page
    legend = re.search(r'<div class="legend">.*?</div>', page).group(0)
    assert [t for t in ("LOC", "ORG", "PER") if f">{t}<" in legend] == ["LOC", "ORG", "PER"]
    assert 'class="s"' not in page  # no scores unless asked


def test_html_shows_scores_on_hover_when_asked(trained_model):
    page = tag(trained_model, "--format", "html", "--scores", "entities")
    entities = [e for r in records(trained_model, "--scores", "entities") for e in r["entities"]]
    hovers = re.findall(r'title="(\w+) (\d\.\d{3})"', page)
    assert hovers == [(e["type"], f"{e['score']:.3f}") for e in entities]


def test_html_of_an_empty_input_is_nothing(trained_model):
    assert tag(trained_model, "--format", "html", input="") == ""


# Options that do not apply to the format


@pytest.mark.parametrize(
    ("args", "shown"),
    [
        (["--nbest", "2"], "--nbest 2 applies to --format jsonl, not conll"),
        (["--nbest", "2", "--format", "html"], "--nbest 2 applies to --format jsonl, not html"),
        (["--scores", "tokens", "--format", "inline"], "--scores tokens applies to --format jsonl, not inline"),
        (["--scores", "entities"], "--scores entities applies to --format jsonl, inline or html, not conll"),
    ],
)
def test_an_option_that_does_not_apply_is_a_usage_error_before_any_work(monkeypatch, tmp_path, args, shown):
    def work(*args, **kwargs):
        raise AssertionError("the work began before the options were checked")

    monkeypatch.setattr(files, "tag_files", work)
    line = one_line_error(run_cli("tag", "-m", tmp_path / "no-such-model.pt", *args, input=TEXT), shown)
    assert line.endswith(" tag --help')")


def test_tag_files_gets_the_options(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(files, "tag_files", lambda inputs, out, paths, options: seen.update(vars(options)) or {})
    args = ["--format", "jsonl", "--scores", "tokens", "--nbest", "4", "--min-score", "0.5", "--jobs", "3"]
    assert run_cli("tag", "-m", tmp_path / "m.pt", *args, input=TEXT).exit_code == 0
    assert (seen["scores"], seen["nbest"], seen["min_score"], seen["jobs"]) == ("tokens", 4, 0.5, 3)
    assert (seen["output_format"], seen["input_kind"], seen["workers"]) == ("jsonl", "text", -1)


# Several inputs, --output, --encoding, '-' and --predictions (issue 20)

OTHER = "Mary works for Google in Madrid .\n\nBob lives in Lake Tahoe .\n"


def _unnamed(jsonl: str) -> tuple[str, list[str]]:
    """JSON lines without their "file" field (as tagging one input writes them), and the file of each."""
    records = [json.loads(line) for line in jsonl.splitlines()]
    assert all(list(record)[0] == "file" for record in records)  # first, where a reader looks
    names = [record.pop("file") for record in records]
    return "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records), names


@pytest.mark.parametrize("fmt", ["conll", "jsonl", "inline"])
def test_several_files_give_what_tagging_each_in_turn_gives(trained_model, tmp_path, fmt):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(TEXT.rstrip("\n"), encoding="utf-8")  # no line end at its end: the next file starts anew
    second.write_text(OTHER, encoding="utf-8")
    alone = [tag(trained_model, "--format", fmt, path) for path in (first, second)]
    assert tag(trained_model, "--format", fmt, second) == tag(trained_model, "--format", fmt, "-", input=OTHER)
    result = run_cli("tag", "-m", trained_model, "--format", fmt, first, "-", second, input=OTHER)
    assert result.exit_code == 0, result.output
    assert result.stderr.splitlines() == ["tagged 8 sentences in 3 files"]
    if fmt != "jsonl":
        assert result.stdout == alone[0] + alone[1] + alone[1]
        return
    records, names = _unnamed(result.stdout)  # each record says which input it came from (issue 30)
    assert records == alone[0] + alone[1] + alone[1]
    assert names == [str(first)] * 4 + ["<stdin>"] * 2 + [str(second)] * 2
    assert all('"file"' not in line for line in alone)  # one input: the records as before


@pytest.mark.slow
def test_several_files_tagged_by_jobs_name_their_records_as_one_process_does(trained_model, tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(TEXT * 50, encoding="utf-8")
    second.write_text(OTHER * 50, encoding="utf-8")
    one, two = (tag(trained_model, "--format", "jsonl", "--jobs", jobs, first, second) for jobs in ("1", "2"))
    assert one == two and _unnamed(two)[1] == [str(first)] * 200 + [str(second)] * 100


def test_output_folder_gets_a_file_per_input_named_as_dask_names_them(trained_model, tmp_path):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(TEXT, encoding="utf-8")
    second.write_text(OTHER, encoding="utf-8")
    for fmt in ("jsonl", "conll", "html"):
        alone = [tag(trained_model, "--format", fmt, path) for path in (first, second)]
        result = run_cli("tag", "-m", trained_model, "--format", fmt, first, second, "-o", f"{tmp_path}/out/")
        assert (result.exit_code, result.stdout) == (0, ""), result.output
        written = [tmp_path / "out" / f"{name}.{fmt}" for name in ("a.txt", "b.txt")]
        assert [path.read_text(encoding="utf-8") for path in written] == alone
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(
        f"{name}.{fmt}" for name in ("a.txt", "b.txt") for fmt in ("jsonl", "conll", "html")
    )
    result = run_cli("tag", "-m", trained_model, first, "-o", tmp_path / "out")  # a folder that exists, no '/'
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "a.txt.conll").read_text(encoding="utf-8") == tag(trained_model, first)


def test_output_folder_replaces_each_file_once_its_input_is_tagged_and_never_an_input(trained_model, tmp_path):
    good, bad, out = tmp_path / "a.txt", tmp_path / "bad.txt", tmp_path / "out"
    good.write_text(TEXT, encoding="utf-8")
    bad.write_bytes(b"Mary lives in Paris .\nJos\xe9\n")
    out.mkdir()
    (out / "bad.txt.conll").write_text("kept\n")
    one_line_error(run_cli("tag", "-m", trained_model, good, bad, "-o", out), "bad.txt:2: bytes that are not")
    assert (out / "a.txt.conll").read_text(encoding="utf-8") == tag(trained_model, good)
    assert (out / "bad.txt.conll").read_text() == "kept\n"
    assert sorted(p.name for p in out.iterdir()) == ["a.txt.conll", "bad.txt.conll"]  # no temporary file left
    named = tmp_path / "a.txt.conll"  # an input that a.txt's output would replace
    named.write_text("John\tB-PER\n", encoding="utf-8")
    args = ("tag", "-m", trained_model, "--input", "conll", good, named, "-o", f"{tmp_path}/")
    one_line_error(run_cli(*args), "a.txt.conll: --output names an input file")
    assert named.read_text(encoding="utf-8") == "John\tB-PER\n"
    one_line_error(run_cli("tag", "-m", trained_model, good, "-", "-o", out), "stdin has no name", code=2)
    one_line_error(run_cli("tag", "-m", trained_model, good, tmp_path / "x" / "a.txt", "-o", out), "no such file")
    one_line_error(run_cli("tag", "-m", trained_model, good, "-o", f"{good}/"), "cannot write", "not a folder", code=74)
    assert good.read_text(encoding="utf-8") == TEXT


def test_a_missing_input_among_several_fails_before_any_output(trained_model, tmp_path):
    good = tmp_path / "a.txt"
    good.write_text(TEXT, encoding="utf-8")
    one_line_error(run_cli("tag", "-m", trained_model, good, tmp_path / "nope.txt"), "nope.txt: no such file")
    one_line_error(run_cli("tag", "-m", trained_model, good, good, "--format", "html"), "--format html writes one page")
    one_line_error(run_cli("tag", "-m", trained_model, good, good, "-o", f"{tmp_path}/o/"), "two inputs would write")
    assert not (tmp_path / "o").exists()


def test_output_file_is_written_whole_or_left_as_it_was(trained_model, tmp_path):
    good, bad, out = tmp_path / "a.txt", tmp_path / "bad.txt", tmp_path / "out.txt"
    good.write_text(TEXT, encoding="utf-8")
    bad.write_bytes(b"Mary lives in Paris .\nJos\xe9\n")
    result = run_cli("tag", "-m", trained_model, good, "-o", out)
    assert (result.exit_code, result.stdout) == (0, "")
    assert out.read_text(encoding="utf-8") == tag(trained_model, good)
    out.write_text("kept\n")
    one_line_error(run_cli("tag", "-m", trained_model, good, bad, "--output", out), "bad.txt:2: bytes that are not")
    assert out.read_text() == "kept\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.txt", "bad.txt", "out.txt"]  # no temporary file left
    one_line_error(run_cli("tag", "-m", trained_model, good, "-o", good), "--output names an input file")
    assert good.read_text(encoding="utf-8") == TEXT
    one_line_error(run_cli("tag", "-m", trained_model, good, "-o", tmp_path / "no" / "o.txt"), "cannot write", code=74)


def test_encoding_reads_latin1_and_utf16_as_their_utf8_twin(trained_model, tmp_path):
    text = "José Smith lives in Zürich .\nAcme Corp hired Mary .\n"
    expected = tag(trained_model, "--format", "jsonl", input=text)
    for encoding in ("latin-1", "utf-16"):
        path = tmp_path / f"{encoding}.txt"
        path.write_bytes(text.encode(encoding))
        for jobs in ("1", "2"):  # --jobs reads UTF-8 only: another encoding is tagged in one process
            assert tag(trained_model, "--format", "jsonl", "--encoding", encoding, "--jobs", jobs, path) == expected
    line = one_line_error(run_cli("tag", "-m", trained_model, tmp_path / "latin-1.txt"))
    assert line.endswith(
        "latin-1.txt:1: bytes that are not UTF-8 (byte 0xe9 at column 4, byte offset 3); "
        "--encoding reads another encoding"
    )


# A plain label set (part-of-speech tags): each format fits it; token scores and n-best, no entity scores

POS_TEXT = "Smith bought the dog .\nThe plan cost $ 5 , Ana said .\n"


@pytest.mark.parametrize(
    "fmt, check",
    [
        ("inline", lambda out: out.splitlines()[0].startswith("Smith/NNP bought/VBD the/DT")),
        ("conll", lambda out: out.splitlines()[:2] == ["Smith\tNNP", "bought\tVBD"]),
        ("jsonl", lambda out: set(json.loads(out.splitlines()[0])) == {"tokens", "tags", "offsets"}),
        ("html", lambda out: ">NNP</sub>" in out and "<mark" not in out.split("</style>")[1]),
    ],
)
def test_a_plain_label_set_in_each_format(pos_model, fmt, check):
    result = run(["tag", "-m", pos_model, "--format", fmt, "-"], input=POS_TEXT)
    assert result.exit_code == 0, result.output
    assert check(result.stdout), result.stdout


def test_a_plain_label_set_has_token_scores_n_best_and_ensembles(pos_model):
    args = ["tag", "-m", pos_model, "-m", pos_model, "--format", "jsonl", "--scores", "tokens", "--nbest", "2", "-"]
    result = run(args, input=POS_TEXT)
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["tags"][:3] == ["NNP", "VBD", "DT"] and "entities" not in record
    assert len(record["token_scores"]) == 5 and all(0 < p <= 1 for p in record["token_scores"])
    assert [len(n["tags"]) for n in record["nbest"]] == [5, 5] and record["nbest"][0]["tags"] == record["tags"]


def test_min_score_is_refused_for_a_plain_label_set(pos_model):
    result = run(["tag", "-m", pos_model, "--min-score", "0.5", "-"], input=POS_TEXT)
    assert "plain label set, which has no entities" in one_line_error(result)


@pytest.mark.parametrize(("args", "session"), [([], 3), (["--threads", "2"], 2)])
def test_tag_threads_reach_an_exported_models_session(onnx_model, trained_model, tmp_path, monkeypatch, args,
                                                      session):
    """--threads (0: $TAGGER_THREADS) sets the exported model's onnxruntime threads when one process tags."""
    from tagger.runtime import model as runtime_model

    path = tmp_path / "in.txt"
    path.write_text(f"{SENTENCE}\n", encoding="utf-8")
    want = run(["tag", path, "-m", trained_model, "--jobs", "1"]).stdout  # torch's threads as the other tests set them
    asked = []
    real = runtime_model.load_onnx
    monkeypatch.setattr(runtime_model, "load_onnx", lambda path, threads: asked.append(threads) or real(path, 1))
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv("TAGGER_THREADS", "3")
    result = run(["tag", path, "-m", onnx_model, "--jobs", "1", *args])
    assert result.exit_code == 0, result.output
    assert asked == [session]
    assert result.stdout == want
