"""One HTTP call to an LLM backend, bounded in time and in size: a total deadline for the whole
call (connect, send, wait, read), not per read, and a cap on the reply body.

httpx's timeouts are per operation: a server trickling one byte every 2 s never trips a 120 s
read timeout and holds the call for ever. Here every socket operation of a call gets at most
the time left until the call's deadline (a network backend under httpcore's connection pool,
which reads the deadline of the calling thread), so the call ends by `timeout_s`, in the thread
that made it, with nothing left running.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx

MAX_REPLY_BYTES = 8 * 1024 * 1024
"""Largest reply body read from an LLM backend (8 MiB; a chat completion of 32k tokens with
log-probabilities is well under 1 MiB). A larger reply is refused unread beyond this point:
never cached, never sent back in a re-ask."""

_local = threading.local()


class ReplyTooLarge(Exception):
    def __init__(self, size_bytes: int, limit_bytes: int):
        super().__init__(f"reply larger than {limit_bytes} bytes (got at least {size_bytes})")


@contextlib.contextmanager
def call_deadline(timeout_s: float, max_bytes: int | None = None) -> Iterator[None]:
    """Every socket operation of this thread inside the block ends by `timeout_s` from now;
    with `max_bytes`, reading more than that many bytes off the wire (headers included) raises
    `ReplyTooLarge` (an SDK reads the body itself: this stops it at the cap)."""
    outer = getattr(_local, "deadline", None), getattr(_local, "max_bytes", None), getattr(_local, "read_bytes", 0)
    _local.deadline, _local.max_bytes, _local.read_bytes = time.monotonic() + timeout_s, max_bytes, 0
    try:
        yield
    finally:
        _local.deadline, _local.max_bytes, _local.read_bytes = outer


def _spend(size_bytes: int) -> None:
    limit = getattr(_local, "max_bytes", None)
    if limit is None:
        return
    _local.read_bytes += size_bytes
    if _local.read_bytes > limit:
        raise ReplyTooLarge(_local.read_bytes, limit)


def caused_by(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`exc`, or the exception of `kind` it was raised from (SDKs wrap transport errors)."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, kind):
            return exc
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return None


def _capped(timeout: float | None, timeout_error: type[Exception]) -> float | None:
    deadline = getattr(_local, "deadline", None)
    if deadline is None:
        return timeout
    left_s = deadline - time.monotonic()
    if left_s <= 0:
        raise timeout_error("the call's total deadline has passed")
    return left_s if timeout is None else min(timeout, left_s)


class _DeadlineStream:
    """A network stream whose reads and writes never outlast the calling thread's deadline."""

    def __init__(self, inner: Any, errors: Any):
        self._inner = inner
        self._errors = errors

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        data = self._inner.read(max_bytes, _capped(timeout, self._errors.ReadTimeout))
        _spend(len(data))
        return data

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, _capped(timeout, self._errors.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context: Any, server_hostname: str | None = None,
                  timeout: float | None = None) -> "_DeadlineStream":
        tls = self._inner.start_tls(ssl_context, server_hostname, _capped(timeout, self._errors.ConnectTimeout))
        return _DeadlineStream(tls, self._errors)

    def get_extra_info(self, info: str) -> Any:
        return self._inner.get_extra_info(info)


class _DeadlineBackend:
    """httpcore's (or httpcore2's) network backend with `_DeadlineStream` connections."""

    def __init__(self, inner: Any, errors: Any):
        self._inner = inner
        self._errors = errors

    def connect_tcp(self, host: str, port: int, timeout: float | None = None, **kwargs: Any) -> _DeadlineStream:
        stream = self._inner.connect_tcp(host, port, _capped(timeout, self._errors.ConnectTimeout), **kwargs)
        return _DeadlineStream(stream, self._errors)

    def connect_unix_socket(self, path: str, timeout: float | None = None, **kwargs: Any) -> _DeadlineStream:
        stream = self._inner.connect_unix_socket(path, _capped(timeout, self._errors.ConnectTimeout), **kwargs)
        return _DeadlineStream(stream, self._errors)

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


def with_deadlines(transport: Any, errors: Any) -> Any:
    """`transport` (an httpx or httpx2 `HTTPTransport`, `errors` its httpcore module) with its
    connections honouring `call_deadline`. Proxies keep the plain backend (no deadline)."""
    pool = transport._pool  # httpx builds the pool itself and has no option for its network backend
    pool._network_backend = _DeadlineBackend(pool._network_backend, errors)
    return transport


def deadline_client(*, headers: dict[str, str], timeout_s: float, max_connections: int) -> httpx.Client:
    """An httpx client whose calls made inside `call_deadline` end by their deadline."""
    import httpcore

    limits = httpx.Limits(max_connections=max_connections)
    transport = with_deadlines(httpx.HTTPTransport(limits=limits), httpcore)
    return httpx.Client(headers=headers, timeout=timeout_s, transport=transport)


@dataclass(frozen=True)
class BoundedReply:
    """A whole reply, read within its deadline and size cap."""

    status_code: int
    reason_phrase: str
    headers: httpx.Headers
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode("utf-8", errors="replace")

    def json(self) -> Any:
        return json.loads(self.content)


def post_json(client: httpx.Client, url: str, body: Any, *, timeout_s: float,
              max_bytes: int = MAX_REPLY_BYTES) -> BoundedReply:
    """POST `body` as JSON and read the whole reply within `timeout_s` in total; `ReplyTooLarge`
    past `max_bytes` (of the decoded body), httpx's timeout errors past the deadline."""
    with call_deadline(timeout_s), client.stream("POST", url, json=body, timeout=timeout_s) as response:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise ReplyTooLarge(int(declared), max_bytes)
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > max_bytes:
                raise ReplyTooLarge(size, max_bytes)
            chunks.append(chunk)
        return BoundedReply(response.status_code, response.reason_phrase, response.headers, b"".join(chunks))
