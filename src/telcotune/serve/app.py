"""The HTTP app: the OpenAI-compatible API under /v1, the chat page at /, /health.

Every error answers in OpenAI's format, `{"error": {"message", "type", "code", "param"}}`, so
OpenAI clients show the message. /v1 needs the API key when one is configured; the page and
/health stay open (the page asks for the key and sends it).
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, PlainTextResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from .body_limit import BodyLimit
from .engine import ChatEngine
from .errors import Busy, RequestRejected
from .gates import ApiKeyGate, HostCheck
from .jobs import DONE, ERROR, TEXT, ReplyJob
from .limits import Slots
from .metrics import CONTENT_TYPE, RequestMetrics, ServeMetrics
from .schema import (
    ChatRequest, ReplyIds, chunk, completion, error_body, finish_reason, rejection_body, usage_chunk,
)

STATIC = Path(__file__).parent / "static"
# The page loads nothing from elsewhere and is never framed: a strict policy costs nothing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; base-uri 'none'; "
                               "form-action 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}
LOOPBACK_HOSTS = ["127.0.0.1", "localhost", "[::1]", "::1"]
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
log = logging.getLogger("telcotune.serve")


def create_app(engine: ChatEngine, *, api_key: str | None = None, allowed_hosts: list[str] | None = None) -> FastAPI:
    """`allowed_hosts`: Host header values to accept (None: any). A loopback server should pass
    `LOOPBACK_HOSTS`, so a web page whose domain re-resolves to 127.0.0.1 (DNS rebinding)
    cannot use it from the user's browser."""
    app = FastAPI(title="telcotune", docs_url=None, redoc_url=None, openapi_url=None)
    # The last added runs first: Host, then the key, then the body size, then the app.
    app.add_middleware(BodyLimit, max_bytes=engine.limits.max_body_bytes)
    if api_key:
        app.add_middleware(ApiKeyGate, api_key=api_key)
    if allowed_hosts:
        app.add_middleware(HostCheck, allowed_hosts=allowed_hosts)
    app.state.engine = engine
    app.state.slots = slots = Slots(engine.limits.concurrency)
    app.state.metrics = metrics = ServeMetrics({
        "telcotune_batch_rows": ("Replies decoding in the running batch.", lambda: engine.batcher.running),
        "telcotune_requests_in_progress": ("Requests holding a slot (decoding or waiting).",
                                           lambda: slots.size - slots.free),
    })
    app.add_middleware(RequestMetrics, metrics=metrics)  # outermost: it sees every refusal too
    _add_error_handlers(app)
    app.include_router(_api_router(engine, slots, metrics), prefix="/v1")
    app.include_router(_open_router(slots, api_key, metrics))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _api_router(engine: ChatEngine, slots: Slots, metrics: ServeMetrics) -> APIRouter:
    router = APIRouter()
    started = int(time.time())

    @router.get("/models")
    async def models() -> dict[str, Any]:
        names = [engine.default_model, *(n for n in engine.names if n != engine.default_model)]
        return {"object": "list", "data": [{"id": n, "object": "model", "created": started, "owned_by": "telcotune"}
                                           for n in names]}

    @router.post("/chat/completions")
    async def chat_completions(request: ChatRequest, http: Request):
        request.check_supported()
        decoding = request.decoding(engine.decoding)
        prepared = engine.prepare(request.model, request.plain_messages(), request.new_tokens())
        slot = slots.try_acquire()
        if slot is None:
            metrics.rejection()
            raise Busy(f"the server is busy ({slots.size} requests in progress); retry shortly")
        try:
            job = ReplyJob(engine, prepared, slot, decoding=decoding, seed=_seed(request, decoding.temperature),
                           stop=request.stop_strings(), metrics=metrics).start()
        except BaseException:
            slot.release()
            raise
        ids = ReplyIds(request.model)
        if request.stream:
            return StreamingResponse(_sse(job, ids, request.include_usage()), media_type="text/event-stream",
                                     headers=SSE_HEADERS)
        return await _collect(job, ids, http)

    return router


def _seed(request: ChatRequest, temperature: float) -> int:
    if request.seed is not None:
        return request.seed
    return secrets.randbelow(2**31) if temperature > 0 else 0


async def _collect(job: ReplyJob, ids: ReplyIds, http: Request) -> dict[str, Any]:
    # Nothing is sent until the reply is whole, so only the connection tells that the client
    # left: a watcher cancels the job, which stops at the next token and frees its slot.
    watcher = asyncio.create_task(_cancel_on_disconnect(http, job))
    try:
        async for kind, value in job.events():
            if kind == DONE:
                return completion(ids, value)
            if kind == ERROR:
                raise value
    finally:
        watcher.cancel()
    raise RuntimeError("reply ended without a result")


async def _cancel_on_disconnect(http: Request, job: ReplyJob) -> None:
    # The body has been read, so the next ASGI message is the disconnect.
    while (await http.receive())["type"] != "http.disconnect":
        pass
    job.cancelled.set()


def _data(obj: Any) -> str:
    return f"data: {json.dumps(obj, ensure_ascii=False, separators=(',', ':'))}\n\n"


async def _sse(job: ReplyJob, ids: ReplyIds, include_usage: bool) -> AsyncIterator[str]:
    yield _data(chunk(ids, {"role": "assistant", "content": ""}))
    async for kind, value in job.events():
        if kind == TEXT:
            yield _data(chunk(ids, {"content": value}))
        elif kind == DONE:
            yield _data(chunk(ids, {}, finish_reason(value)))
            if include_usage:
                yield _data(usage_chunk(ids, value))
            yield "data: [DONE]\n\n"
        elif kind == ERROR:
            log.error("generation failed", exc_info=value)
            yield _data(error_body("generation failed; see the server log", "server_error", "internal_error"))


def _open_router(slots: Slots, api_key: str | None, metrics: ServeMetrics) -> APIRouter:
    router = APIRouter()

    @router.get("/metrics", include_in_schema=False)
    async def prometheus() -> PlainTextResponse:
        return PlainTextResponse(metrics.render(), media_type=CONTENT_TYPE)

    @router.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    @router.get("/health")
    async def health() -> dict[str, Any]:
        # No model names here: with a key configured, what is served is for key holders.
        return {"status": "ok", "auth_required": bool(api_key), "slots": slots.size, "free_slots": slots.free}

    return router


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestRejected)
    async def rejected(_: Request, exc: RequestRejected) -> JSONResponse:
        return JSONResponse(rejection_body(exc), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(error_body(_validation_message(exc), "invalid_request_error", "invalid_request",
                                       _validation_param(exc)), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "request_too_large"}.get(exc.status_code)
        return JSONResponse(error_body(str(exc.detail), "invalid_request_error", code), status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", exc_info=exc)
        return JSONResponse(error_body("internal error; see the server log", "server_error", "internal_error"),
                            status_code=500)


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for error in exc.errors()[:5]:
        where = ".".join(str(p) for p in error.get("loc", ())[1:]) or "body"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


def _validation_param(exc: RequestValidationError) -> str | None:
    errors = exc.errors()
    loc = errors[0].get("loc", ()) if errors else ()
    return str(loc[1]) if len(loc) > 1 else None
