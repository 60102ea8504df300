"""A local transformers model as an LLM backend (`local:MODEL_SPEC`), batched through
`generation.generate_batch`. Free (cost None: no price, not a made-up 0) and offline.

A request with `top_logprobs` is answered from one forward pass (`next_token.next_token_logprobs`):
one token, the most likely, with the distribution it came from."""

from __future__ import annotations

import threading
from collections import defaultdict
from typing import Any

from ..config import GENERATION_BATCH_SIZE
from .base import ChatRequest, Completion, LLMError, PermanentLLMError, TokenLogprobs, Usage, complete_one

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
            scored = [i for i, r in enumerate(requests) if r.top_logprobs]
            if scored:
                self._run_scored(model, tokenizer, requests, scored, results)
            generated = [i for i, r in enumerate(requests) if not r.top_logprobs]
            for settings, indices in _group_by_settings([requests[i] for i in generated]).items():
                self._run_group(model, tokenizer, requests, [generated[i] for i in indices], settings, results)
        return results  # type: ignore[return-value]

    def _load(self) -> tuple[Any, Any]:
        # Model resolution errors propagate as they are: a bad spec is fatal, not per request.
        if self._loaded is None:
            from ..models import load_model, load_tokenizer, resolve_model

            folder = resolve_model(self.model)
            self._loaded = (load_model(folder, trust_remote_code=self.trust_remote_code),
                            load_tokenizer(folder, trust_remote_code=self.trust_remote_code))
        return self._loaded

    def _run_scored(self, model: Any, tokenizer: Any, requests: list[ChatRequest], indices: list[int],
                    results: list) -> None:
        from ..next_token import next_token_logprobs

        try:
            scored = next_token_logprobs(
                model, tokenizer, [[dict(m) for m in requests[i].messages] for i in indices],
                top_k=max(requests[i].top_logprobs or 0 for i in indices), batch_size=self.batch_size,
                prefills=[requests[i].prefill for i in indices], probes=[requests[i].logprob_probe for i in indices],
                choices=[requests[i].logprob_choices for i in indices])
        except (RuntimeError, ValueError) as exc:  # e.g. prompt longer than the context window
            for i in indices:
                results[i] = PermanentLLMError(f"local:{self.model}: scoring failed: {exc}")
            return
        for i, result in zip(indices, scored):
            results[i] = _scored_completion(self, requests[i], _trimmed(result, requests[i].top_logprobs or 0))

    def _run_group(self, model: Any, tokenizer: Any, requests: list[ChatRequest], indices: list[int],
                   settings: tuple[float, int, int], results: list) -> None:
        from ..decoding import PLAIN_GREEDY
        from ..generation import generate_batch

        temperature, max_tokens, seed = settings
        conversations = [[dict(m) for m in requests[i].messages] for i in indices]
        prefills = [requests[i].prefill for i in indices]
        try:
            generated = generate_batch(model, tokenizer, conversations, max_new_tokens=max_tokens,
                                       decoding=PLAIN_GREEDY.model_copy(update={"temperature": temperature}),
                                       seed=seed, batch_size=self.batch_size,
                                       prefills=prefills)
        except (RuntimeError, ValueError) as exc:  # e.g. prompt longer than the context window
            for i in indices:
                results[i] = PermanentLLMError(f"local:{self.model}: generation failed: {exc}")
            return
        for i, g in zip(indices, generated):
            results[i] = Completion(text=(requests[i].prefill or "") + g.text, usage=Usage(g.prompt_tokens, g.new_tokens, None),
                                    backend=self.backend, model=self.model, latency_s=g.latency_s)


def _scored_completion(backend: "LocalBackend", request: ChatRequest, result: Any) -> Completion:
    position = TokenLogprobs(result.token, result.logprob, result.top)
    return Completion(text=(request.prefill or "") + result.token, usage=Usage(result.prompt_tokens, 1, None),
                      backend=backend.backend, model=backend.model, latency_s=result.latency_s,
                      top_logprobs=(position,),
                      probe_logprobs=result.after_probe if request.logprob_probe else None,
                      choice_logprobs=result.choices if request.logprob_choices else None)


def _group_by_settings(requests: list[ChatRequest]) -> dict[tuple[float, int, int], list[int]]:
    """One `generate_batch` call per (temperature, max_tokens, seed): a batch shares them."""
    groups: dict[tuple[float, int, int], list[int]] = defaultdict(list)
    for i, r in enumerate(requests):
        groups[(r.temperature, r.max_tokens, r.seed or 0)].append(i)
    return groups


def _trimmed(result: Any, top_k: int) -> Any:
    """A result computed at a batch's largest top_k, cut to this request's own."""
    from dataclasses import replace

    def cut(top: dict[str, float]) -> dict[str, float]:
        return dict(sorted(top.items(), key=lambda kv: -kv[1])[:top_k])

    return replace(result, top=cut(result.top), after_probe=tuple(cut(t) for t in result.after_probe))
