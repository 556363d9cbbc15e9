"""Running the app under uvicorn: its limits, its time-outs, and how it stops.

- A connection that sends no complete request head within ``HEAD_SECONDS`` (idle after connecting, or
  trickling its headers) is closed; between requests uvicorn's keep-alive time-out (``KEEP_ALIVE``) closes
  an idle one; a body has ``Limits.body_seconds`` to come (408 after). Past ``CONCURRENCY`` connections or
  requests at once the server answers 503 at once rather than queue without end.
- SIGTERM or Ctrl-C: the server stops accepting, lets the requests in flight finish for at most
  ``DRAIN_SECONDS``, then the batcher answers what it holds and the process exits 0: within
  ``DRAIN_SECONDS`` plus the longest batch (well under 15 s in all).
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

HEAD_SECONDS = 10.0
KEEP_ALIVE = 5
CONCURRENCY = 1000
DRAIN_SECONDS = 10
BACKLOG = 2048


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline for the head of each request: uvicorn itself times out
    only the wait between requests, so a client that connects and sends nothing (or a byte at a time)
    would hold its connection forever."""

    head_seconds = HEAD_SECONDS

    def connection_made(self, transport) -> None:
        super().connection_made(transport)
        self._head_timer = None
        self._await_head()

    def _await_head(self) -> None:
        if self._head_timer is None:
            self._head_timer = self.loop.call_later(self.head_seconds, self._head_too_slow)

    def _head_too_slow(self) -> None:
        self._head_timer = None
        if self.cycle is None or self.cycle.response_complete:  # never cut a response short
            if not self.transport.is_closing():
                self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._await_head()

    def on_headers_complete(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().on_headers_complete()

    def connection_lost(self, exc) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None
        super().connection_lost(exc)


def config(app, host: str, port: int, access_log: bool = True, **options) -> uvicorn.Config:
    """The uvicorn settings of ``tagger serve`` (``options`` override them: tests shorten the time-outs)."""
    settings = dict(
        host=host,
        port=port,
        http=GuardedProtocol,
        loop="auto",  # uvloop where it is installed
        lifespan="on",
        access_log=access_log,
        timeout_keep_alive=KEEP_ALIVE,
        timeout_graceful_shutdown=DRAIN_SECONDS,
        limit_concurrency=CONCURRENCY,
        backlog=BACKLOG,
        server_header=False,
        log_level=logging.INFO,
    )
    settings.update(options)
    return uvicorn.Config(app, **settings)


class Server(uvicorn.Server):
    """uvicorn's server, but a SIGTERM or Ctrl-C that stopped it cleanly ends the process with status 0:
    uvicorn raises the signal again once it has stopped, which would end it with 143 or 130."""

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def serve(app, host: str, port: int, access_log: bool = True, **options) -> bool:
    """Serve ``app`` until SIGTERM or Ctrl-C; returns whether it started (False: the port was taken, say)."""
    server = Server(config(app, host, port, access_log, **options))
    try:
        server.run()
    except SystemExit:  # uvicorn could not start (it said why): the port is taken, say
        return False
    return server.started
