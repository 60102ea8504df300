"""`build_client`: the client every stage uses. Stacks the raw backend, retries and the response
cache, and meters what was spent:

    MeteredClient -> CachedClient -> RetryingClient -> backend

A registered backend (the data stage's `template` writer) is offline and deterministic, so it
gets neither cache nor retries (regenerating is faster than reading a cache file).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..config import ClientSettings
from ..paths import llm_cache
from .base import ChatRequest, Completion, LLMError, complete_one
from .cache import CachedClient, ResponseCache
from .retry import BASE_DELAY_S, MAX_DELAY_S, RetryingClient
from .spec import is_registered, make_client, parse_spec


class MeteredClient:
    """The stack's top: an `LLMClient` that counts calls, tokens and cost (`stats()`).

    Tokens and cost count only fresh completions: a cached answer cost nothing this run.
    """

    def __init__(self, inner, *, raw, cache: CachedClient | None = None, retry: RetryingClient | None = None):
        self.inner = inner
        self.raw = raw
        self.cache = cache
        self.retry = retry
        self.backend = raw.backend
        self.model = raw.model
        self.prefers_batching = getattr(raw, "prefers_batching", False)
        self._counts = {"calls": 0, "errors": 0, "prompt_tokens": 0, "completion_tokens": 0,
                        "priced_calls": 0, "unpriced_calls": 0}
        self._cost_usd = 0.0
        self._lock = threading.Lock()

    def complete(self, request: ChatRequest) -> Completion:
        return complete_one(self, request)

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        results = self.inner.complete_many(requests)
        with self._lock:
            self._counts["calls"] += len(requests)
            for result in results:
                self._account(result)
        return results

    def _account(self, result: Completion | LLMError) -> None:
        if isinstance(result, LLMError):
            self._counts["errors"] += 1
            return
        if result.cached:
            return
        self._counts["prompt_tokens"] += result.usage.prompt_tokens
        self._counts["completion_tokens"] += result.usage.completion_tokens
        if result.usage.cost_usd is None:
            self._counts["unpriced_calls"] += 1
        else:
            self._counts["priced_calls"] += 1
            self._cost_usd += result.usage.cost_usd

    def stats(self) -> dict[str, Any]:
        """Counters for this client's lifetime. `calls`: requests asked of this client (cache
        hits included); `errors`: requests that ended in an `LLMError`. `cost_usd` is None when
        any fresh completion had no known price (local models, unlisted models);
        `cost_usd_known` sums the priced ones."""
        with self._lock:
            counts = dict(self._counts)
            cost_known = self._cost_usd
        return {
            "backend": self.backend, "model": self.model, **counts,
            "cache_hits": self.cache.hits if self.cache else 0,
            "cache_misses": self.cache.misses if self.cache else 0,
            "retries": self.retry.retries if self.retry else 0,
            "cost_usd": None if counts["unpriced_calls"] else cost_known,
            "cost_usd_known": cost_known,
        }

    def close(self) -> None:
        close = getattr(self.raw, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> "MeteredClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def build_client(spec: str, settings: ClientSettings, *, trust_remote_code: bool = False,
                 cache_dir: str | Path | None = None, use_cache: bool = True,
                 sleep: Callable[[float], None] = time.sleep, base_delay_s: float = BASE_DELAY_S,
                 max_delay_s: float = MAX_DELAY_S) -> MeteredClient:
    """The client for a backend spec (see `spec.valid_forms()`), calling it with `settings`
    (concurrency, retries, timeout: the data or judges section of the config) and cached under
    `cache_dir` (default: `$TELCOTUNE_CACHE/llm`). `trust_remote_code` reaches a `local:` model."""
    parsed = parse_spec(spec)
    raw = make_client(parsed, settings, trust_remote_code=trust_remote_code)
    if is_registered(parsed):
        return MeteredClient(raw, raw=raw)
    retry = RetryingClient(raw, max_retries=settings.max_retries, concurrency=settings.concurrency,
                           base_delay_s=base_delay_s, max_delay_s=max_delay_s, sleep=sleep)
    if not use_cache:
        return MeteredClient(retry, raw=raw, retry=retry)
    cache = CachedClient(retry, ResponseCache(Path(cache_dir) if cache_dir else llm_cache()))
    return MeteredClient(cache, raw=raw, cache=cache, retry=retry)
