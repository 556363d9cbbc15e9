"""The issue-12 options of the commands: tag --scores/--nbest/--min-score/--format html, tagger info, and
the dev F1 sparkline of tagger train."""

from __future__ import annotations

import json
import re

import pytest

from tagger.tagging import predictor
from tagger.training import loop
from tests.helpers import TRAINED_EPOCHS, one_line_error, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")

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

    monkeypatch.setattr(predictor, "tag_file", work)
    line = one_line_error(run_cli("tag", "-m", tmp_path / "no-such-model.pt", *args, input=TEXT), shown)
    assert line.endswith(" tag --help')")


def test_tag_file_passes_the_options_on(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(predictor, "tag_file", lambda *args, **kwargs: seen.update(kwargs) or 1)
    args = ["--format", "jsonl", "--scores", "tokens", "--nbest", "4", "--min-score", "0.5"]
    assert run_cli("tag", "-m", tmp_path / "m.pt", *args, input=TEXT).exit_code == 0
    assert (seen["scores"], seen["nbest"], seen["min_score"]) == ("tokens", 4, 0.5)


# tagger info


def test_info_json_has_every_key(trained_model):
    result = run_cli("info", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    info = json.loads(result.stdout)
    assert set(info) >= {
        "path", "format", "format_version", "tagger_version", "created", "tags", "types", "scheme", "data_scheme",
        "vocabulary", "embeddings", "network", "parameters", "training", "best_epoch", "dev", "test", "history",
    }  # fmt: skip
    assert info["types"] == ["LOC", "ORG", "PER"]
    assert len(info["history"]) == TRAINED_EPOCHS and 0.0 <= info["dev"]["f1"] <= 1.0


def test_info_table_names_the_model_and_draws_dev_f1(trained_model):
    result = run_cli("info", trained_model)
    assert result.exit_code == 0, result.output
    assert "LOC, ORG, PER" in result.stdout and "dev F1 per epoch" in result.stdout


def test_info_reads_the_default_model(trained_model, monkeypatch):
    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))
    result = run_cli("info", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["path"] == str(trained_model)


def test_info_plot_writes_a_png(trained_model, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / "curve.png"
    result = run_cli("info", trained_model, "--format", "json", "--plot", path)
    assert result.exit_code == 0, result.output
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads(result.stdout)["best_epoch"] >= 1
    assert result.stderr.strip() == f"wrote {path}"


def test_info_plot_of_another_kind_of_file_is_a_usage_error(trained_model, tmp_path):
    one_line_error(run_cli("info", trained_model, "--plot", tmp_path / "curve.gif"), "--plot", "curve.gif")
    assert not (tmp_path / "curve.gif").exists()


def test_info_of_a_missing_model_is_one_line(tmp_path):
    one_line_error(run_cli("info", tmp_path / "nope.pt"), str(tmp_path / "nope.pt"))


# tagger train's sparkline


def test_train_table_ends_with_a_dev_f1_sparkline(tiny_dir, tmp_path, monkeypatch):
    history = [{"epoch": e, "dev": {"precision": f, "recall": f, "f1": f}} for e, f in enumerate([0.1, 0.5, 0.9], 1)]
    result = {
        "model": "m.pt",
        "best_epoch": 3,
        "epochs_run": 3,
        "dev": {"precision": 0.9, "recall": 0.9, "f1": 0.9},
        "seconds": 1.0,
        "warnings": [],
        "history": history,
    }
    monkeypatch.setattr(loop, "train", lambda *args, **kwargs: result)
    out = run_cli("train", tiny_dir, "-m", tmp_path / "m.pt")
    assert out.exit_code == 0, out.output
    last = out.stdout.splitlines()[-1]
    assert last.startswith("dev F1 per epoch: ")
    assert last.removeprefix("dev F1 per epoch: ") in ("▁▅█", "_=#")  # block characters, or ASCII ones


@pytest.mark.slow
@pytest.mark.parametrize("terminal", [False, True], ids=["piped", "terminal"])
def test_the_learned_nothing_warning_is_printed_once(tiny_dir, tmp_path, monkeypatch, terminal):
    from tagger.cli import commands
    from tests.corpora import make_sentences, write_conll
    from tests.helpers import TINY_NET

    # entities of a type that dev has none of: whatever it learns, dev F1 stays 0
    misc = [[(t, tag[:2] + "MISC" if tag != "O" else tag) for t, tag in s] for s in make_sentences(12, 7)]
    data = write_conll(tmp_path / "train.txt", misc)
    monkeypatch.setattr(commands, "_on_one_screen", lambda: terminal)
    args = ["--dev", tiny_dir / "dev.txt", "-m", tmp_path / "m.pt", "--epochs", "2", *TINY_NET]
    result = run_cli("train", "--train", data, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr.count("learned nothing") == 1, result.stderr  # said as the run ends, not again
    assert result.stderr.count("only 12 training sentences") == 1, result.stderr
    # the summary on stdout keeps them for a file it is written to; on a terminal, stderr said them already
    assert result.stdout.count("learned nothing") == (0 if terminal else 1)


# Several inputs, --output, --encoding, '-' and --predictions (issue 20)

OTHER = "Mary works for Google in Madrid .\n\nBob lives in Lake Tahoe .\n"


@pytest.mark.parametrize("fmt", ["conll", "jsonl", "inline"])
def test_several_files_give_what_tagging_each_in_turn_gives(trained_model, tmp_path, fmt):
    first, second = tmp_path / "a.txt", tmp_path / "b.txt"
    first.write_text(TEXT.rstrip("\n"), encoding="utf-8")  # no line end at its end: the next file starts anew
    second.write_text(OTHER, encoding="utf-8")
    alone = [tag(trained_model, "--format", fmt, path) for path in (first, second)]
    assert tag(trained_model, "--format", fmt, second) == tag(trained_model, "--format", fmt, "-", input=OTHER)
    result = run_cli("tag", "-m", trained_model, "--format", fmt, first, "-", second, input=OTHER)
    assert result.exit_code == 0, result.output
    assert result.stdout == alone[0] + alone[1] + alone[1]
    assert result.stderr.splitlines() == ["tagged 8 sentences in 3 files"]


def test_a_missing_input_among_several_fails_before_any_output(trained_model, tmp_path):
    good = tmp_path / "a.txt"
    good.write_text(TEXT, encoding="utf-8")
    one_line_error(run_cli("tag", "-m", trained_model, good, tmp_path / "nope.txt"), "nope.txt: no such file")
    one_line_error(run_cli("tag", "-m", trained_model, good, good, "--format", "html"), "--format html writes one page")


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
    assert line.endswith("latin-1.txt:1: bytes that are not UTF-8 (byte 0xe9 at column 4, byte offset 3); "
                         "--encoding reads another encoding")


def test_evaluate_reads_stdin_and_another_encoding(trained_model, tiny_dir):
    gold = tiny_dir / "test.txt"
    expected = json.loads(run_cli("evaluate", "-m", trained_model, gold, "--format", "json").stdout)
    data = gold.read_text(encoding="utf-8").encode("utf-16")
    result = run_cli("evaluate", "-m", trained_model, "-", "--format", "json", "--encoding", "utf-16", input=data)
    assert result.exit_code == 0, result.output
    found = json.loads(result.stdout)
    assert found["file"] == "<stdin>" and found["f1"] == expected["f1"] and found["per_type"] == expected["per_type"]


# Gold tags the model will not all agree with: types swapped, an entity missed, and I-X after O (read as conlleval does)
HARD = "Paris B-PER\nlives O\nin O\nMary B-LOC\n. O\n\nAcme I-ORG\nCorp I-ORG\nhired O\nBob O\n. O\n"


def test_evaluate_predictions_are_conllevals_columns_and_score_as_the_report(trained_model, tiny_dir, tmp_path):
    from seqeval.metrics import f1_score

    from tagger.data.reader import read_conll

    gold, out = tmp_path / "gold.txt", tmp_path / "predictions.txt"
    gold.write_text((tiny_dir / "test.txt").read_text(encoding="utf-8") + "\n\n" + HARD, encoding="utf-8")
    result = run_cli("evaluate", "-m", trained_model, gold, "--format", "json", "--predictions", out)
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    sentences = [block.splitlines() for block in out.read_text(encoding="utf-8").split("\n\n") if block]
    rows = [[line.split(" ") for line in block] for block in sentences]
    assert all(len(row) == 3 for block in rows for row in block)
    truth = read_conll(gold)
    assert [[r[0] for r in block] for block in rows] == [s.tokens for s in truth]  # every token, no -DOCSTART-
    assert [[r[1] for r in block] for block in rows] == [s.tags for s in truth]  # the file's own gold tags
    f1 = f1_score([[r[1] for r in block] for block in rows], [[r[2] for r in block] for block in rows])
    assert f1 == pytest.approx(report["f1"]) and 0.5 < f1 < 1
    refused = run_cli("evaluate", "-m", trained_model, gold, "--predictions", gold)
    one_line_error(refused, "--predictions names an input")


@pytest.mark.slow
def test_train_reads_its_training_file_from_stdin_in_another_encoding(tiny_dir, tmp_path):
    from tests.helpers import TINY_NET

    data = (tiny_dir / "train.txt").read_text(encoding="utf-8").replace("Paris", "Pâris").encode("latin-1")
    model = tmp_path / "m.pt"
    args = ["train", "--train", "-", "--dev", tiny_dir / "dev.txt", "-m", model, "--epochs", "1", *TINY_NET]
    result = run_cli(*args, "--encoding", "latin-1", "--format", "json", input=data)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["files"]["train"] == "-" and model.exists()
    line = run_cli(*args, input=data).stderr.splitlines()[-1]
    assert line.startswith("tagger: error: <stdin>:") and "bytes that are not UTF-8 (byte 0xe2" in line
