"""Refuse request bodies over a size limit before they fill memory, in OpenAI's error format.

Starlette's own limit answers a too-large declared Content-Length in plain text, which OpenAI
clients cannot show; this one answers JSON, and also counts the bytes of a body sent without a
length (as an HTTPException: FastAPI re-raises those from body parsing, and the app's handler
answers it in the same format).
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import BodyTooLarge
from .schema import rejection_body


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int):
        self.app, self.max_bytes = app, max_bytes

    def _too_large(self) -> BodyTooLarge:
        return BodyTooLarge(f"the request body is larger than this server accepts ({self.max_bytes} bytes)")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            await JSONResponse(rejection_body(self._too_large()), status_code=413)(scope, receive, send)
            return
        received = 0

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, str(self._too_large()))
            return message

        await self.app(scope, counted, send)
