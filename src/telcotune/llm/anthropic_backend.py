"""Anthropic Messages API through the official `anthropic` SDK (key from ANTHROPIC_API_KEY).

The SDK's own retries are off (`max_retries=0`): `retry.RetryingClient` owns the policy.
This SDK version has no `temperature` parameter, so the request's temperature is not sent, and
no schema-free JSON mode, so `json_mode` becomes an instruction in the system prompt.
"""

from __future__ import annotations

import os
from typing import Any

from .replies import AnthropicReply, count
from .sdk_backend import SdkBackend, deadline_http_client, parse_or_transient
from .base import (
    JSON_ONLY_INSTRUCTION, ChatRequest, Completion, LLMError, PermanentLLMError, Price,
    TransientLLMError, Usage, cost_usd, parse_retry_after_s, price_for, redact,
    short, system_and_turns, transport_errors,
)

KEY_ENV = "ANTHROPIC_API_KEY"
# USD per 1M tokens, list prices as published by Anthropic in 2025; others get cost None.
ANTHROPIC_PRICES: dict[str, Price] = {
    "claude-3-5-haiku": Price(0.80, 4.00),
    "claude-haiku-4-5": Price(1.00, 5.00),
    "claude-sonnet-4": Price(3.00, 15.00),
    "claude-sonnet-4-5": Price(3.00, 15.00),
    "claude-opus-4-1": Price(15.00, 75.00),
}
_TRANSIENT_STATUS = {408, 409, 429}


class AnthropicBackend(SdkBackend):
    backend = "anthropic"
    sdk_module = sdk_package = "anthropic"

    def _send(self, client: Any, kwargs: dict[str, Any]) -> Any:
        return client.messages.create(**kwargs)

    def request_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        system, turns = system_and_turns(request.messages)
        if request.json_mode:
            system = f"{system}\n\n{JSON_ONLY_INSTRUCTION}".strip()
        kwargs: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [{"role": m["role"], "content": m["content"]} for m in turns],
        }
        if system:
            kwargs["system"] = system
        return kwargs

    def _client(self) -> Any:
        with self._lock:
            if self._sdk is None:
                self._key = os.environ.get(KEY_ENV) or None
                if self._key is None:
                    raise PermanentLLMError(f"anthropic:{self.model}: set the environment variable {KEY_ENV}")
                import anthropic
                import httpcore2
                import httpx2

                http = deadline_http_client(httpx2, httpcore2, anthropic.DefaultHttpxClient)
                self._sdk = anthropic.Anthropic(api_key=self._key, max_retries=0, timeout=self.timeout_s,
                                                http_client=http)
            return self._sdk

    def _completion(self, message: Any, latency_s: float) -> Completion:
        reply = parse_or_transient(AnthropicReply, message, f"anthropic:{self.model}")
        prompt, completion = count(reply.usage.input_tokens), count(reply.usage.output_tokens)
        price = price_for(ANTHROPIC_PRICES, self.model)
        usage = Usage(prompt, completion, cost_usd(price, prompt, completion))
        return Completion(text=reply.text(), usage=usage, backend=self.backend, model=self.model,
                          latency_s=latency_s)

    def _map_error(self, exc: Exception) -> LLMError:
        import anthropic

        name = f"anthropic:{self.model}"
        if isinstance(exc, (anthropic.APIConnectionError, *transport_errors())):  # includes timeouts
            return TransientLLMError(f"{name}: connection failed or timed out ({type(exc).__name__})")
        if not isinstance(exc, anthropic.APIStatusError):
            if isinstance(exc, anthropic.AnthropicError):
                return PermanentLLMError(f"{name}: {short(redact(str(exc), [self._key]))}")
            raise exc  # not an API failure: a bug, let it surface
        status = exc.status_code
        message = f"{name}: HTTP {status}: {short(redact(exc.api_message or exc.message, [self._key]))}"
        if status in _TRANSIENT_STATUS or status >= 500:
            return TransientLLMError(message, retry_after_s=parse_retry_after_s(exc.response.headers),
                                     status=status)
        return PermanentLLMError(message, status=status)
