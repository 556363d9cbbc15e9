"""Imported once by the --jobs fork server (``jobs._context``): what every worker needs, then frozen.

The fork server first imports the modules of the model's kind (``job_worker.PRELOAD``: torch, the torch backend and the
predictor; ``job_worker.PRELOAD_EXPORTED``: onnxruntime, its backend and the predictor, no torch), then this module: the
workers forked from it share those pages (torch alone is ~150 MB of a process) instead of each importing its own
copy. Nothing here runs a torch operation or makes an onnxruntime session: the server holds no threads of
theirs, so forking it is safe."""

import gc

import tagger.data.inputs
import tagger.data.pool
import tagger.tagging.job_worker
import tagger.tagging.stream
import tagger.tagging.writer  # noqa: F401

gc.freeze()  # the imported objects are never collected: the workers' garbage collector leaves their pages shared
