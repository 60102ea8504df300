"""On-disk response cache: a rerun with the same prompts costs nothing and gives the same data.

One JSON file per request hash (`<folder>/<key[:2]>/<key>.json`), written atomically. A file
holds the reply text, its usage, its token log-probabilities when asked for, and which
backend/model wrote it: never keys or headers.
"""

from __future__ import annotations

import json
import threading
from dataclasses import replace
from pathlib import Path

from ..fsio import write_json
from .base import ChatRequest, Completion, LLMError, TokenLogprobs, Usage, complete_one


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
                              cached=True, latency_s=float(row.get("latency_s", 0.0)),
                              top_logprobs=_positions(row.get("top_logprobs")),
                              probe_logprobs=_probes(row.get("probe_logprobs")),
                              choice_logprobs=_choices(row.get("choice_logprobs")))
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
            **({"top_logprobs": [t.to_dict() for t in completion.top_logprobs]}
               if completion.top_logprobs is not None else {}),
            **({"probe_logprobs": [dict(p) for p in completion.probe_logprobs]}
               if completion.probe_logprobs is not None else {}),
            **({"choice_logprobs": dict(completion.choice_logprobs)}
               if completion.choice_logprobs is not None else {}),
        })


def _positions(rows: list | None) -> tuple[TokenLogprobs, ...] | None:
    return None if rows is None else tuple(TokenLogprobs.from_dict(r) for r in rows)


def _probes(rows: list | None) -> tuple[dict[str, float], ...] | None:
    return None if rows is None else tuple({str(k): float(v) for k, v in r.items()} for r in rows)


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


def _choices(row: dict | None) -> dict[str, float] | None:
    return None if row is None else {str(k): float(v) for k, v in row.items()}
