"""The one LLM-client interface. Every backend (template, openai, anthropic, gemini, local)
takes a `ChatRequest` and returns a `Completion`: text plus token usage, one shape for all.

Failures are typed exceptions, never sentinel text: `TransientLLMError` (429, 5xx, timeouts;
retried with backoff) and `PermanentLLMError` (bad key, bad request; not retried).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from ..errors import TelcotuneError
from ..redaction import redact  # noqa: F401  (the backends' error messages use it)
from ..manifest import hash_obj


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[dict[str, str], ...]
    """Chat messages: dicts with `role` (system/user/assistant) and `content`."""
    temperature: float = 0.7
    max_tokens: int = 1024
    json_mode: bool = False
    """Ask the backend for a JSON object (where it supports a JSON response mode)."""
    seed: int | None = None
    attempt: int = 0
    """Re-ask number; part of the cache key so a re-ask is not answered from the cache."""
    prefill: str | None = None
    """Start of the assistant's reply, continued by the model (the local backend; remote
    backends ignore it). Keeps a small local judge on the JSON track. The completion's text
    includes it."""
    top_logprobs: int | None = None
    """Ask for the `top_logprobs` most likely tokens, with their log-probabilities, at each
    reply position (OpenAI-compatible servers that support `logprobs`, and `local:`, which then
    answers exactly one token from a single forward pass, without generating). Backends without
    log-probabilities (Anthropic, Gemini) ignore it and return `Completion.top_logprobs` None."""
    logprob_probe: str | None = None
    """`local:` with `top_logprobs` only: text teacher-forced after the prefill in the same forward
    pass; `Completion.probe_logprobs` then holds the next-token distribution after each of its
    tokens. Lets a judge split the probability of "1" between the scores 1 and 10 where digits
    are separate tokens. Other backends ignore it."""
    logprob_choices: tuple[str, ...] | None = None
    """`local:` with `top_logprobs` only: the answers a judge accepts at the first reply position
    (the score digits, or "A", "B", "tie"); `Completion.choice_logprobs` then holds the
    log-probability of each from the whole distribution, whether or not it is among the top
    tokens, so a choice among them is always defined. A choice the tokenizer does not hold as
    one token is left out (SmolLM2's "10" is "1" then "0": the probe splits it). Other backends
    ignore it."""

    def cache_key(self, backend: str, model: str) -> str:
        return hash_obj({
            "backend": backend, "model": model, "messages": list(self.messages),
            "temperature": self.temperature, "max_tokens": self.max_tokens,
            "json_mode": self.json_mode, "seed": self.seed, "attempt": self.attempt,
            **({"prefill": self.prefill} if self.prefill else {}),
            **({"top_logprobs": self.top_logprobs} if self.top_logprobs else {}),
            **({"logprob_probe": self.logprob_probe} if self.logprob_probe else {}),
            **({"logprob_choices": list(self.logprob_choices)} if self.logprob_choices else {}),
        })


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    """Cost where the backend has a known price; None where unknown (never a made-up 0)."""


@dataclass(frozen=True)
class TokenLogprobs:
    """One reply position: the token chosen there and the most likely alternatives."""

    token: str
    logprob: float
    top: dict[str, float]
    """Token text -> natural-log probability, the most likely first (the chosen token included
    where it is among them)."""

    def to_dict(self) -> dict[str, Any]:
        return {"token": self.token, "logprob": self.logprob, "top": dict(self.top)}

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "TokenLogprobs":
        return cls(str(row["token"]), float(row["logprob"]), {str(k): float(v) for k, v in row["top"].items()})


@dataclass(frozen=True)
class Completion:
    text: str
    usage: Usage
    backend: str
    model: str
    cached: bool = False
    latency_s: float = 0.0
    top_logprobs: tuple[TokenLogprobs, ...] | None = None
    """Per reply position, when the request asked for `top_logprobs` and the backend gave them;
    None otherwise (never an empty stand-in)."""
    probe_logprobs: tuple[dict[str, float], ...] | None = None
    """`local:` with a `logprob_probe`: the next-token distribution (top tokens) after each
    probe token."""
    choice_logprobs: dict[str, float] | None = None
    """`local:` with `logprob_choices`: each one-token choice -> its log-probability at the first
    reply position, from the whole distribution."""


@runtime_checkable
class LLMClient(Protocol):
    backend: str
    """Backend name: template, openai, anthropic, gemini, local."""
    model: str
    """Model name as given in the spec."""

    def complete(self, request: ChatRequest) -> Completion:
        """Answer one request or raise an `LLMError`."""
        ...

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        """Answer many requests (batched or concurrent as the backend allows), in order; a
        failed request gives its exception in place of a completion."""
        ...


class LLMError(TelcotuneError):
    """A backend call failed."""


class TransientLLMError(LLMError):
    """Worth retrying: rate limit, server error, timeout, connection reset."""

    def __init__(self, message: str, retry_after_s: float | None = None, status: int | None = None):
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.status = status


class PermanentLLMError(LLMError):
    """Not worth retrying: bad credentials, bad request, unknown model."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message)
        self.status = status


# --- Shared helpers for the backends and wrappers (small enough to live with the interface) ---

def complete_one(client: "LLMClient", request: ChatRequest) -> Completion:
    """`complete` for a client whose real work is `complete_many`: one request, errors raised."""
    result = client.complete_many([request])[0]
    if isinstance(result, LLMError):
        raise result
    return result


def map_concurrently(
    fn: Callable[[ChatRequest], Completion], requests: Sequence[ChatRequest], concurrency: int
) -> list[Completion | LLMError]:
    """Run `fn` over requests on at most `concurrency` threads, in order; an `LLMError` is
    returned in place of its completion (other exceptions are bugs and propagate)."""

    def one(request: ChatRequest) -> Completion | LLMError:
        try:
            return fn(request)
        except LLMError as exc:
            return exc

    if concurrency <= 1 or len(requests) <= 1:
        return [one(r) for r in requests]
    with ThreadPoolExecutor(max_workers=min(concurrency, len(requests))) as pool:
        return list(pool.map(one, requests))


def system_and_turns(messages: Sequence[dict[str, str]]) -> tuple[str, list[dict[str, str]]]:
    """Split messages into one system text (joined) and the user/assistant turns, for APIs
    that take the system prompt as a separate field (Anthropic, Gemini)."""
    system = [m["content"] for m in messages if m["role"] == "system"]
    turns = [m for m in messages if m["role"] != "system"]
    return "\n\n".join(system), turns


JSON_ONLY_INSTRUCTION = "Reply with a single JSON object only: no prose, no code fences."


@dataclass(frozen=True)
class Price:
    input_usd_per_mtok: float
    output_usd_per_mtok: float


_DATED_SUFFIX = r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-latest)?"


def price_for(table: dict[str, Price], model: str) -> Price | None:
    """The price of `model`, also under a dated alias (`gpt-4o-2024-08-06`); None if unknown,
    so a look-alike name (`gpt-4o-audio-preview`) is never priced as its neighbour."""
    for name, price in table.items():
        if re.fullmatch(re.escape(name) + _DATED_SUFFIX, model):
            return price
    return None


def cost_usd(price: Price | None, prompt_tokens: int, completion_tokens: int) -> float | None:
    if price is None:
        return None
    return (prompt_tokens * price.input_usd_per_mtok
            + completion_tokens * price.output_usd_per_mtok) / 1e6


def sum_usage(usages: Sequence[Usage]) -> Usage:
    """Token totals; the cost is None as soon as one part has an unknown cost."""
    costs = [u.cost_usd for u in usages]
    return Usage(
        prompt_tokens=sum(u.prompt_tokens for u in usages),
        completion_tokens=sum(u.completion_tokens for u in usages),
        cost_usd=None if any(c is None for c in costs) else sum(costs),  # type: ignore[arg-type]
    )


def short(text: str, limit_chars: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit_chars else text[: limit_chars - 3] + "..."


def transport_errors() -> tuple[type[BaseException], ...]:
    """Connection and timeout errors of httpx and of its fork httpx2 (used by the SDKs)."""
    import httpx

    types: list[type[BaseException]] = [httpx.TransportError]
    try:
        import httpx2

        types.append(httpx2.TransportError)
    except ImportError:
        pass
    return tuple(types)


def parse_retry_after_s(headers: Any) -> float | None:
    """Seconds to wait from `retry-after-ms` or `Retry-After` (seconds or an HTTP date)."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    try:
        if millis is not None:
            return max(0.0, float(millis) / 1000.0)
    except ValueError:
        pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return _seconds_until_http_date(value)


def _seconds_until_http_date(value: str) -> float | None:
    import email.utils
    import time

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())
