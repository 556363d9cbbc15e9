"""tagger.tagging.dask: a corpus tagged on a real LocalCluster equals single-process tagging, byte for byte; with an
exported model the workers never import torch."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from tests.contextual import documents_text, needs_context, save_context_model
from tests.corpora import PEOPLE, PLACES


def _corpus(folder: Path, files: int, lines: int) -> list[Path]:
    paths = []
    for f in range(files):
        text = "".join(
            f"{PEOPLE[(i + f) % len(PEOPLE)]} flew to {PLACES[i % len(PLACES)]} on day {i}. It rained.\n"
            for i in range(lines)
        )
        path = folder / f"doc{f:02d}.txt"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return paths


def _expected(path: Path, model: Path, **options) -> str:
    from tagger.tagging.files import tag_file
    from tagger.tagging.options import TagOptions

    out = io.StringIO()
    tag_file(str(path), out, model, TagOptions(workers=0, **options))
    return out.getvalue()


@pytest.mark.slow
@pytest.mark.parametrize("fmt", ["conll", "jsonl"])
def test_tag_files_equals_tag_file_byte_for_byte(cluster, trained_model, tmp_path, fmt):
    from tagger.tagging.dask import loads, tag_files

    paths = _corpus(tmp_path, 5, 40)
    outputs = tag_files(cluster, paths, trained_model, tmp_path / "out", output_format=fmt)
    assert outputs == [tmp_path / "out" / f"{p.name}.{fmt}" for p in paths]
    for path, output in zip(paths, outputs):
        assert output.read_bytes() == _expected(path, trained_model, output_format=fmt).encode("utf-8")
    assert sorted(os.listdir(tmp_path / "out")) == sorted(o.name for o in outputs)  # no temporary file left
    assert all(n <= 1 for n in cluster.run(loads).values())  # each worker read the model once at most


@pytest.mark.slow
def test_tag_files_raises_a_files_error(cluster, trained_model, tmp_path):
    from tagger.tagging.dask import tag_files

    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"ok line\n\xff\xfe\n")
    with pytest.raises(Exception, match="not UTF-8"):
        tag_files(cluster, [bad], trained_model, tmp_path / "out")
    assert not any((tmp_path / "out").iterdir())  # no output, not even a partial one


@pytest.mark.slow
def test_a_worker_killed_mid_run_is_retried_and_outputs_are_complete(cluster, trained_model, tmp_path):
    from tagger.tagging.dask import tag_files

    paths = _corpus(tmp_path, 8, 1500)
    pids = cluster.run(os.getpid)
    (tmp_path / "out").mkdir()
    result: dict = {}
    runner = threading.Thread(
        target=lambda: result.update(out=tag_files(cluster, paths, trained_model, tmp_path / "out"))
    )
    runner.start()
    killed = None
    deadline = time.monotonic() + 120
    while killed is None and runner.is_alive() and time.monotonic() < deadline:
        busy = [addr for addr, keys in cluster.processing().items() if keys and addr in pids]
        if busy and any(n.endswith(".conll") for n in os.listdir(tmp_path / "out")):  # some files done: mid-run
            killed = pids[busy[0]]
            os.kill(killed, signal.SIGKILL)
        time.sleep(0.05)
    runner.join(timeout=300)
    assert killed is not None, "no worker was busy mid-run"
    assert killed not in cluster.run(os.getpid).values()  # the worker did die (its nanny started a new one)
    outputs = result["out"]
    for path, output in zip(paths, outputs):
        assert output.read_bytes() == _expected(path, trained_model).encode("utf-8")
    assert sorted(os.listdir(tmp_path / "out")) == sorted(o.name for o in outputs)  # no temporary file left


def test_each_file_is_one_task_tagged_whole(tmp_path, monkeypatch):
    """A document never spans two tasks: a task is a whole file, read as ``tagger tag FILE`` reads it
    (so a model that reads context sees each file's documents whole)."""
    from tagger.tagging import dask as tagger_dask
    paths = _corpus(tmp_path, 3, 5)
    seen: list[tuple[str, str]] = []

    def tag_file(file, out, model_path, options, loaded):
        seen.append((file, out.name))
        out.write(Path(file).read_text(encoding="utf-8"))
        return 1

    class Client:  # runs each task here, in order
        def map(self, function, *columns, pure, **kwargs):
            return [function(*args, **kwargs) for args in zip(*columns)]

        def gather(self, futures):
            return futures

    monkeypatch.setattr(tagger_dask, "tag_file", tag_file)
    monkeypatch.setattr(tagger_dask, "_cached_load", lambda path, device, threads: None)
    outputs = tagger_dask.tag_files(Client(), paths, tmp_path / "model.pt", tmp_path / "out")
    assert [file for file, _ in seen] == [str(p.resolve()) for p in paths]  # one call per file, the whole file
    assert [o.read_text(encoding="utf-8") for o in outputs] == [p.read_text(encoding="utf-8") for p in paths]


@pytest.mark.slow
@needs_context
def test_with_a_context_model_tag_files_equals_tag_file(cluster, tmp_path):
    from tagger.tagging.dask import tag_files

    model = save_context_model(tmp_path / "context.pt")
    paths = []
    for f in range(3):
        path = tmp_path / f"doc{f}.txt"
        path.write_text(documents_text(blocks=3 + f), encoding="utf-8")
        paths.append(path)
    outputs = tag_files(cluster, paths, model, tmp_path / "out", output_format="jsonl")
    for path, output in zip(paths, outputs):
        assert output.read_bytes() == _expected(path, model, output_format="jsonl").encode("utf-8")


@pytest.mark.slow
def test_an_exported_model_is_loaded_once_per_worker_and_torch_never_imported(onnx_model, trained_model, tmp_path):
    """A cluster of its own (the module's has tagged with torch models): its workers tag with onnxruntime."""
    distributed = pytest.importorskip("distributed")
    from tagger.tagging.dask import loads, tag_files

    paths = _corpus(tmp_path, 4, 30)
    found: dict = {}
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=50
        ) as local,
        distributed.Client(local, timeout="60s") as client,
    ):
        out = tmp_path / "out"
        runner = threading.Thread(
            target=lambda: found.update(out=tag_files(client, paths, onnx_model, out, output_format="jsonl"))
        )
        runner.start()
        runner.join(120)
        assert not runner.is_alive(), "tagging on the cluster took over 2 minutes"
        torch_imported = client.run(eval, "'torch' in __import__('sys').modules", wait=True)
        onnxruntime_imported = client.run(eval, "'onnxruntime' in __import__('sys').modules", wait=True)
        read = client.run(loads)
    assert len(torch_imported) == 2 and not any(torch_imported.values()), torch_imported
    assert sum(onnxruntime_imported.values()) >= 1 and sum(read.values()) >= 1 and max(read.values()) == 1
    for path, output in zip(paths, found["out"]):
        expected = _expected(path, onnx_model, output_format="jsonl")
        assert output.read_bytes() == expected.encode("utf-8")
        assert expected == _expected(path, trained_model, output_format="jsonl")
