"""Typed errors of the serving layer. A `RequestRejected` is the client's fault (or a full
server) and carries the HTTP status and the OpenAI error `type`/`code` the API answers with;
the terminal chat shows its message."""

from __future__ import annotations

from ..errors import TelcotuneError


class RequestRejected(TelcotuneError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_request"

    def __init__(self, message: str, *, param: str | None = None):
        super().__init__(message)
        self.param = param


class UnknownModel(RequestRejected):
    status = 404
    code = "model_not_found"


class InputTooLong(RequestRejected):
    status = 413
    code = "context_length_exceeded"


class TooManyTokens(RequestRejected):
    status = 422
    code = "max_tokens_too_large"


class InvalidParameter(RequestRejected):
    status = 422


class Unsupported(RequestRejected):
    status = 422
    code = "unsupported_parameter"


class Busy(RequestRejected):
    status = 503
    type = "server_error"
    code = "server_busy"


class Unauthorized(RequestRejected):
    status = 401
    code = "invalid_api_key"


class BodyTooLarge(RequestRejected):
    status = 413
    code = "request_too_large"
