"""tagger.tagging.job_worker: a --jobs worker's predictor and its errors."""

from __future__ import annotations

import os

import pytest


@pytest.mark.parametrize(("threads", "session"), [(0, 1), (1, 1), (2, 2)])
def test_an_exported_models_worker_runs_one_onnxruntime_thread_unless_told(onnx_model, monkeypatch, threads, session):
    """``--threads`` reaches each worker's onnxruntime session; 0 (the default) is one thread a worker (the
    workers are the parallelism), not $TAGGER_THREADS."""
    from tagger.runtime import model as runtime_model
    from tagger.tagging import job_worker

    asked = []
    real = runtime_model.load_onnx
    monkeypatch.setattr(runtime_model, "load_onnx", lambda path, threads: asked.append(threads) or real(path, 1))
    monkeypatch.setattr(os, "cpu_count", lambda: 4)
    monkeypatch.setenv("TAGGER_THREADS", "3")
    predictor = job_worker._predictor(str(onnx_model), 8, "cpu", threads)
    assert asked == [session]
    assert type(predictor.model.network).__name__ == "OnnxModel"


def test_an_error_loading_the_model_is_raised_by_the_first_window(tmp_path, monkeypatch):
    """The pool's initializer loads the model; its error goes to the parent with the first result (an error
    raised by an initializer would only break the pool)."""
    from tagger.errors import ModelFileError
    from tagger.tagging import job_worker

    monkeypatch.setattr(job_worker, "_tag", None)
    job_worker.start((str(tmp_path / "none.onnx"), 8, "cpu", "conll", 0))
    with pytest.raises(ModelFileError, match="none.onnx"):
        job_worker.tag_window(b"John lives in Paris.\n", "text", 0, True)


def test_an_error_not_the_taggers_goes_to_the_parent_as_one_line_with_the_workers_pid(monkeypatch):
    import pickle

    from tagger.tagging import job_worker

    def fails(*task):
        raise ValueError("bad window\nmore")

    monkeypatch.setattr(job_worker, "_tag", fails)
    with pytest.raises(job_worker.Failed) as info:
        job_worker.tag_window(b"x\n", "text", 0, True)
    sent = pickle.loads(pickle.dumps(info.value))  # as the pool sends it to the parent
    assert (sent.pid, sent.line) == (os.getpid(), "ValueError: bad window")
