"""The model file: round trips, what it holds, loading safely on the CPU, one-line errors for damaged,
foreign and malicious files, writes that never leave a half-written model."""

from __future__ import annotations

import os
import pickle
import shutil
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import torch
import torchcrf
from hypothesis import given
from hypothesis import strategies as st

import tagger
from tagger.errors import ModelFileError
from tagger.nn.config import ModelConfig, default_model_path
from tagger.nn.model_file import (
    FORMAT,
    FORMAT_VERSION,
    check_writable,
    load_model,
    read_checkpoint,
    save_model,
)
from tagger.nn.tensors import TensorMaker
from tagger.tagging.model import open_model
from tagger.tagging.predictor import Predictor
from tests.helpers import ROOT, TRAINED_EPOCHS, one_line_error, raw_checkpoint, run_cli, torch_model
from tests.nn.helpers import SENTENCES_TO_TAG
from tests.properties import SLOW


def test_save_and_load_give_identical_predictions(trained_model, tmp_path):
    loaded = load_model(trained_model)
    copy = tmp_path / "copy.pt"
    save_model(copy, loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    again = load_model(copy)
    batch = TensorMaker(loaded.vocab).batch(SENTENCES_TO_TAG)
    with torch.no_grad():
        assert torch.equal(loaded.model.emissions(batch), again.model.emissions(batch))
    first = Predictor(torch_model(loaded)).predict(SENTENCES_TO_TAG)
    assert first == Predictor(torch_model(again)).predict(SENTENCES_TO_TAG)
    assert first[0] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]
    assert again.config == loaded.config
    assert again.vocab.to_dict() == loaded.vocab.to_dict()
    assert again.data_scheme == loaded.data_scheme
    assert again.metadata == loaded.metadata
    for (name, a), (_, b) in zip(loaded.model.state_dict().items(), again.model.state_dict().items()):
        assert torch.equal(a, b), name


def test_loaded_model_is_on_cpu_in_eval_mode(trained_model):
    loaded = load_model(trained_model)
    assert not loaded.model.training
    assert all(p.device.type == "cpu" for p in loaded.model.parameters())
    assert all(b.device.type == "cpu" for b in loaded.model.buffers())


def test_loading_uses_weights_only_and_maps_to_cpu(trained_model, monkeypatch):
    calls = []
    real_load = torch.load

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    load_model(trained_model)
    assert calls, "the model file was not read with torch.load"
    for kwargs in calls:
        assert kwargs.get("weights_only") is True
        assert str(kwargs.get("map_location")) == "cpu"


def test_checkpoint_contents(trained_model, tiny_dir):
    checkpoint = raw_checkpoint(trained_model)
    assert checkpoint["format"] == FORMAT
    assert checkpoint["format_version"] == FORMAT_VERSION
    config = ModelConfig.from_dict(checkpoint["config"])
    assert (config.word_dim, config.char_size, config.hidden_size) == (20, 10, 16)
    vocab = checkpoint["vocab"]
    assert set(vocab) >= {"words", "chars", "tags"}
    assert config.num_tags == len(vocab["tags"])
    assert {"B-PER", "I-LOC", "O"} <= set(vocab["tags"])
    assert checkpoint["data_scheme"] == "iob2"  # the tiny data is IOB2; the model trains in BIOES
    assert config.scheme == "bioes"
    assert all(isinstance(v, torch.Tensor) for v in checkpoint["state_dict"].values())

    meta = checkpoint["metadata"]
    assert meta["tagger_version"] == tagger.__version__
    created = datetime.fromisoformat(meta["created"])
    assert created.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - created) < timedelta(hours=2)
    assert Path(meta["train_file"]) == tiny_dir / "train.txt"
    assert Path(meta["dev_file"]) == tiny_dir / "dev.txt"
    assert Path(meta["test_file"]) == tiny_dir / "test.txt"
    assert meta["train_config"]["epochs"] == TRAINED_EPOCHS  # the training options of the conftest fixture
    assert meta["train_config"]["lr"] == 0.05
    for key in ("dev_scores", "test_scores"):
        scores = meta[key]
        assert {"precision", "recall", "f1", "per_type"} <= set(scores)
        assert 0.0 <= scores["f1"] <= 1.0
        assert set(scores["per_type"]) == {"PER", "LOC", "ORG"}


def test_saved_scores_are_those_of_the_saved_weights(trained_model, tiny_dir):
    from tagger.training.evaluation import evaluate

    meta = raw_checkpoint(trained_model)["metadata"]
    assert evaluate(tiny_dir / "test.txt", trained_model)["f1"] == pytest.approx(meta["test_scores"]["f1"])
    assert evaluate(tiny_dir / "dev.txt", trained_model)["f1"] == pytest.approx(meta["dev_scores"]["f1"])


def test_checkpoint_holds_only_plain_data(trained_model):
    def check(value, where="checkpoint"):
        if isinstance(value, dict):
            for k, v in value.items():
                assert isinstance(k, str), where
                check(v, f"{where}[{k!r}]")
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                check(v, f"{where}[{i}]")
        else:
            assert value is None or isinstance(value, (str, bytes, int, float, bool, torch.Tensor)), where

    check(raw_checkpoint(trained_model))


class Payload:
    """Unpickling this would touch a file: a stand-in for code run by a malicious model file."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


class Custom:
    def __init__(self):
        self.x = 1


@pytest.mark.parametrize("payload", ["reduce", "custom"])
def test_a_file_holding_a_custom_class_is_refused(trained_model, tmp_path, payload):
    checkpoint = raw_checkpoint(trained_model)
    marker = tmp_path / "ran"
    checkpoint["metadata"]["evil"] = Payload(marker) if payload == "reduce" else Custom()
    path = tmp_path / "evil.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "refused" in str(info.value)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_missing_model_file(tmp_path):
    path = tmp_path / "nope.pt"
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "no model file" in str(info.value)


def test_a_directory_is_not_a_model_file(tmp_path):
    with pytest.raises(ModelFileError, match="directory"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "content",
    [b"", b"not a model at all\n", b"PK\x03\x04 broken zip", bytes(range(256)) * 4],
    ids=["empty", "text", "broken-zip", "binary"],
)
def test_damaged_files(tmp_path, content):
    path = tmp_path / "model.pt"
    path.write_bytes(content)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_truncated_model_file(trained_model, tmp_path):
    path = tmp_path / "model.pt"
    data = trained_model.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ModelFileError):
        load_model(path)


@pytest.mark.parametrize("obj", [{"a": torch.zeros(2)}, torch.zeros(3), [1, 2], {"format": "other"}])
def test_pytorch_files_of_other_programs(tmp_path, obj):
    path = tmp_path / "other.pt"
    torch.save(obj, path)
    with pytest.raises(ModelFileError, match="not a tagger model"):
        load_model(path)


def test_newer_format_version_is_refused(trained_model, tmp_path):
    checkpoint = raw_checkpoint(trained_model)
    checkpoint["format_version"] = FORMAT_VERSION + 1
    path = tmp_path / "new.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ModelFileError, match="newer"):
        load_model(path)


@pytest.mark.parametrize("change", ["drop-vocab", "drop-state", "wrong-shape", "bad-config"])
def test_damaged_checkpoints(trained_model, tmp_path, change):
    checkpoint = raw_checkpoint(trained_model)
    if change == "drop-vocab":
        del checkpoint["vocab"]
    elif change == "drop-state":
        del checkpoint["state_dict"]
    elif change == "wrong-shape":
        checkpoint["state_dict"]["project.weight"] = torch.zeros(3, 3)
    else:
        checkpoint["config"]["cell"] = "transformer"
    path = tmp_path / "damaged.pt"
    torch.save(checkpoint, path)
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert "damaged" in str(info.value)
    assert "\n" not in str(info.value)


def test_read_checkpoint_returns_the_dict(trained_model):
    checkpoint = read_checkpoint(trained_model)
    assert checkpoint["format"] == FORMAT
    assert "state_dict" in checkpoint


def test_save_leaves_no_temporary_files(trained_model, tmp_path):
    loaded = load_model(trained_model)
    target = tmp_path / "out.pt"
    save_model(target, loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)
    save_model(target, loaded.model, loaded.vocab, loaded.data_scheme, loaded.metadata)  # over an existing file
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.pt"]
    assert load_model(target).data_scheme == loaded.data_scheme


def test_default_model_path(monkeypatch, tmp_path):
    monkeypatch.setenv("TAGGER_MODEL", str(tmp_path / "mine.pt"))
    assert default_model_path() == tmp_path / "mine.pt"
    monkeypatch.delenv("TAGGER_MODEL")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_model_path() == tmp_path / "data" / "tagger" / "model.pt"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_model_path() == tmp_path / "home" / ".local" / "share" / "tagger" / "model.pt"


def test_check_writable(tmp_path):
    assert check_writable(tmp_path / "a" / "b" / "model.pt") == tmp_path / "a" / "b" / "model.pt"
    assert (tmp_path / "a" / "b").is_dir()
    with pytest.raises(ModelFileError, match="directory"):
        check_writable(tmp_path)


def test_check_writable_read_only_folder(tmp_path, monkeypatch):
    """A folder the user may not write (simulated: root may write anywhere, so chmod proves nothing)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: Path(path) != folder and real_access(path, mode))
    with pytest.raises(ModelFileError, match="cannot be written"):
        check_writable(folder / "model.pt")
    assert check_writable(tmp_path / "model.pt") == tmp_path / "model.pt"


# Model files: one line, status 2, and a malicious pickle runs nothing


def _evil_payload(marker: Path):
    class Payload:
        def __reduce__(self):
            return (os.mkdir, (str(marker),))

    return Payload()


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize(
    "kind", ["torch_save", "pickle_protocol_2", pytest.param("pickle_protocol_5", marks=pytest.mark.slow)]
)
def test_malicious_pickle_is_refused_without_running_it(tmp_path, kind):
    marker = tmp_path / "payload-ran"
    path = tmp_path / "evil.pt"
    checkpoint = {"format": "tagger-model", "format_version": 1, "config": _evil_payload(marker)}
    if kind == "torch_save":
        torch.save(checkpoint, path)
    else:
        path.write_bytes(pickle.dumps(checkpoint, protocol=int(kind[-1])))
    with pytest.raises(ModelFileError):
        read_checkpoint(path)
    result = run_cli("tag", "--model", path, input="Mary lives in Paris .\n")
    error = one_line_error(result)
    assert error.startswith(f"tagger: error: {path}: ")
    assert "refused to load" in error or "not a readable model file" in error
    assert not marker.exists()
    if kind == "pickle_protocol_5":  # a real process, where torch's warnings about foreign pickles would show
        out = subprocess.run(
            [sys.executable, "cli.py", "tag", "--model", str(path)],
            cwd=ROOT,
            input="Mary lives in Paris .\n",
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (out.returncode, out.stderr.splitlines(), out.stdout) == (2, [error], "")
        assert not marker.exists()


def _foreign_files(tmp_path: Path, good: Path) -> dict[str, tuple[Path, str]]:
    cases: dict[str, tuple[bytes | None, str]] = {}
    data = good.read_bytes()
    cases["truncated"] = (data[: len(data) // 2], "not a readable model file")
    cases["cut_after_1k"] = (data[:1024], "not a readable model file")
    cases["empty"] = (b"", "not a readable model file")
    cases["random_bytes"] = (bytes(range(256)) * 8, "not a readable model file")
    cases["text_file"] = (b"Mary\tB-PER\nlives\tO\n", "not a readable model file")
    out = {}
    for name, (content, message) in cases.items():
        path = tmp_path / f"{name}.pt"
        path.write_bytes(content)
        out[name] = (path, message)
    with zipfile.ZipFile(tmp_path / "zip.pt", "w") as z:
        z.writestr("readme.txt", "a zip file of another program")
    out["zip_file"] = (tmp_path / "zip.pt", "not a readable model file")
    torch.save({"weights": torch.zeros(3), "epoch": 3}, tmp_path / "other.pt")
    out["torch_dict_of_another_program"] = (tmp_path / "other.pt", "not a tagger model file")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    out["torch_list"] = (tmp_path / "list.pt", "not a tagger model file")
    newer = torch.load(good, weights_only=True)
    newer["format_version"] = 7
    torch.save(newer, tmp_path / "newer.pt")
    newer_message = f"newer tagger (model format 7; this tagger reads format {FORMAT_VERSION} and older)"
    out["newer_format"] = (tmp_path / "newer.pt", newer_message)
    broken = dict(newer, format_version=1, config="not a dict")
    torch.save(broken, tmp_path / "broken.pt")
    out["damaged_fields"] = (tmp_path / "broken.pt", "damaged model file")
    out["missing"] = (tmp_path / "missing.pt", "no model file here")
    out["directory"] = (tmp_path, "is a directory, not a model file")
    return out


MODEL_CASES = [
    "truncated",
    "cut_after_1k",
    "empty",
    "random_bytes",
    "text_file",
    "zip_file",
    "torch_dict_of_another_program",
    "torch_list",
    "newer_format",
    "damaged_fields",
    "missing",
    "directory",
]


@pytest.mark.usefixtures("cli_env")
@pytest.mark.parametrize("case", MODEL_CASES)
def test_unusable_model_file_is_one_line(tmp_path, trained_model, case):
    path, message = _foreign_files(tmp_path, trained_model)[case]
    with pytest.raises(ModelFileError) as info:
        load_model(path)
    assert message in str(info.value)
    for args in (["tag", "--model", path], ["evaluate", ROOT / "pyproject.toml", "--model", path]):
        result = run_cli(*args, input="Mary lives in Paris .\n")
        error = one_line_error(result)
        assert error.startswith(f"tagger: error: {path}: ")
        assert message in error


# Never lose work: atomic model files


def test_failed_write_leaves_the_previous_model_intact(tmp_path, trained_model, monkeypatch):
    import tagger.nn.model_file as model_file

    path = tmp_path / "model.pt"
    shutil.copy(trained_model, path)
    before = path.read_bytes()
    loaded = load_model(path)

    def full_disk(obj, f, *args, **kwargs):
        f.write(b"PK\x03\x04 half a model")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(model_file.torch, "save", full_disk)
    with pytest.raises(OSError, match="No space left"):
        save_model(path, loaded.model, loaded.vocab, loaded.data_scheme, {"note": "new"})
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]  # no temporary file left behind
    load_model(path)


def test_interrupted_write_leaves_the_previous_model_intact(tmp_path, trained_model, monkeypatch):
    """Ctrl-C in the middle of writing: KeyboardInterrupt is not an Exception, and is handled too."""
    import tagger.nn.model_file as model_file

    path = tmp_path / "model.pt"
    shutil.copy(trained_model, path)
    before = path.read_bytes()
    loaded = load_model(path)
    real_save = torch.save

    def interrupted(obj, f, *args, **kwargs):
        real_save(obj, f, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(model_file.torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_model(path, loaded.model, loaded.vocab, loaded.data_scheme, {"note": "new"})
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.pt"]


# Damaged model files: ModelFileError, never anything else


@pytest.fixture(scope="module")
def model_bytes(trained_model) -> bytes:
    return trained_model.read_bytes()


@SLOW
@given(cut=st.floats(0, 1, exclude_max=True), flips=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 255))))
def test_damaged_model_file_is_a_model_file_error_or_loads(scratch, model_bytes, cut, flips):
    from tagger.nn.model_file import load_model

    data = bytearray(model_bytes[: int(cut * len(model_bytes))] if cut > 0 else model_bytes)
    for where, value in flips:
        if data:
            data[int(where * (len(data) - 1))] = value
    path = scratch / "damaged.pt"
    path.write_bytes(bytes(data))
    try:
        load_model(path)
    except ModelFileError as err:
        assert str(err).startswith(f"{path}: ")
        assert "\n" not in str(err)


@SLOW
@given(body=st.binary(max_size=300))
def test_random_bytes_are_not_a_model(scratch, body):
    from tagger.nn.model_file import read_checkpoint

    path = scratch / "random.pt"
    path.write_bytes(body)
    with pytest.raises(ModelFileError):
        read_checkpoint(path)


def _mapped_ranges(path: Path) -> list[tuple[int, int]]:
    ranges = []
    for line in Path("/proc/self/maps").read_text().splitlines():
        if line.endswith(str(path)):
            start, end = line.split()[0].split("-")
            ranges.append((int(start, 16), int(end, 16)))
    return ranges


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_a_loaded_model_keeps_the_files_mapped_weights_and_never_writes_the_file(trained_model, tmp_path):
    """The weights are the file's pages (shared by the processes of tag --jobs), mapped copy-on-write."""
    path = tmp_path / "model.pt"
    shutil.copyfile(trained_model, path)
    before = path.read_bytes()
    loaded = load_model(path)
    ranges = _mapped_ranges(path.resolve())
    weights = dict(loaded.model.named_parameters())
    assert ranges and all(any(a <= w.data_ptr() < b for a, b in ranges) for w in weights.values())
    with torch.no_grad():
        next(iter(weights.values())).add_(1.0)
    assert path.read_bytes() == before
    tagged = Predictor(open_model(path)).predict(SENTENCES_TO_TAG)
    assert tagged[0] == ["B-PER", "I-PER", "O", "O", "B-LOC", "O"]


def test_a_file_of_the_old_torch_format_loads_without_mapping(trained_model, tmp_path):
    path = tmp_path / "old.pt"
    torch.save(raw_checkpoint(trained_model), path, _use_new_zipfile_serialization=False)
    expected = Predictor(open_model(trained_model)).predict(SENTENCES_TO_TAG)
    assert Predictor(open_model(path)).predict(SENTENCES_TO_TAG) == expected


def test_a_model_written_before_the_crf_was_pytorch_crfs_loads_and_tags_as_it_did():
    """The shipped en-news.pt was saved by the tagger's own CRF module; its CRF weights, under pytorch-crf's
    names, load into the torchcrf.CRF subclass unchanged, and it tags as it did then."""
    path = ROOT / "tagger" / "models" / "en-news.pt"
    loaded = load_model(path)
    assert isinstance(loaded.model.crf, torchcrf.CRF)
    saved = read_checkpoint(path)["state_dict"]
    for name in ("start_transitions", "end_transitions", "transitions"):
        assert torch.equal(getattr(loaded.model.crf, name), saved[f"crf.{name}"]), name
    assert Predictor(open_model(path)).predict(SENTENCES_TO_TAG) == [
        ["I-PER", "I-PER", "O", "O", "I-LOC", "O"],
        ["I-ORG", "I-ORG", "O", "I-PER", "I-PER", "O", "I-LOC", "I-LOC", "O"],
        ["O", "O", "O", "I-LOC", "I-LOC"],
        ["I-PER"],
    ]


def test_weights_of_another_dtype_are_copied_into_the_models_own(trained_model, tmp_path):
    checkpoint = raw_checkpoint(trained_model)
    checkpoint["state_dict"] = {key: value.double() for key, value in checkpoint["state_dict"].items()}
    path = tmp_path / "double.pt"
    torch.save(checkpoint, path)
    loaded = load_model(path)
    assert all(p.dtype == torch.float32 for p in loaded.model.parameters())
    expected = Predictor(open_model(trained_model)).predict(SENTENCES_TO_TAG)
    assert Predictor(torch_model(loaded)).predict(SENTENCES_TO_TAG) == expected


@pytest.mark.skipif(not Path("/proc/self/maps").exists(), reason="reads /proc/self/maps")
def test_a_model_with_16_bit_tables_tags_as_before_and_keeps_its_weights_mapped(trained_model, tmp_path):
    """model_file.half_tables (what bench/ready_model.py ships): smaller, the same tags, scores within rounding;
    the tables stay 16-bit, the file's pages, and every other weight is 32-bit."""
    from tagger.api import Tagger
    from tagger.nn.checkpoint import write_atomically
    from tagger.nn.model_file import half_tables

    path = tmp_path / "half.pt"
    write_atomically(path, half_tables(read_checkpoint(trained_model)))
    assert raw_checkpoint(path)["state_dict"]["word_embed.weight"].dtype == torch.float16
    assert path.stat().st_size < trained_model.stat().st_size
    loaded = load_model(path)
    weights = dict(loaded.model.named_parameters())
    assert weights.pop("word_embed.weight").dtype == torch.float16
    assert all(p.dtype == torch.float32 for p in weights.values())
    ranges = _mapped_ranges(path.resolve())
    tables = [loaded.model.word_embed.weight, *weights.values()]
    assert all(any(a <= p.data_ptr() < b for a, b in ranges) for p in tables)
    expected = Predictor(open_model(trained_model)).predict(SENTENCES_TO_TAG)
    assert Predictor(torch_model(loaded)).predict(SENTENCES_TO_TAG) == expected
    text = "John Smith lives in Paris. Acme Corp hired Angela Merkel. Mary met Bob in Berlin."
    before, after = (Tagger.load(p, scores=True)(text).entities for p in (trained_model, path))
    assert [(e.type, e.text) for e in after] == [(e.type, e.text) for e in before] != []
    assert [e.score for e in after] == pytest.approx([e.score for e in before], abs=2e-3)
