"""What the SDK-based backends (Anthropic, Gemini) share: settings, a check that the SDK (an
optional extra) is installed, the lazily built SDK client, one call timed (within its total
deadline and reply size cap, `http.call_deadline`, on an HTTP client built by
`deadline_http_client`), its errors mapped, and concurrent `complete_many`."""

from __future__ import annotations

import importlib.util
import threading
import time
from dataclasses import replace
from typing import Any

from ..errors import ConfigError
from ..redaction import redact
from .base import ChatRequest, Completion, LLMError, PermanentLLMError, TransientLLMError, map_concurrently
from .http import MAX_REPLY_BYTES, ReplyTooLarge, call_deadline, caused_by, with_deadlines
from .replies import MalformedReply, T, parse_reply


def require_sdk(module: str, package: str, extra: str, spec: str) -> None:
    """Fail now, with the command that fixes it, when an optional SDK is not installed."""
    try:
        found = importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # a missing parent package, or a module without a spec
        found = False
    if not found:
        raise ConfigError(f"{spec}: the {package} package is not installed; "
                          f"install it with: pip install 'telcotune[{extra}]'")


def deadline_http_client(httpx_module: Any, httpcore_module: Any, client_class: Any, **kwargs: Any) -> Any:
    """An SDK's HTTP client (`client_class`, of `httpx_module`) whose calls honour `call_deadline`."""
    transport = with_deadlines(httpx_module.HTTPTransport(), httpcore_module)
    return client_class(transport=transport, **kwargs)


def parse_or_transient(kind: type[T], reply: Any, name: str) -> T:
    """The SDK's reply as a typed record; a wrong shape is retried like a gateway hiccup."""
    try:
        return parse_reply(kind, reply)
    except MalformedReply as exc:
        raise TransientLLMError(f"{name}: {exc}") from None


class SdkBackend:
    backend = ""
    """Also the name of the package extra that installs the SDK."""
    sdk_module = ""
    sdk_package = ""
    prefers_batching = False

    def __init__(self, model: str, *, timeout_s: float, concurrency: int):
        require_sdk(self.sdk_module, self.sdk_package, self.backend, f"{self.backend}:{model}")
        self.model = model
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self._sdk: Any = None
        self._key: str | None = None
        self._lock = threading.Lock()

    @property
    def cache_scope(self) -> str:
        return self.backend

    def __repr__(self) -> str:
        return f"{type(self).__name__}(model={self.model!r})"

    def complete(self, request: ChatRequest) -> Completion:
        client = self._client()
        started = time.perf_counter()
        try:
            with call_deadline(self.timeout_s, max_bytes=MAX_REPLY_BYTES):
                reply = self._send(client, self.request_kwargs(request))
        except Exception as exc:  # the SDK's error types differ; _map_error sorts them
            too_large = caused_by(exc, ReplyTooLarge)  # the same request would get the same reply
            if too_large is not None:
                raise PermanentLLMError(f"{self.backend}:{self.model}: {too_large}") from None
            raise self._map_error(exc) from None
        completion = self._completion(reply, time.perf_counter() - started)
        # A key the server echoes back is removed here, before the cache or a re-ask sees it.
        return replace(completion, text=redact(completion.text, [self._key]))

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        return map_concurrently(self.complete, requests, self.concurrency)

    # Each backend: build its SDK client, send one request, read a reply, classify an error.
    def _client(self) -> Any:
        raise NotImplementedError

    def _send(self, client: Any, kwargs: dict[str, Any]) -> Any:
        raise NotImplementedError

    def request_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        raise NotImplementedError

    def _completion(self, reply: Any, latency_s: float) -> Completion:
        raise NotImplementedError

    def _map_error(self, exc: Exception) -> LLMError:
        raise NotImplementedError
