"""Checks that answer before the app sees a request: the Host header (DNS rebinding) and the
API key of /v1, both in OpenAI's JSON error format.

They are ASGI middleware rather than FastAPI dependencies because FastAPI parses the body before
it runs dependencies: a client without the key must get 401, not a 422 about its JSON.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from .auth import check_bearer
from .errors import RequestRejected
from .schema import error_body, rejection_body

API_PREFIX = "/v1"


class HostCheck:
    """Only `allowed_hosts` (Host header without its port) may talk to the app."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]):
        self.app, self.allowed = app, set(allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and _host(Headers(scope=scope).get("host", "")) not in self.allowed:
            body = error_body("invalid Host header", "invalid_request_error", "invalid_host")
            await JSONResponse(body, status_code=400)(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _host(header: str) -> str:
    if header.startswith("["):  # [::1]:8000
        return header.partition("]")[0] + "]"
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


class ApiKeyGate:
    """Every path under /v1 needs `Authorization: Bearer <key>`."""

    def __init__(self, app: ASGIApp, api_key: str):
        self.app, self.api_key = app, api_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and (path == API_PREFIX or path.startswith(API_PREFIX + "/")):
            try:
                check_bearer(Headers(scope=scope).get("authorization"), self.api_key)
            except RequestRejected as exc:
                await JSONResponse(rejection_body(exc), status_code=exc.status)(scope, receive, send)
                return
        await self.app(scope, receive, send)
