"""``tagger serve``: the model behind HTTP (``tagger.service``, which needs the ``serve`` extra).

The model is chosen as ``tagger tag`` chooses it, when the server starts. The service is imported only when
the command runs; without the extra the command says in one line what to install (status 2).
"""

from __future__ import annotations

from typing import Annotated

from tagger.cli.exit_status import err
from tagger.cli.options import BatchSize, ModelPaths, Threads, at_least, between, model_paths, option
from tagger.errors import MissingExtra, TaggerError
from tagger.tagging.options import TagOptions


def serve(
    model: ModelPaths = None,
    host: Annotated[str, option(help="Address to listen on (127.0.0.1: this machine only).")] = "127.0.0.1",
    port: Annotated[int, option(help="Port to listen on.", rules=[between(1, 65535)])] = 8000,
    threads: Threads = TagOptions.threads,
    batch_size: BatchSize = TagOptions.batch_size,
    max_wait: Annotated[
        float,
        option(
            "--max-wait-ms", help="Milliseconds a request waits for others to share its batch.", rules=[at_least(0)]
        ),
    ] = 2.0,
    access_log: Annotated[bool, option(help="Log each request on stdout (uvicorn's access log).")] = True,
) -> None:
    """Serve the model over HTTP: POST /tag, a page at /, /health, /ready, /info, /metrics, /openapi.json.

    Requests that arrive together are tagged in one batch, by one thread. SIGTERM or Ctrl-C stops
    taking requests, finishes those in flight (10 s at most) and exits 0.
    """
    try:
        from tagger.service.app import create_app
        from tagger.service.server import serve as run_server
    except ImportError:
        what = " (Starlette, uvicorn, prometheus-client)"
        raise MissingExtra("tagger serve needs the serve extra", "serve", note=what) from None
    from tagger.service.model import load
    from tagger.tagging.info import model_info

    paths = model_paths(model)
    info = model_info(paths[0]) if len(paths) == 1 else {"ensemble": [model_info(p) for p in paths]}
    service = create_app(lambda: load(paths, threads, batch_size), info=info, max_wait=max_wait / 1000)
    if not run_server(service, host, port, access_log=access_log):
        raise TaggerError(f"cannot serve on {host}:{port} (see the line above)")
    err("tagger: server stopped")
