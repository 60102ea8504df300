"""Retries with exponential backoff and full jitter, the one retry policy for every backend.

Transient errors (429, 5xx, timeouts) are retried up to `max_retries` times, waiting the
server's `Retry-After` when it gave one; permanent errors (bad key, bad request) pass at once.
`complete_many` runs remote requests on a bounded thread pool and hands local ones to the
backend's own batching.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable

from .base import ChatRequest, Completion, LLMError, TransientLLMError, map_concurrently


BASE_DELAY_S = 1.0
"""Ceiling of the first retry's wait; it doubles with each retry."""
MAX_DELAY_S = 60.0
"""Longest wait before a retry, also when the server's Retry-After asks for more."""


class RetryingClient:
    def __init__(self, inner, *, max_retries: int, concurrency: int, base_delay_s: float = BASE_DELAY_S,
                 max_delay_s: float = MAX_DELAY_S, sleep: Callable[[float], None] = time.sleep,
                 rng: random.Random | None = None):
        self.inner = inner
        self.backend = inner.backend
        self.model = inner.model
        self.prefers_batching = getattr(inner, "prefers_batching", False)
        self.cache_scope = getattr(inner, "cache_scope", inner.backend)
        self.max_retries = max_retries
        self.base_delay_s = base_delay_s
        self.max_delay_s = max_delay_s
        self.sleep = sleep
        self.rng = rng if rng is not None else random.Random(0)  # a fresh one each: no shared default
        self.concurrency = concurrency
        self.retries = 0
        self._lock = threading.Lock()

    def delay_s(self, retry_index: int, retry_after_s: float | None) -> float:
        """Wait before retry number `retry_index` (0-based)."""
        if retry_after_s is not None:
            return min(retry_after_s, self.max_delay_s)
        ceiling_s = min(self.max_delay_s, self.base_delay_s * 2 ** retry_index)
        with self._lock:  # full jitter: uniform in [0, ceiling], spreads out a thundering herd
            return self.rng.uniform(0.0, ceiling_s)

    def _backoff(self, retry_index: int, error: TransientLLMError, requests: int = 1) -> None:
        with self._lock:
            self.retries += requests
        self.sleep(self.delay_s(retry_index, error.retry_after_s))

    def complete(self, request: ChatRequest) -> Completion:
        retry_index = 0
        while True:
            try:
                return self.inner.complete(request)
            except TransientLLMError as exc:
                if retry_index >= self.max_retries:
                    raise
                self._backoff(retry_index, exc)
                retry_index += 1

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        if self.prefers_batching:
            return self._complete_batched(requests)
        return map_concurrently(self.complete, requests, self.concurrency)

    def _complete_batched(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        """Whole batches to the backend; only the transiently failed ones go round again."""
        results = self.inner.complete_many(requests)
        for retry_index in range(self.max_retries):
            failed = [i for i, r in enumerate(results) if isinstance(r, TransientLLMError)]
            if not failed:
                break
            # One wait per round, as long as the most demanding Retry-After asks.
            errors = [results[i] for i in failed]
            slowest = max(errors, key=lambda e: e.retry_after_s or 0.0)  # type: ignore[union-attr]
            self._backoff(retry_index, slowest, requests=len(failed))  # type: ignore[arg-type]
            again = self.inner.complete_many([requests[i] for i in failed])
            for i, result in zip(failed, again):
                results[i] = result
        return results
