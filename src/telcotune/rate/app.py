"""The rating app: the page at /, its JSON API under /api, /health.

- `POST /api/join {name}`: start or resume as this rater; answers the session view (progress
  and the item to rate now, see views.py).
- `POST /api/rate {rater, item, verdict | scores, comment}`: rate the item shown; answers the
  next view.
- `POST /api/undo {rater}`: delete the rater's last rating and show its item again.

Errors answer `{"error": {"message", "type", "code", "param"}}` as the `serve` API does. With an
access key configured, /api needs `Authorization: Bearer <key>`; the page and /health stay open.
Handlers are plain functions, run on the server's thread pool: each store call opens its own
SQLite connection, so concurrent raters never share one.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.middleware.trustedhost import TrustedHostMiddleware

from ..serve.app import PAGE_HEADERS
from ..serve.auth import check_bearer
from ..serve.body_limit import BodyLimit
from ..serve.errors import RequestRejected
from ..serve.schema import error_body, rejection_body
from .pool import Protocol
from .records import MAX_COMMENT_CHARS, RatingError, Response
from .store import MAX_NAME_CHARS, RatingStore
from .study import AnswerBook
from .views import session_view

STATIC = Path(__file__).parent / "static"
MAX_BODY_BYTES = 64_000
log = logging.getLogger("telcotune.rate")


@dataclass(frozen=True)
class RatingSession:
    store: RatingStore
    book: AnswerBook
    protocol: Protocol
    per_rater: int
    """Ratings asked of each rater."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class JoinRequest(_Strict):
    name: str = Field(max_length=4 * MAX_NAME_CHARS)


class RaterRequest(_Strict):
    rater: str = Field(max_length=4 * MAX_NAME_CHARS)


class RateRequest(RaterRequest):
    item: str = Field(max_length=64)
    verdict: Literal["A", "B", "tie", "both_bad"] | None = None
    scores: dict[str, float] = Field(default_factory=dict, max_length=16)
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)


def create_app(session: RatingSession, *, api_key: str | None = None,
               allowed_hosts: list[str] | None = None) -> FastAPI:
    """`allowed_hosts` as in serve.app.create_app: pass LOOPBACK_HOSTS on a loopback server."""
    app = FastAPI(title="telcotune rating", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(BodyLimit, max_bytes=MAX_BODY_BYTES)
    if allowed_hosts:
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=allowed_hosts)
    _add_error_handlers(app)
    app.include_router(_api_router(session, api_key), prefix="/api")
    app.include_router(_open_router(session, api_key))
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app


def _api_router(session: RatingSession, api_key: str | None) -> APIRouter:
    async def authorize(authorization: Annotated[str | None, Header()] = None) -> None:
        if api_key:
            check_bearer(authorization, api_key)

    router = APIRouter(dependencies=[Depends(authorize)])
    store, protocol = session.store, session.protocol

    def view(rater, undone=None) -> dict[str, Any]:
        item = store.next_item(rater, protocol, session.per_rater)
        progress = store.progress(rater, protocol, session.per_rater)
        return session_view(rater, protocol, progress, item, session.book, undone)

    @router.post("/join")
    def join(request: JoinRequest) -> dict[str, Any]:
        return view(store.join(request.name))

    @router.post("/rate")
    def rate(request: RateRequest) -> dict[str, Any]:
        rater = store.rater(request.rater)
        store.rate(rater, request.item, Response(request.verdict, dict(request.scores), request.comment))
        return view(rater)

    @router.post("/undo")
    def undo(request: RaterRequest) -> dict[str, Any]:
        rater = store.rater(request.rater)
        return view(rater, store.undo(rater, protocol))

    return router


def _open_router(session: RatingSession, api_key: str | None) -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html", headers=PAGE_HEADERS)

    @router.get("/health")
    async def health() -> dict[str, Any]:
        return {"status": "ok", "auth_required": bool(api_key), "protocol": session.protocol,
                "per_rater": session.per_rater}

    return router


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RatingError)
    async def rejected_rating(_: Request, exc: RatingError) -> JSONResponse:
        return JSONResponse(error_body(str(exc), "invalid_request_error", exc.code), status_code=exc.status)

    @app.exception_handler(RequestRejected)
    async def rejected(_: Request, exc: RequestRejected) -> JSONResponse:
        return JSONResponse(rejection_body(exc), status_code=exc.status)

    @app.exception_handler(RequestValidationError)
    async def invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ())[1:]) or "body"
        return JSONResponse(error_body(f"{where}: {first.get('msg', 'invalid')}", "invalid_request_error",
                                       "invalid_request", where), status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(error_body(str(exc.detail), "invalid_request_error", None), status_code=exc.status_code)

    @app.exception_handler(Exception)
    async def crashed(_: Request, exc: Exception) -> JSONResponse:
        log.error("request failed", exc_info=exc)
        return JSONResponse(error_body("internal error; see the server log", "server_error", "internal_error"),
                            status_code=500)
