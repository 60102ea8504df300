"""OpenAI-compatible chat completions over plain httpx: OpenAI itself, or any server that speaks
`POST {base_url}/chat/completions` (vLLM, Ollama, llama.cpp, LM Studio, ...).

No retries here: `retry.RetryingClient` owns them, so the policy lives in one place.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Any

import httpx

from .base import (
    ChatRequest, Completion, LLMError, PermanentLLMError, Price, TokenLogprobs, TransientLLMError, Usage,
    cost_usd, map_concurrently, parse_retry_after_s, price_for, redact, short,
)
from ..errors import ConfigError
from ..hosts import is_loopback
from ..redaction import register_secret
from .http import BoundedReply, ReplyTooLarge, deadline_client, post_json
from .replies import MalformedReply, OpenAIReply, OpenAIUsage, count, parse_reply

OPENAI_URL = "https://api.openai.com/v1"
"""The base URL of OpenAI itself: the only server whose prices are known and whose key is required."""

# USD per 1M tokens, standard tier, list prices as published by OpenAI in 2025. Models not
# listed (and every custom server) get cost None rather than a guess.
OPENAI_PRICES: dict[str, Price] = {
    "gpt-4o": Price(2.50, 10.00),
    "gpt-4o-mini": Price(0.15, 0.60),
    "gpt-4.1": Price(2.00, 8.00),
    "gpt-4.1-mini": Price(0.40, 1.60),
    "gpt-4.1-nano": Price(0.10, 0.40),
    "gpt-5": Price(1.25, 10.00),
    "gpt-5-mini": Price(0.25, 2.00),
    "gpt-5-nano": Price(0.05, 0.40),
}
# OpenAI caps top_logprobs at 20; vLLM and llama.cpp's server accept the same field.
MAX_TOP_LOGPROBS = 20
# 408/409/425 are "try again" by the HTTP spec and by OpenAI's own SDK policy.
_TRANSIENT_STATUS = {408, 409, 425, 429}


class OpenAICompatBackend:
    backend = "openai"
    prefers_batching = False

    def __init__(self, model: str, base_url: str | None = None, *, timeout_s: float, concurrency: int,
                 api_key_env: str = "OPENAI_API_KEY", allow_plain_http: bool = False):
        self.model = model
        self.base_url = (base_url or OPENAI_URL).rstrip("/")
        self.is_official = self.base_url == OPENAI_URL
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.concurrency = concurrency
        self.cache_scope = "openai" if self.is_official else f"openai@{self.base_url}"
        self.allow_plain_http = allow_plain_http
        # A key already set fails now, before a stage writes anything; one set later, at first use.
        self._refuse_key_in_clear(os.environ.get(api_key_env))
        self._http: httpx.Client | None = None
        self._key: str | None = None
        self._lock = threading.Lock()
        self.logprobs_refused = False
        """Set when the server refused a request for log-probabilities (HTTP 400)."""

    def __repr__(self) -> str:  # never show the key
        return f"OpenAICompatBackend(model={self.model!r}, base_url={redact(self.base_url)!r})"

    def complete(self, request: ChatRequest) -> Completion:
        started = time.perf_counter()
        body = self._body(request)
        try:
            response = self._post(body)
        except PermanentLLMError as exc:
            # Some models (OpenAI's reasoning models, some servers) refuse `logprobs`: ask
            # without it, and stop asking this backend, so such a judge falls back to text.
            if "logprobs" not in body or exc.status != 400 or "logprob" not in str(exc).lower():
                raise
            self.logprobs_refused = True
            response = self._post(self._body(request))
        return self._completion(response, time.perf_counter() - started)

    def complete_many(self, requests: list[ChatRequest]) -> list[Completion | LLMError]:
        return map_concurrently(self.complete, requests, self.concurrency)

    def close(self) -> None:
        if self._http is not None:
            self._http.close()

    def _client(self) -> httpx.Client:
        # Created on first use so a fully cached rerun needs neither a key nor a connection.
        with self._lock:
            if self._http is None:
                self._key = os.environ.get(self.api_key_env) or None
                self._refuse_key_in_clear(self._key)
                register_secret(self._key)  # a key from any variable stays out of every artifact
                if self._key is None and self.is_official:
                    raise PermanentLLMError(
                        f"openai:{self.model}: set the environment variable {self.api_key_env}")
                headers = {"Authorization": f"Bearer {self._key}"} if self._key else {}
                self._http = deadline_client(headers=headers, timeout_s=self.timeout_s,
                                             max_connections=max(1, self.concurrency))
            return self._http

    def _refuse_key_in_clear(self, key: str | None) -> None:
        url = httpx.URL(self.base_url)
        if key and url.scheme == "http" and not is_loopback(url.host) and not self.allow_plain_http:
            raise ConfigError(
                f"{self._name()}: {self.api_key_env} is set and would be sent in clear text over plain "
                f"http:// to {url.host}; use https://, unset the key, or set allow_plain_http: true "
                f"in this section of the config")

    def _body(self, request: ChatRequest) -> dict[str, Any]:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [dict(m) for m in request.messages],
            "temperature": request.temperature,
            # OpenAI deprecated `max_tokens` (reasoning models reject it); most compatible
            # servers only know `max_tokens`.
            ("max_completion_tokens" if self.is_official else "max_tokens"): request.max_tokens,
        }
        if request.seed is not None:
            body["seed"] = request.seed
        if request.json_mode:
            body["response_format"] = {"type": "json_object"}
        if request.top_logprobs and not self.logprobs_refused:
            body["logprobs"] = True
            body["top_logprobs"] = min(request.top_logprobs, MAX_TOP_LOGPROBS)
        return body

    def _post(self, body: dict[str, Any]) -> BoundedReply:
        client = self._client()
        try:
            response = post_json(client, f"{self.base_url}/chat/completions", body, timeout_s=self.timeout_s)
        except httpx.TimeoutException as exc:
            raise TransientLLMError(f"{self._name()}: no complete reply within {self.timeout_s:g} s "
                                    f"({type(exc).__name__})") from None
        except ReplyTooLarge as exc:  # the same request would get the same reply: not retried
            raise PermanentLLMError(f"{self._name()}: {exc}") from None
        except httpx.TransportError as exc:
            raise TransientLLMError(f"{self._name()}: connection failed ({type(exc).__name__})") from None
        if response.status_code >= 300:
            raise self._status_error(response)
        return response

    def _status_error(self, response: BoundedReply) -> LLMError:
        status = response.status_code
        message = f"{self._name()}: HTTP {status}: {self._error_detail(response)}"
        if status in _TRANSIENT_STATUS or status >= 500:
            return TransientLLMError(message, retry_after_s=parse_retry_after_s(response.headers),
                                     status=status)
        return PermanentLLMError(message, status=status)

    def _error_detail(self, response: BoundedReply) -> str:
        try:
            error = response.json().get("error", {})
            detail = error.get("message") if isinstance(error, dict) else error
        except (ValueError, AttributeError):
            detail = response.text
        return short(redact(str(detail or response.reason_phrase), [self._key]))

    def _completion(self, response: BoundedReply, latency_s: float) -> Completion:
        try:
            reply = parse_reply(OpenAIReply, response.json())
        except ValueError as exc:  # not JSON, or not a completion: usually a proxy or gateway hiccup
            detail = str(exc) if isinstance(exc, MalformedReply) else "malformed reply: not JSON"
            raise TransientLLMError(f"{self._name()}: {detail}") from None
        choice = reply.choices[0]
        if choice.message.content is None:
            raise PermanentLLMError(f"{self._name()}: reply has no text "
                                    f"(finish_reason={choice.finish_reason!r})")
        # A key the server echoes back is removed here, before the cache or a re-ask sees it.
        text = redact(choice.message.content, [self._key])
        return Completion(text=text, usage=self._usage(reply.usage), backend=self.backend, model=self.model,
                          latency_s=latency_s, top_logprobs=_top_logprobs(choice.logprobs))

    def _usage(self, usage: OpenAIUsage | None) -> Usage:
        prompt = count(usage.prompt_tokens) if usage else 0
        completion = count(usage.completion_tokens) if usage else 0
        # A custom server may reuse an OpenAI model name; only OpenAI's own prices are known.
        price = price_for(OPENAI_PRICES, self.model) if self.is_official and usage else None
        return Usage(prompt, completion, cost_usd(price, prompt, completion))

    def _name(self) -> str:
        return f"openai:{self.model}" + ("" if self.is_official else f"@{redact(self.base_url)}")



def _top_logprobs(logprobs: Any) -> tuple[TokenLogprobs, ...] | None:
    """`choices[0].logprobs.content[i]` (`token`, `logprob`, `top_logprobs`: [{token, logprob}]);
    None when the server sent none or sent something else (then the caller parses the text)."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not isinstance(content, list) or not content:
        return None
    try:
        return tuple(TokenLogprobs(str(p["token"]), float(p["logprob"]),
                                   {str(t["token"]): float(t["logprob"]) for t in p.get("top_logprobs") or []})
                     for p in content)
    except (AttributeError, KeyError, TypeError, ValueError):
        return None
