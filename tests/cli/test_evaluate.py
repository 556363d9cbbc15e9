"""`tagger evaluate`: the score table and JSON, stdin and encodings, --predictions."""

from __future__ import annotations

import json
import re

import pytest

from tests.cli.helpers import run
from tests.helpers import one_line_error, run_cli

pytestmark = pytest.mark.usefixtures("cli_env")


# evaluate


def test_evaluate_json(trained_model, tiny_dir):
    result = run(["evaluate", tiny_dir / "test.txt", "-m", trained_model, "--format", "json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    for key in ("precision", "recall", "f1"):
        assert isinstance(scores[key], float) and 0.0 <= scores[key] <= 1.0
    assert scores["f1"] > 0.9
    assert set(scores["per_type"]) == {"PER", "LOC", "ORG"}
    for kind, s in scores["per_type"].items():
        assert set(s) >= {"precision", "recall", "f1", "support"}, kind
        assert isinstance(s["support"], int) and s["support"] > 0
        assert 0.0 <= s["f1"] <= 1.0
    assert scores["support"] == sum(s["support"] for s in scores["per_type"].values())
    assert scores["sentences"] == 20


def test_evaluate_table(trained_model, tiny_dir):
    json_result = json.loads(run(["evaluate", tiny_dir / "test.txt", "-m", trained_model, "--format", "json"]).stdout)
    result = run(["evaluate", tiny_dir / "test.txt", "-m", trained_model])
    assert result.exit_code == 0, result.output
    out = result.stdout
    for header in ("type", "precision %", "recall %", "F1 %", "support"):
        assert header in out
    for kind, s in json_result["per_type"].items():
        row = next(line for line in out.splitlines() if re.search(rf"\b{kind}\b", line))
        assert f"{100 * s['f1']:.2f}" in row
        assert str(s["support"]) in row
    micro = next(line for line in out.splitlines() if "all (micro)" in line)
    assert f"{100 * json_result['f1']:.2f}" in micro
    assert str(json_result["support"]) in micro
    with pytest.raises(json.JSONDecodeError):
        json.loads(out)


# errors


@pytest.mark.parametrize(
    "content, line",
    [
        ("John NNP B-PER\nSmith I-PER\n", 2),
        ("John B-PER\n\nParis PER\n", 3),
        (b"John B-PER\n\nZ\xfcrich B-LOC\n", 3),
        ("John B-PER\nSmith B_PER\n", 2),
    ],
    ids=["ragged", "not-a-tag", "latin-1", "underscore"],
)
def test_evaluate_malformed_file(trained_model, tmp_path, content, line):
    path = tmp_path / "bad.txt"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    one_line_error(run(["evaluate", path, "-m", trained_model]), f"{path}:{line}:")


def test_evaluate_missing_data_file(trained_model, tmp_path):
    missing = tmp_path / "nope.txt"
    one_line_error(run(["evaluate", missing, "-m", trained_model]), str(missing))


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


# other data formats


def test_tag_jsonl_output_reads_back_as_gold_data(trained_model, tiny_dir, tmp_path):
    tagged = run(["tag", tiny_dir / "test.txt", "-m", trained_model, "--input", "conll", "--format", "jsonl"])
    assert tagged.exit_code == 0, tagged.output
    (tmp_path / "tagged.jsonl").write_text(tagged.stdout, encoding="utf-8")
    result = run(["evaluate", tmp_path / "tagged.jsonl", "-m", trained_model, "--format", "json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["f1"] == 1.0 and scores["sentences"] == 20  # the model agrees with itself


def test_evaluate_reads_annotation_exports_and_names_a_bad_span(trained_model, tmp_path):
    from tests.helpers import ROOT

    fixtures = ROOT / "tests" / "data" / "fixtures"
    result = run(["evaluate", fixtures / "label_studio.json", "-m", trained_model, "--format", "json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["sentences"] == 3 and scores["support"] == 5
    assert any("left out 1 task with no annotation" in w for w in scores["warnings"])
    stdin = run(
        ["evaluate", "-", "-m", trained_model, "--data-format", "json"], input=(fixtures / "doccano.jsonl").read_text()
    )
    one_line_error(stdin, "<stdin>:3: span [10, 14) ORG 'Appl' cuts the token 'Apple'")


def test_evaluate_a_plain_label_set_by_token_accuracy(pos_model):
    from tests.helpers import POS_DIR

    result = run(["evaluate", POS_DIR / "test.txt", "--tag-column", "1", "-m", pos_model, "--format", "json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.stdout)
    assert scores["accuracy"] > 0.9 and "f1" not in scores and "per_type" not in scores
    assert {"NNP", "$", ",", "(", "."} <= set(scores["per_tag"])
    assert scores["per_tag"]["."]["support"] == 20  # one per sentence
    table = run(["evaluate", POS_DIR / "test.txt", "--tag-column", "1", "-m", pos_model]).stdout
    assert "accuracy" in table and "NNP" in table and "precision" in table


# Without seqeval (the tagging-only install without the evaluate extra)

EVALUATE_EXTRA = 'entity scores need seqeval: pip install -c constraints.txt -e ".[evaluate]"'


@pytest.fixture
def no_seqeval(monkeypatch):
    """As if seqeval were not installed: a ``None`` in ``sys.modules`` makes its import fail."""
    import sys

    for name in ("seqeval", "seqeval.metrics"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.usefixtures("no_seqeval")
def test_without_seqeval_evaluate_says_what_to_install_before_any_work(onnx_model, tiny_dir, tmp_path):
    predictions = tmp_path / "predictions.txt"
    result = run(["evaluate", tiny_dir / "test.txt", "-m", onnx_model, "--predictions", predictions])
    assert one_line_error(result) == f"tagger: error: {EVALUATE_EXTRA}"
    assert not predictions.exists()


@pytest.mark.usefixtures("no_seqeval")
def test_without_seqeval_tag_info_and_a_plain_label_set_work(onnx_model, pos_model):
    from tests.helpers import POS_DIR

    tagged = run(["tag", "-m", onnx_model, "--format", "inline"], input="John Smith lives in Paris .\n")
    assert tagged.exit_code == 0 and "[PER John Smith]" in tagged.stdout, tagged.output
    assert run(["info", onnx_model]).exit_code == 0
    plain = run(["evaluate", POS_DIR / "test.txt", "--tag-column", "1", "-m", pos_model, "--format", "json"])
    assert plain.exit_code == 0 and json.loads(plain.stdout)["accuracy"] > 0.9, plain.output


def test_evaluate_json_of_chunks_has_accuracy_too(trained_model, tiny_dir):
    result = run(["evaluate", tiny_dir / "test.txt", "-m", trained_model, "--format", "json"])
    scores = json.loads(result.stdout)
    assert {"accuracy", "f1", "precision", "recall", "per_type"} <= set(scores) and scores["accuracy"] > 0.9
    assert "token accuracy" in run(["evaluate", tiny_dir / "test.txt", "-m", trained_model]).stdout


def test_a_chunk_model_on_a_part_of_speech_column_is_a_clear_error(trained_model):
    from tests.helpers import POS_DIR

    result = run(["evaluate", POS_DIR / "dev.txt", "--tag-column", "1", "-m", trained_model])
    assert "are a plain label set such as part-of-speech tags, and the model tags entities" in one_line_error(result)


@pytest.mark.parametrize(("args", "session"), [([], 3), (["--threads", "2"], 2), (["--threads", "1"], 1)])
def test_evaluate_threads_reach_an_exported_models_session(onnx_model, trained_model, tiny_dir, monkeypatch, args,
                                                           session):
    """--threads (0: $TAGGER_THREADS) sets the exported model's onnxruntime threads, as it sets torch's."""
    from tagger.runtime import model as runtime_model

    want = run(["evaluate", tiny_dir / "test.txt", "-m", trained_model, "--format", "json"])  # torch's threads as set
    asked = []
    real = runtime_model.load_onnx
    monkeypatch.setattr(runtime_model, "load_onnx", lambda path, threads: asked.append(threads) or real(path, 1))
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.setenv("TAGGER_THREADS", "3")
    result = run(["evaluate", tiny_dir / "test.txt", "-m", onnx_model, "--format", "json", *args])
    assert result.exit_code == 0, result.output
    assert asked == [session]
    assert json.loads(result.stdout)["f1"] == json.loads(want.stdout)["f1"]


def test_evaluate_an_exported_model_reads_the_data_format_asked_for(onnx_model):
    from tests.helpers import ROOT

    fixtures = ROOT / "tests" / "data" / "fixtures"
    stdin = run(
        ["evaluate", "-", "-m", onnx_model, "--data-format", "json"], input=(fixtures / "doccano.jsonl").read_text()
    )
    one_line_error(stdin, "<stdin>:3: span [10, 14) ORG 'Appl' cuts the token 'Apple'")
