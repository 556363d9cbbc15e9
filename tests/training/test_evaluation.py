"""Entity-level scores, and evaluating a model file or a loaded model on a gold file."""

from __future__ import annotations

import json
import warnings

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tagger.data.schemes import BIOES, convert
from tagger.errors import ModelFileError
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



# Entity scores: conlleval's counting, checked against seqeval (the test extra's reference; the package needs none)

TAGS = ["O", *(f"{p}-{t}" for p in "BIES" for t in ("PER", "LOC", "MISC-X"))]  # a type may hold a dash
tag_sequences = st.lists(st.lists(st.sampled_from(TAGS), max_size=12), min_size=1, max_size=6)
HAND_MADE = [  # every way a sequence breaks its scheme, and sentences with no entity at all
    ([["I-PER", "I-PER", "O", "E-LOC", "I-LOC"]], [["B-PER", "I-PER", "O", "S-LOC", "I-LOC"]]),
    ([["B-PER", "I-LOC", "E-LOC", "E-LOC", "S-PER", "E-PER"]], [["B-PER", "E-LOC", "I-LOC", "B-LOC", "I-PER", "O"]]),
    ([["B-PER"], ["I-PER"], ["E-PER", "B-PER"]], [["I-PER"], ["S-PER"], ["B-PER", "E-PER"]]),
    ([["O", "O"], []], [["O", "B-LOC"], []]),
    ([["B-LOC", "O"]], [["O", "O"]]),
    ([["O"], []], [["O"], []]),
]


def seqeval_scores(gold, predicted) -> dict:
    """``chunk_scores``'s shape, from seqeval's report."""
    seqeval = pytest.importorskip("seqeval.metrics")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # seqeval warns on types with no predictions; they score 0
        report = seqeval.classification_report(gold, predicted, output_dict=True, zero_division=0)
    shape = lambda v: {  # noqa: E731
        "precision": float(v["precision"]), "recall": float(v["recall"]), "f1": float(v["f1-score"]),
        "support": int(v["support"]),
    }  # fmt: skip
    micro = shape(report.pop("micro avg"))
    per_type = {kind: shape(v) for kind, v in sorted(report.items()) if not kind.endswith(" avg")}
    return {**micro, "per_type": per_type}


@pytest.mark.parametrize(("gold", "predicted"), HAND_MADE)
def test_entity_scores_equal_seqevals_on_hand_made_sequences(gold, predicted):
    assert chunk_scores(gold, predicted) == seqeval_scores(gold, predicted)


@FAST
@given(st.data())
def test_entity_scores_equal_seqevals_on_random_sequences(data):
    gold = data.draw(tag_sequences)
    predicted = [data.draw(st.lists(st.sampled_from(TAGS), min_size=len(g), max_size=len(g))) for g in gold]
    if data.draw(st.booleans()):  # mostly right, as a tagger's output is: a few tags changed
        predicted = [[t if data.draw(st.integers(0, 4)) else p for t, p in zip(g, q)] for g, q in zip(gold, predicted)]
    assert chunk_scores(gold, predicted) == seqeval_scores(gold, predicted)


def test_entity_scores_can_tell_a_wrong_span():
    """The comparison above can fail: a span one token short is a miss and a false alarm."""
    result = chunk_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])
    assert (result["precision"], result["recall"], result["support"]) == (0.0, 0.0, 1)
    assert result == seqeval_scores([["B-PER", "I-PER", "O"]], [["B-PER", "O", "O"]])


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
