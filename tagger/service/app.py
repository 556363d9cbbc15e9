"""The ASGI app of ``tagger serve``: its routes (``ROUTES``), its errors and its metrics.

Every refusal is a one-line JSON ``{"error": ...}`` with its status; only a bug gives a 500. The model loads in
a thread as the app starts: ``/health`` answers meanwhile, ``/ready`` and ``/tag`` say 503.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from tagger.service import page as pages
from tagger.service.batcher import Batcher
from tagger.service.model import Job, record
from tagger.service.openapi import SCHEMA
from tagger.service.requests import Limits, RequestError, parse, text_job

logger = logging.getLogger("tagger.service")

ROUTES = ("/", "/tag", "/health", "/ready", "/info", "/metrics", "/openapi.json")
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.2, 0.5, 1.0, 2.5, 5.0, 10.0)
SIZE_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048)


class Metrics:
    """The request counter and latency histogram (a pure ASGI wrapper: streaming is left alone)."""

    def __init__(self, app, registry: CollectorRegistry):
        self.app = app
        self.requests = Counter(
            "tagger_requests", "HTTP requests answered", ["method", "path", "status"], registry=registry
        )
        self.latency = Histogram(
            "tagger_request_seconds", "Time to answer a request", ["path"], registry=registry, buckets=LATENCY_BUCKETS
        )

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started, status = time.perf_counter(), [500]

        async def sent(message):
            if message["type"] == "http.response.start":
                status[0] = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, sent)
        finally:
            path = scope["path"] if scope["path"] in ROUTES else "other"  # no label per unknown path
            self.requests.labels(scope["method"], path, str(status[0])).inc()
            self.latency.labels(path).observe(time.perf_counter() - started)


class Service:
    """The app's state: the model (once loaded), its batcher, the limits, and what ``/info`` shows."""

    def __init__(self, model, info: dict | None, limits: Limits, max_wait: float, registry: CollectorRegistry):
        self.model = model if not callable(model) or hasattr(model, "tag") else None
        self.loader = model if self.model is None else None
        self.info = info or {}
        self.limits = limits
        self.max_wait = max_wait
        self.registry = registry
        self.batches = Histogram(
            "tagger_batch_requests", "Requests per batch of the network", registry=registry, buckets=SIZE_BUCKETS
        )
        self.lines = Histogram(
            "tagger_batch_lines", "Input lines (texts) or sentences per batch", registry=registry, buckets=SIZE_BUCKETS
        )
        self.batcher: Batcher | None = None
        self._loading: asyncio.Task | None = None
        self.stopping = False
        self.error = ""

    def on_batch(self, requests: int, lines: int) -> None:
        self.batches.observe(requests)
        self.lines.observe(lines)

    async def start(self) -> None:
        """Start the batcher; with a loader, load the model in a thread first, while the server already answers."""
        if self.model is not None:
            await self._begin()
        else:
            self._loading = asyncio.get_running_loop().create_task(self._load())

    async def _load(self) -> None:
        try:
            self.model = await asyncio.to_thread(self.loader)
        except Exception as error:  # the command checked the file; this is rarer (out of memory, say)
            self.error = f"the model could not be loaded: {type(error).__name__}: {error}"
            logger.error(self.error)
            return
        logger.info("model loaded: ready")
        await self._begin()

    async def _begin(self) -> None:
        batcher = Batcher(self.model, max_wait=self.max_wait, on_batch=self.on_batch)
        await batcher.start()
        self.batcher = batcher

    async def stop(self) -> None:
        self.stopping = True
        if self.batcher is not None:
            await self.batcher.stop()

    @property
    def ready(self) -> bool:
        return self.batcher is not None and not self.stopping

    async def tag(self, job: Job):
        if not self.ready:
            why = "the server is stopping" if self.stopping else self.error or "the model is not loaded yet"
            raise RequestError(503, why)
        return await self.batcher.submit(job)


def _error(status: int, message: str, close: bool = False) -> JSONResponse:
    headers = {"connection": "close"} if close else None  # a body left unread must not be read as a request
    return JSONResponse({"error": message}, status_code=status, headers=headers)


async def _body(request: Request, limits: Limits) -> bytes:
    """The request's body, read within ``limits.body_seconds`` and refused past ``limits.body_bytes``."""
    length = request.headers.get("content-length")
    if length is not None and (not length.isdigit() or int(length) > limits.body_bytes):
        if not length.isdigit():
            raise RequestError(400, f"Content-Length is not a number: {length[:40]!r}")
        raise RequestError(413, f"the body has {length} bytes; at most {limits.body_bytes}")
    chunks, size = [], 0

    async def read() -> None:
        nonlocal size
        async for chunk in request.stream():
            size += len(chunk)
            if size > limits.body_bytes:
                raise RequestError(413, f"the body has more than {limits.body_bytes} bytes")
            chunks.append(chunk)

    try:
        await asyncio.wait_for(read(), limits.body_seconds)
    except asyncio.TimeoutError:
        raise RequestError(408, f"the body did not come within {limits.body_seconds:g} s") from None
    return b"".join(chunks)


async def _tag(request: Request) -> Response:
    service: Service = request.app.state.service
    job = parse(await _body(request, service.limits), service.limits)
    answer = await service.tag(job)
    options = job.options
    texts = [{"sentences": [record(s, options) for s in sentences]} for sentences in answer]
    return JSONResponse(texts[0] if job.kind != "texts" else {"results": texts})


async def _page(request: Request) -> Response:
    service: Service = request.app.state.service
    types = service.model.types if service.model is not None and hasattr(service.model, "types") else []
    if request.method == "POST":
        try:
            text = pages.form_text(await _body(request, service.limits))
        except (UnicodeDecodeError, ValueError):
            raise RequestError(400, "the form is not one UTF-8 text field") from None
    else:
        text = request.query_params.get("text")
    if not text:
        return HTMLResponse(pages.page(types))
    try:
        job = text_job(text, service.limits)
    except RequestError as e:
        return HTMLResponse(pages.page(types, text, error=str(e)), status_code=e.status)
    (sentences,) = await service.tag(job)
    return HTMLResponse(pages.page(types, text, sentences))


async def _health(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def _ready(request: Request) -> Response:
    service: Service = request.app.state.service
    if not service.ready:
        found = {"ready": False, "stopping": service.stopping} | ({"error": service.error} if service.error else {})
        return JSONResponse(found, status_code=503)
    describe = getattr(service.model, "describe", dict)
    return JSONResponse({"ready": True, **describe()})


async def _info(request: Request) -> Response:
    return JSONResponse(request.app.state.service.info)


async def _metrics(request: Request) -> Response:
    return Response(generate_latest(request.app.state.service.registry), media_type=CONTENT_TYPE_LATEST)


async def _openapi(request: Request) -> Response:
    return JSONResponse(SCHEMA)


async def _refused(request: Request, error: RequestError) -> Response:
    return _error(error.status, str(error), close=error.status in (408, 413))


async def _http_error(request: Request, error: HTTPException) -> Response:
    return _error(error.status_code, error.detail if isinstance(error.detail, str) else "refused")


async def _gone(request: Request, error: ClientDisconnect) -> Response:
    return _error(400, "the client left before sending the whole body", close=True)


async def _bug(request: Request, error: Exception) -> Response:
    logger.error("internal error answering %s %s", request.method, request.url.path, exc_info=error)
    return _error(500, f"internal error: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}")


def create_app(
    model: object | Callable[[], object],
    info: dict | None = None,
    limits: Limits = Limits(),
    max_wait: float = 0.002,
) -> Starlette:
    """The app over ``model`` (an object with ``tag(jobs)``, or a function that loads one when the app
    starts); ``info`` is what ``/info`` shows; ``max_wait`` is the batcher's (seconds)."""
    registry = CollectorRegistry()
    service = Service(model, info, limits, max_wait, registry)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        await service.start()
        try:
            yield
        finally:
            await service.stop()

    routes = [
        Route("/", _page, methods=["GET", "POST"]),
        Route("/tag", _tag, methods=["POST"]),
        Route("/health", _health),
        Route("/ready", _ready),
        Route("/info", _info),
        Route("/metrics", _metrics),
        Route("/openapi.json", _openapi),
    ]
    handlers = {RequestError: _refused, HTTPException: _http_error, ClientDisconnect: _gone, Exception: _bug}
    app = Starlette(
        routes=routes,
        middleware=[Middleware(Metrics, registry=registry)],
        exception_handlers=handlers,
        lifespan=lifespan,
    )
    app.state.service = service
    return app
