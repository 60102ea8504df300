"""A local transformers model as an LLM backend (`local:MODEL_SPEC`), batched through
`generation.generate_batch`. Free (cost None: no price, not a made-up 0) and offline."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from ..config import GENERATION_BATCH_SIZE
from .base import ChatRequest, Completion, LLMError, PermanentLLMError, Usage, complete_one

# `json_mode` has no decoder-level equivalent here; the prompt must ask for JSON itself.


class LocalBackend:
    backend = "local"
    prefers_batching = True
    """The retry wrapper hands whole lists to `complete_many` instead of a thread pool."""

    def __init__(self, model_spec: str, *, batch_size: int = GENERATION_BATCH_SIZE,
                 trust_remote_code: bool = False):
        self.model = model_spec
        self.cache_scope = f"local:{model_spec}"
        self.batch_size = batch_size
        self.trust_remote_code = trust_remote_code
        self._loaded: tuple[Any, Any] | None = None
        # One lock for loading and generating: torch generation on a shared model is not
        # thread-safe, and two threads loading would hold two copies in memory.
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"LocalBackend(model={self.model!r})"

    def complete(self, request: ChatRequest) -> Completion:
        return complete_one(self, request)

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        results: list[Completion | LLMError | None] = [None] * len(requests)
        with self._lock:
            model, tokenizer = self._load()
            for settings, indices in _group_by_settings(requests).items():
                self._run_group(model, tokenizer, requests, indices, settings, results)
        return results  # type: ignore[return-value]

    def _load(self) -> tuple[Any, Any]:
        # Model resolution errors propagate as they are: a bad spec is fatal, not per request.
        if self._loaded is None:
            from ..models import load_model, load_tokenizer, resolve_model

            folder = resolve_model(self.model)
            self._loaded = (load_model(folder, trust_remote_code=self.trust_remote_code),
                            load_tokenizer(folder, trust_remote_code=self.trust_remote_code))
        return self._loaded

    def _run_group(self, model: Any, tokenizer: Any, requests: list[ChatRequest], indices: list[int],
                   settings: tuple[float, int, int], results: list) -> None:
        from ..generation import generate_batch

        temperature, max_tokens, seed = settings
        conversations = [[dict(m) for m in requests[i].messages] for i in indices]
        prefills = [requests[i].prefill for i in indices]
        try:
            generated = generate_batch(model, tokenizer, conversations, max_new_tokens=max_tokens,
                                       temperature=temperature, seed=seed, batch_size=self.batch_size,
                                       prefills=prefills)
        except (RuntimeError, ValueError) as exc:  # e.g. prompt longer than the context window
            for i in indices:
                results[i] = PermanentLLMError(f"local:{self.model}: generation failed: {exc}")
            return
        for i, g in zip(indices, generated):
            results[i] = Completion(text=(requests[i].prefill or "") + g.text, usage=Usage(g.prompt_tokens, g.new_tokens, None),
                                    backend=self.backend, model=self.model, latency_s=g.latency_s)


def _group_by_settings(requests: list[ChatRequest]) -> dict[tuple[float, int, int], list[int]]:
    """One `generate_batch` call per (temperature, max_tokens, seed): a batch shares them."""
    groups: dict[tuple[float, int, int], list[int]] = defaultdict(list)
    for i, r in enumerate(requests):
        groups[(r.temperature, r.max_tokens, r.seed or 0)].append(i)
    return groups
