"""Tagging a corpus of many files on a Dask cluster (``pip install -c constraints.txt -e ".[dask]"``).

Each input file is one task, tagged by ``files.tag_file`` as ``tagger tag FILE`` tags it, into a temporary file
renamed into place when complete. Each worker process loads a model file once.

    from dask.distributed import Client
    from tagger.tagging.dask import tag_files

    client = Client("scheduler:8786")  # or Client(LocalCluster(...))
    outputs = tag_files(client, sorted(Path("news").glob("*.txt")), "model.pt", "tagged/", input_kind="text")

Workers need the tagger, and the model file at a path each can read.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterable
from pathlib import Path

from tagger.errors import DataError
from tagger.tagging.files import tag_file
from tagger.tagging.model import model_files, open_model
from tagger.tagging.options import TagOptions
from tagger.tagging.outputs import output_paths  # the one naming rule of an output per input (tagger tag -o DIR/ too)

__all__ = ["output_paths", "tag_files"]

_MODELS: dict[tuple, object] = {}  # in a worker process: loaded models by (path, device, modification time)
_MODELS_LOCK = threading.Lock()


def tag_files(
    client, paths: Iterable[str | Path], model_path: str | Path, out_dir: str | Path, **tag_options
) -> list[Path]:
    """Tag each file in ``paths`` on ``client``'s cluster into ``out_dir``; returns the outputs in input order.
    ``tag_options`` are ``TagOptions``' fields (``input_kind``, ``output_format``, ``batch_size``, ...); an error
    in a file is raised here."""
    paths = [Path(p) for p in paths]
    missing = [str(p) for p in paths if not p.is_file()]
    if missing:
        raise DataError(f"no such file: {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    # A Dask worker process is a daemon and may not start processes of its own: read and tag in the task's process.
    options = TagOptions(**{"workers": 0, "jobs": 1, **tag_options})
    outputs = output_paths(paths, out_dir, options.output_format)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    model = str(Path(model_files(model_path)).resolve())  # a shipped model's name, as tagger tag -m NAME reads it
    futures = client.map(
        tag_one,
        [str(p.resolve()) for p in paths],
        [str(o.resolve()) for o in outputs],
        model_path=model,
        options=options,
        pure=False,  # a retried or repeated call must run again, not reuse a result
    )
    try:
        client.gather(futures)  # raises the first task's error, if any
    finally:
        for target in outputs:  # what attempts killed mid-write left (a finished attempt renamed its own)
            for stale in target.parent.glob(f".{target.name}.*.tmp"):
                stale.unlink(missing_ok=True)
    return outputs


def tag_one(path: str, out_path: str, model_path: str, options: TagOptions) -> int:
    """Tag one file into ``out_path`` (written whole or not at all); returns the sentence count."""
    loaded = _cached_load(model_path, options.device, options.threads)  # read once per worker process
    target = Path(out_path)
    temporary = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
    try:
        with temporary.open("w", encoding="utf-8", newline="") as out:
            count = tag_file(path, out, model_path, options, loaded=loaded)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return count


def _cached_load(path: str | Path, device: str = "cpu", threads: int = 0):
    """``model.open_model`` once per model file and device in this process."""
    try:
        key = (str(Path(path).resolve()), str(device), Path(path).stat().st_mtime_ns)
    except OSError:
        return open_model(path, device, threads)  # its one-line error names the problem
    with _MODELS_LOCK:
        loaded = _MODELS.get(key)
        if loaded is None:
            loaded = _MODELS[key] = open_model(path, device, threads)
    return loaded


def loads() -> int:
    """How many model files this process has read (``client.run(tagger.tagging.dask.loads)`` asks each worker)."""
    return len(_MODELS)  # each file read is kept, and none is dropped
