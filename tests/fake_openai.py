"""A fake OpenAI-compatible server for tests: real HTTP on 127.0.0.1, scripted replies.

    with FakeOpenAIServer([Reply(429, {"Retry-After": "2"}), ok("hello")]) as server:
        client = OpenAICompatBackend("m", server.base_url, timeout_s=5.0, concurrency=1)
        ...
        server.requests[0].json["messages"]

`script` is either a list of replies (call i gets reply i; the last one repeats) or a
responder `(request_json, call_index) -> Reply | (status, headers, body, delay_s)`. A body that
is a dict or list is sent as JSON, a str as text. `delay_s` holds the reply back (slower than
the client's timeout -> the client times out). Every request is recorded (`requests`), and the
highest number of requests in flight at once is kept (`max_in_flight`).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    delay_s: float = 0.0


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    """Lower-cased header names."""
    body: str
    json: Any
    """The parsed body, or None when it was not JSON."""


Responder = Callable[[Any, int], "Reply | tuple"]


def chat_body(text: str, *, prompt_tokens: int = 11, completion_tokens: int = 7, model: str = "fake",
              finish_reason: str = "stop") -> dict:
    """An OpenAI chat.completion response body."""
    return {
        "id": "chatcmpl-fake", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "finish_reason": finish_reason,
                     "message": {"role": "assistant", "content": text}}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }


def ok(text: str, delay_s: float = 0.0, **usage: int) -> Reply:
    return Reply(200, {}, chat_body(text, **usage), delay_s)


def error(status: int, message: str = "error", headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, headers or {}, {"error": {"message": message, "type": "fake_error"}})


def last_user_text(request_json: Any) -> str:
    users = [m["content"] for m in request_json.get("messages", []) if m.get("role") == "user"]
    return users[-1] if users else ""


def echo(request_json: Any, call_index: int) -> Reply:
    """The default responder: answers `echo: <last user message>`."""
    return ok(f"echo: {last_user_text(request_json)}")


class FakeOpenAIServer:
    def __init__(self, script: Responder | Sequence[Reply | tuple] | None = None):
        self.responder = _as_responder(script if script is not None else echo)
        self.requests: list[RecordedRequest] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        assert self._httpd is not None, "server not started"
        return f"http://127.0.0.1:{self._httpd.server_address[1]}/v1"

    @property
    def calls(self) -> int:
        with self._lock:
            return len(self.requests)

    def start(self) -> "FakeOpenAIServer":
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        self._httpd.block_on_close = False  # a handler still "being slow" must not hold up stop()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True,
                                        kwargs={"poll_interval": 0.05})
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping through a delay
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> "FakeOpenAIServer":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def handle(self, recorded: RecordedRequest) -> Reply:
        with self._lock:
            call_index = len(self.requests)
            self.requests.append(recorded)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            reply = self.responder(recorded.json, call_index)
            if reply.delay_s:
                self._stopping.wait(reply.delay_s)
            return reply
        finally:
            with self._lock:
                self.in_flight -= 1


def _as_responder(script: Responder | Sequence[Reply | tuple]) -> Callable[[Any, int], Reply]:
    if callable(script):
        return lambda request_json, i: _as_reply(script(request_json, i))
    replies = [_as_reply(r) for r in script]
    assert replies, "a script needs at least one reply"
    return lambda request_json, i: replies[min(i, len(replies) - 1)]


def _as_reply(reply: Reply | tuple) -> Reply:
    return reply if isinstance(reply, Reply) else Reply(*reply)


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
            self._serve()

        def do_GET(self) -> None:  # noqa: N802
            self._serve()

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode("utf-8") if length else ""
            try:
                parsed = json.loads(body) if body else None
            except ValueError:
                parsed = None
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server.handle(RecordedRequest(self.command, self.path, headers, body, parsed))
            self._send(reply)

        def _send(self, reply: Reply) -> None:
            is_text = isinstance(reply.body, str)
            payload = (reply.body if is_text else json.dumps(reply.body)).encode("utf-8")
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "text/plain" if is_text else "application/json")
                self.send_header("Content-Length", str(len(payload)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (timed out) before the reply: expected in timeout tests

        def log_message(self, format: str, *args: Any) -> None:
            pass  # keep test output clean

    return Handler
