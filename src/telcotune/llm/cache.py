"""On-disk response cache: a rerun with the same prompts costs nothing and gives the same data.

One JSON file per request hash (`<folder>/<key[:2]>/<key>.json`), written atomically. A file
holds the reply text, its usage and which backend/model wrote it: never keys or headers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

from ..fsio import write_json
from .base import ChatRequest, Completion, LLMError, Usage, complete_one


class ResponseCache:
    def __init__(self, folder: str | Path):
        self.folder = Path(folder)

    def path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> Completion | None:
        try:
            row = json.loads(self.path(key).read_text(encoding="utf-8"))
            usage = Usage(int(row["prompt_tokens"]), int(row["completion_tokens"]), row["cost_usd"])
            return Completion(text=row["text"], usage=usage, backend=row["backend"], model=row["model"],
                              cached=True, latency_s=float(row.get("latency_s", 0.0)))
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError):  # hand-edited or foreign file: ask again
            return None

    def put(self, key: str, completion: Completion) -> None:
        write_json(self.path(key), {
            "text": completion.text,
            "prompt_tokens": completion.usage.prompt_tokens,
            "completion_tokens": completion.usage.completion_tokens,
            "cost_usd": completion.usage.cost_usd,
            "backend": completion.backend,
            "model": completion.model,
            "latency_s": completion.latency_s,
        })


class CachedClient:
    """Answers from the cache when it can; only misses reach `inner`. Errors are not cached."""

    def __init__(self, inner, cache: ResponseCache):
        self.inner = inner
        self.cache = cache
        self.backend = inner.backend
        self.model = inner.model
        self.prefers_batching = getattr(inner, "prefers_batching", False)
        # The scope keeps two servers that serve the same model name from sharing answers.
        self.cache_scope = getattr(inner, "cache_scope", inner.backend)
        self.hits = 0
        self.misses = 0
        self._lock = threading.Lock()

    def key(self, request: ChatRequest) -> str:
        return request.cache_key(self.cache_scope, self.model)

    def complete(self, request: ChatRequest) -> Completion:
        return complete_one(self, request)

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        keys = [self.key(r) for r in requests]
        results: list[Completion | LLMError | None] = [self.cache.get(k) for k in keys]
        # A request repeated within one call goes to the backend once.
        waiting: dict[str, list[int]] = {}
        for i, result in enumerate(results):
            if result is None:
                waiting.setdefault(keys[i], []).append(i)
        with self._lock:
            self.hits += sum(r is not None for r in results)
            self.misses += len(waiting)
        firsts = [indices[0] for indices in waiting.values()]
        fresh = self.inner.complete_many([requests[i] for i in firsts]) if firsts else []
        for first, result in zip(firsts, fresh):
            if isinstance(result, Completion):
                self.cache.put(keys[first], replace(result, cached=False))
            for i in waiting[keys[first]]:
                results[i] = result
        return results  # type: ignore[return-value]
