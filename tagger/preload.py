"""Imported once by the --jobs fork server (``parallel._open_context``): what every worker needs, then frozen.

The workers forked from it share these pages (torch alone is ~150 MB of a process) instead of each importing
its own copy. Nothing here runs a torch operation: the server holds no torch threads, so forking it is safe."""

import gc

import torch  # noqa: F401

from . import model_file, parallel, runtime, tagging, windows, writer  # noqa: F401

gc.freeze()  # the imported objects are never collected: the workers' garbage collector leaves their pages shared
