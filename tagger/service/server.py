"""Running the app under uvicorn: its limits, its time-outs, and how it stops.

- A connection that sends no complete request head within ``HEAD_SECONDS`` (idle after connecting, or
  trickling its headers) is closed; between requests uvicorn's keep-alive time-out (``KEEP_ALIVE``) closes
  an idle one; a body has ``Limits.body_seconds`` to come (408 after). Past ``CONCURRENCY`` connections or
  requests at once the server answers 503 at once rather than queue without end.
- A request answered before its body has all come (413 for a body over the limit, 408, 503) is closed
  lingeringly, as nginx closes it: the answer is sent and the writing side shut, and what the client still
  sends is read and dropped until it closes, ``LINGER_BYTES`` or ``LINGER_SECONDS``. Closed at once, the
  kernel would reset the connection over the unread body, and a client that sends its whole body before it
  reads (Python's http.client, requests) would see "connection reset" or "broken pipe", not the answer.
- SIGTERM or Ctrl-C: the server stops accepting, lets the requests in flight finish for at most
  ``DRAIN_SECONDS``, then the batcher answers what it holds and the process exits 0: within
  ``DRAIN_SECONDS`` plus the longest batch (well under 15 s in all).
"""

from __future__ import annotations

import contextlib
import logging

import uvicorn
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from tagger.training.interrupts import handled

HEAD_SECONDS = 10.0
LINGER_SECONDS = 10.0  # at most, reading and dropping a refused body (nginx: lingering_time, 30 s)
LINGER_BYTES = 64 << 20  # at most, of a refused body read and dropped (a 20 MB post gets its 413)
KEEP_ALIVE = 5
CONCURRENCY = 1000
DRAIN_SECONDS = 10
BACKLOG = 2048


class GuardedProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol, with a deadline for the head of each request (uvicorn itself times out
    only the wait between requests, so a client that connects and sends nothing, or a byte at a time,
    would hold its connection forever), and the lingering close of the module's list."""

    head_seconds = HEAD_SECONDS
    linger_seconds = LINGER_SECONDS
    linger_bytes = LINGER_BYTES

    def connection_made(self, transport) -> None:
        self._socket, self._linger_timer, self._dropped = transport, None, 0
        super().connection_made(_LingeringTransport(transport, self))  # uvicorn's close() comes to close_softly
        self._head_timer = None
        self._await_head()

    @property
    def lingering(self) -> bool:
        return self._linger_timer is not None

    def close_softly(self) -> None:
        """uvicorn's close of the connection: at once, unless the request's body is still coming (then linger)."""
        transport = self._socket
        if self.lingering or transport.is_closing():
            return
        if self.cycle is None or not self.cycle.more_body or not transport.can_write_eof():
            transport.close()
            return
        self._linger_timer = self.loop.call_later(self.linger_seconds, transport.close)
        self.flow.resume_reading()  # uvicorn stops reading a body the app does not take
        transport.write_eof()  # after the answer: the client reads its end, and closes once it has sent its body

    def data_received(self, data: bytes) -> None:
        if not self.lingering:
            super().data_received(data)
            return
        self._dropped += len(data)
        if self._dropped > self.linger_bytes:
            self._socket.close()

    def shutdown(self) -> None:
        if self.lingering:  # the server stops: a refused body is not waited for
            self._socket.close()
            return
        super().shutdown()

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
        for timer in (self._head_timer, self._linger_timer):
            if timer is not None:
                timer.cancel()
        self._head_timer = None
        super().connection_lost(exc)


class _LingeringTransport:
    """A connection's transport as uvicorn sees it: its ``close`` is ``GuardedProtocol.close_softly``, and a
    lingering connection is closing (uvicorn then starts no further request on it)."""

    def __init__(self, transport, protocol: GuardedProtocol):
        self._transport, self._protocol = transport, protocol

    def close(self) -> None:
        self._protocol.close_softly()

    def is_closing(self) -> bool:
        return self._protocol.lingering or self._transport.is_closing()

    def __getattr__(self, name: str):
        return getattr(self._transport, name)


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
        with handled(self.handle_exit):
            yield


def serve(app, host: str, port: int, access_log: bool = True, **options) -> bool:
    """Serve ``app`` until SIGTERM or Ctrl-C; returns whether it started (False: the port was taken, say)."""
    server = Server(config(app, host, port, access_log, **options))
    try:
        server.run()
    except SystemExit:  # uvicorn could not start (it said why): the port is taken, say
        return False
    return server.started
