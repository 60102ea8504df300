"""The server's counters for `GET /metrics`, in Prometheus' text exposition format (0.0.4):
API requests by status, prompt and completion tokens, latency and time-to-first-token
histograms, requests turned away because the server was full, and the batch's occupancy.

No label names a model: like /health, /metrics stays open without the API key, and what is
served is for key holders only.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS_S = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)


class Histogram:
    def __init__(self, name: str, help_text: str, buckets: tuple[float, ...] = LATENCY_BUCKETS_S):
        self.name, self.help, self.buckets = name, help_text, buckets
        self.counts = [0] * len(buckets)
        self.total, self.count = 0.0, 0

    def observe(self, value: float) -> None:
        for i, bound in enumerate(self.buckets):
            if value <= bound:
                self.counts[i] += 1
        self.total += value
        self.count += 1

    def lines(self) -> list[str]:
        out = [f"# HELP {self.name} {self.help}", f"# TYPE {self.name} histogram"]
        out += [f'{self.name}_bucket{{le="{bound:g}"}} {n}' for bound, n in zip(self.buckets, self.counts)]
        return out + [f'{self.name}_bucket{{le="+Inf"}} {self.count}', f"{self.name}_sum {self.total:.6f}",
                      f"{self.name}_count {self.count}"]


class ServeMetrics:
    def __init__(self, gauges: dict[str, tuple[str, Callable[[], float]]] | None = None):
        """`gauges`: name -> (help, function reading the current value)."""
        self._lock = threading.Lock()
        self.requests: dict[str, int] = {}
        self.prompt_tokens = self.completion_tokens = self.rejected = 0
        self.latency = Histogram("telcotune_request_duration_seconds",
                                 "Time from a chat completion request to the end of its response.")
        self.first_token = Histogram("telcotune_time_to_first_token_seconds",
                                     "Time from a chat completion request to its first text.")
        self.gauges = gauges or {}

    def request_done(self, status: int) -> None:
        with self._lock:
            self.requests[str(status)] = self.requests.get(str(status), 0) + 1

    def reply_done(self, prompt_tokens: int, completion_tokens: int) -> None:
        with self._lock:
            self.prompt_tokens += prompt_tokens
            self.completion_tokens += completion_tokens

    def observe(self, histogram: Histogram, value_s: float) -> None:
        with self._lock:
            histogram.observe(value_s)

    def rejection(self) -> None:
        with self._lock:
            self.rejected += 1

    def render(self) -> str:
        with self._lock:
            lines = ["# HELP telcotune_requests_total API requests (under /v1) by HTTP status.",
                     "# TYPE telcotune_requests_total counter"]
            lines += [f'telcotune_requests_total{{status="{s}"}} {n}' for s, n in sorted(self.requests.items())]
            lines += _counter("telcotune_prompt_tokens_total", "Prompt tokens of finished replies.", self.prompt_tokens)
            lines += _counter("telcotune_completion_tokens_total", "Tokens generated in finished replies.",
                              self.completion_tokens)
            lines += _counter("telcotune_rejected_requests_total", "Requests answered 503 because the server was full.",
                              self.rejected)
            lines += self.latency.lines() + self.first_token.lines()
        for name, (help_text, read) in self.gauges.items():
            lines += [f"# HELP {name} {help_text}", f"# TYPE {name} gauge", f"{name} {read():g}"]
        return "\n".join(lines) + "\n"


def _counter(name: str, help_text: str, value: int) -> list[str]:
    return [f"# HELP {name} {help_text}", f"# TYPE {name} counter", f"{name} {value}"]


class RequestMetrics:
    """ASGI middleware: counts every /v1 response by status and times chat completions from the
    request to the last byte of the response (streamed or not)."""

    def __init__(self, app: ASGIApp, metrics: ServeMetrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "") if scope["type"] == "http" else ""
        if not path.startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        started = time.monotonic()
        status = 500

        async def observed(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                if path == "/v1/chat/completions" and status == 200:
                    self.metrics.observe(self.metrics.latency, time.monotonic() - started)
            await send(message)

        try:
            await self.app(scope, receive, observed)
        finally:
            self.metrics.request_done(status)
