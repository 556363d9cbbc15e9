"""Entity-level scores, and evaluating a model file or a loaded model on a gold file."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.data.schemes import BIOES, convert, to_spans
from tagger.errors import MissingExtra, ModelFileError
from tagger.tagging.model import open_model
from tagger.tagging.predictor import Predictor
from tagger.training.evaluation import chunk_scores, evaluate, evaluate_predictor, score
from tests.corpora import make_sentences, write_conll
from tests.properties import FAST


def test_score_counts_whole_entities():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["B-ORG", "O"]]
    predicted = [["B-PER", "I-PER", "O", "O"], ["B-ORG", "B-LOC"]]  # PER and ORG right, LOC missed, one LOC made up
    result = score(gold, predicted)
    assert (result["precision"], result["recall"], result["support"]) == (2 / 3, 2 / 3, 3)
    assert result["f1"] == pytest.approx(2 / 3)
    assert result["per_type"]["PER"] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 1}
    assert result["per_type"]["LOC"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
    # a span that is cut short is wrong as a whole
    assert score([["B-PER", "I-PER"]], [["B-PER", "O"]])["f1"] == 0.0


# Entity scores: seqeval's default mode, which counts as conlleval does and as the tagger's own spans read the tags

TAGS = ["O", *(f"{p}-{t}" for p in "BIES" for t in ("PER", "LOC", "MISC-X"))]  # a type may hold a dash
tag_sequences = st.lists(st.lists(st.sampled_from(TAGS), max_size=12), min_size=1, max_size=6)
HAND_MADE = [  # every way a sequence breaks its scheme, and sentences with no entity at all; (right, found, wanted)
    ([["I-PER", "I-PER", "O", "E-LOC", "I-LOC"]], [["B-PER", "I-PER", "O", "S-LOC", "I-LOC"]],
     {"LOC": (2, 2, 2), "PER": (1, 1, 1)}),
    ([["B-PER", "I-LOC", "E-LOC", "E-LOC", "S-PER", "E-PER"]], [["B-PER", "E-LOC", "I-LOC", "B-LOC", "I-PER", "O"]],
     {"LOC": (1, 3, 2), "PER": (2, 2, 3)}),
    ([["B-PER"], ["I-PER"], ["E-PER", "B-PER"]], [["I-PER"], ["S-PER"], ["B-PER", "E-PER"]], {"PER": (2, 3, 4)}),
    ([["O", "O"], []], [["O", "B-LOC"], []], {"LOC": (0, 1, 0)}),
    ([["B-LOC", "O"]], [["O", "O"]], {"LOC": (0, 0, 1)}),
    ([["O"], []], [["O"], []], {}),
]  # fmt: skip


def prf(right: int, found: int, wanted: int) -> dict:
    """The scores of these counts as the tagger reported them before seqeval computed them (0 where undefined)."""
    precision = right / found if found else 0.0
    recall = right / wanted if wanted else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"precision": precision, "recall": recall, "f1": f1, "support": wanted}


def expected_scores(counts: dict) -> dict:
    total = [sum(c[i] for c in counts.values()) for i in range(3)]
    return {**prf(*total), "per_type": {kind: prf(*c) for kind, c in sorted(counts.items())}}


def conlleval_counts(gold, predicted) -> dict:
    """Each type's (right, found, wanted) entities as ``to_spans`` reads the tags (how the tagger counted them)."""
    right, found, wanted = Counter(), Counter(), Counter()
    for g, p in zip(gold, predicted):
        truth, guess = set(to_spans(g)), set(to_spans(p))
        wanted.update(kind for kind, _, _ in truth)
        found.update(kind for kind, _, _ in guess)
        right.update(kind for kind, _, _ in truth & guess)
    return {kind: (right[kind], found[kind], wanted[kind]) for kind in wanted.keys() | found.keys()}


@pytest.mark.parametrize(("gold", "predicted", "counts"), HAND_MADE)
def test_entity_scores_on_hand_made_sequences(gold, predicted, counts):
    result = chunk_scores(gold, predicted)
    assert result == expected_scores(counts)
    assert all(type(v) is float for v in (result["precision"], result["recall"], result["f1"]))  # JSON writes them
    assert type(result["support"]) is int


@FAST
@given(st.data())
def test_entity_scores_count_the_spans_the_tagger_reads(data):
    """Any tags, in or out of their scheme: the scores are those of ``to_spans``' entities, which ``tag`` shows."""
    gold = data.draw(tag_sequences)
    predicted = [data.draw(st.lists(st.sampled_from(TAGS), min_size=len(g), max_size=len(g))) for g in gold]
    if data.draw(st.booleans()):  # mostly right, as a tagger's output is: a few tags changed
        predicted = [[t if data.draw(st.integers(0, 4)) else p for t, p in zip(g, q)] for g, q in zip(gold, predicted)]
    assert chunk_scores(gold, predicted) == expected_scores(conlleval_counts(gold, predicted))


def test_entity_scores_can_tell_a_wrong_span():
    """A span one token short is a miss and a false alarm."""
    result = chunk_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    assert result == expected_scores({"PER": (0, 1, 1)})
    assert (result["precision"], result["recall"], result["support"]) == (0.0, 0.0, 1)


def test_entity_scores_read_tuples_as_sentences_too():
    assert chunk_scores((("B-PER", "I-PER"),), (("B-PER", "I-PER"),)) == expected_scores({"PER": (1, 1, 1)})


@pytest.fixture
def no_seqeval(monkeypatch):
    """As if seqeval were not installed: a ``None`` in ``sys.modules`` makes its import fail."""
    for name in ("seqeval", "seqeval.metrics"):
        monkeypatch.setitem(sys.modules, name, None)


@pytest.mark.usefixtures("no_seqeval")
def test_without_seqeval_entity_scores_say_what_to_install_and_plain_labels_need_none(trained_model, tiny_dir):
    said = re.escape('entity scores need seqeval: pip install -c constraints.txt -e ".[evaluate]"')
    with pytest.raises(MissingExtra, match=f"^{said}$"):
        score([["B-PER"]], [["B-PER"]])
    with pytest.raises(MissingExtra, match=said):  # before the model tags anything
        evaluate_predictor(Predictor(open_model(trained_model)), tiny_dir / "no-such-file.txt")
    assert score([["NN", "VB"]], [["NN", "NN"]], plain=True)["accuracy"] == 0.5


def test_score_refuses_tags_that_do_not_line_up():
    with pytest.raises(ValueError, match="same sentences and lengths"):
        score([["O", "O"]], [["O"]])
    with pytest.raises(ValueError, match="same sentences and lengths"):
        score([["O"]], [])


def test_evaluate_scores_in_the_gold_files_own_scheme(trained_model, tiny_dir, tmp_path):
    """The same gold entities written in BIOES score as in IOB2: predictions are converted to the file's scheme."""
    sentences = make_sentences(20, 3)
    bioes = [list(zip([t for t, _ in s], convert([g for _, g in s], BIOES))) for s in sentences]
    gold_bioes = write_conll(tmp_path / "test.bioes", bioes)
    plain, other = evaluate(tiny_dir / "test.txt", trained_model), evaluate(gold_bioes, trained_model)
    for key in ("precision", "recall", "f1", "support", "per_type", "sentences", "tokens"):
        assert plain[key] == other[key], key
    assert plain["model"] == str(trained_model) and plain["file"] == str(tiny_dir / "test.txt")


def test_evaluate_predictor_is_what_evaluate_gives(trained_model, tiny_dir):
    predictor = Predictor(open_model(trained_model), batch_size=4)
    result = evaluate_predictor(predictor, tiny_dir / "dev.txt", model="in memory")
    expected = evaluate(tiny_dir / "dev.txt", trained_model)
    assert result == {**expected, "model": "in memory"}


def test_evaluate_takes_model_as_train_does_and_the_default_model_as_the_command_line(
    trained_model, tiny_dir, tmp_path, monkeypatch, caplog
):
    """tagger.evaluate("test.txt", model="m.pt") raised TypeError (issue 30): model= as tagger.train takes it, and
    no model is the default model, as for `tagger evaluate FILE` and Tagger.load()."""
    gold = tiny_dir / "test.txt"
    expected = evaluate(gold, trained_model)
    assert evaluate(gold, model=trained_model) == expected
    monkeypatch.setenv("TAGGER_MODEL", str(trained_model))
    assert evaluate(gold) == expected
    monkeypatch.delenv("TAGGER_MODEL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # no model at the default path: the shipped one, said
    with caplog.at_level("INFO", logger="tagger"):
        assert evaluate(gold)["model"].endswith("en-news.onnx")
    assert "no model at" in caplog.text and "en-news" in caplog.text


def test_evaluates_old_model_path_keyword_still_works_and_says_it_is_old(trained_model, tiny_dir):
    gold = tiny_dir / "test.txt"
    with pytest.warns(DeprecationWarning, match=r"evaluate\(model=\.\.\.\)"):
        assert evaluate(gold, model_path=trained_model) == evaluate(gold, model=trained_model)
    with pytest.raises(TypeError, match="not both"):
        evaluate(gold, trained_model, model_path=trained_model)


def test_evaluate_reports_a_missing_model_before_reading_the_data(tmp_path):
    with pytest.raises(ModelFileError, match="no model file here"):
        evaluate(tmp_path / "no-data.txt", tmp_path / "no-model.pt")


def test_evaluate_tags_a_context_model_with_the_files_documents(context_model, context_dir):
    predictor = Predictor(open_model(context_model))
    assert predictor.window_maker.context
    seen = []
    real = predictor.predict
    predictor.predict = lambda sentences, docs=None: seen.append(docs) or real(sentences, docs)
    result = evaluate_predictor(predictor, context_dir / "test.txt")
    assert seen == [[i // 5 for i in range(20)]]  # the file's -DOCSTART- documents
    assert evaluate(context_dir / "test.txt", context_model)["f1"] == result["f1"] > 0.5


@pytest.mark.usefixtures("cli_env")
def test_evaluate_warns_in_one_line_when_the_file_and_the_model_share_no_entity_type(trained_model, tmp_path):
    from tests.helpers import run_cli

    # WNUT-17's types, where the model knows CoNLL's
    gold = [
        [(t, tag.replace("PER", "person").replace("LOC", "location").replace("ORG", "corporation")) for t, tag in s]
        for s in make_sentences(10, 5)
    ]
    path = write_conll(tmp_path / "wnut.txt", gold)
    result = run_cli("evaluate", path, "--model", trained_model, "--format", "json")
    assert result.exit_code == 0, result.output
    (line,) = result.stderr.splitlines()
    assert line.startswith(
        f"warning: {path}: the file's entity types (corporation, location, person) and the model's "
        "(LOC, ORG, PER) have none in common, so every score is 0"
    )
    assert json.loads(result.stdout)["f1"] == 0.0
    some = [[(t, tag.replace("LOC", "location").replace("ORG", "corporation")) for t, tag in s] for s in gold]
    some = [[(t, tag.replace("person", "PER")) for t, tag in s] for s in some]  # PER in common is enough
    shared = run_cli("evaluate", write_conll(tmp_path / "some.txt", some), "--model", trained_model)
    assert shared.exit_code == 0 and shared.stderr == ""


# Token accuracy: always; for a plain label set, with a per-tag table instead of entities


def test_chunk_scores_have_token_accuracy_too():
    result = score([["B-PER", "I-PER", "O", "B-LOC"]], [["B-PER", "O", "O", "B-LOC"]])
    assert result["accuracy"] == 0.75 and "per_type" in result


def test_a_plain_label_set_is_scored_by_token_accuracy_with_a_per_tag_table():
    gold = [["NNP", "VBD", "."], ["DT", "NN", "."]]
    predicted = [["NNP", "VBN", "."], ["DT", "NNP", "."]]
    result = score(gold, predicted, plain=True)
    assert set(result) == {"accuracy", "support", "per_tag"}
    assert result["accuracy"] == 4 / 6 and result["support"] == 6
    assert result["per_tag"]["."] == {"precision": 1.0, "recall": 1.0, "f1": 1.0, "support": 2}
    assert result["per_tag"]["NNP"] == {"precision": 0.5, "recall": 1.0, "f1": pytest.approx(2 / 3), "support": 1}
    assert result["per_tag"]["VBN"]["support"] == 0  # predicted, never gold
    assert result["per_tag"]["VBD"] == {"precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 1}
