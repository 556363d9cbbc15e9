"""Imported once by the --jobs fork server (``jobs._open_context``): what every worker needs, then frozen.

The workers forked from it share these pages (torch alone is ~150 MB of a process) instead of each importing
its own copy. Nothing here runs a torch operation: the server holds no torch threads, so forking it is safe."""

import gc

import torch  # noqa: F401

import tagger.data.inputs
import tagger.nn.model_file
import tagger.nn.runtime
import tagger.tagging.jobs
import tagger.tagging.predictor
import tagger.tagging.writer  # noqa: F401

gc.freeze()  # the imported objects are never collected: the workers' garbage collector leaves their pages shared
