"""Gemini through the official `google-genai` SDK (key from GEMINI_API_KEY or GOOGLE_API_KEY).

The SDK does not retry unless asked (no `retry_options`), which is what we want:
`retry.RetryingClient` owns the policy.
"""

from __future__ import annotations

import os
from typing import Any

from .replies import GeminiReply, count
from .sdk_backend import SdkBackend, deadline_http_client, parse_or_transient
from .base import (
    ChatRequest, Completion, LLMError, PermanentLLMError, Price, TransientLLMError, Usage,
    cost_usd, parse_retry_after_s, price_for, redact, short, system_and_turns,
    transport_errors,
)

KEY_ENVS = ("GEMINI_API_KEY", "GOOGLE_API_KEY")
# USD per 1M tokens, paid tier list prices as published by Google in 2025 (text input, prompts
# up to 200k tokens); others get cost None.
GEMINI_PRICES: dict[str, Price] = {
    "gemini-2.0-flash": Price(0.10, 0.40),
    "gemini-2.0-flash-lite": Price(0.075, 0.30),
    "gemini-2.5-flash": Price(0.30, 2.50),
    "gemini-2.5-flash-lite": Price(0.10, 0.40),
    "gemini-2.5-pro": Price(1.25, 10.00),
}
_TRANSIENT_STATUS = {408, 429}


class GeminiBackend(SdkBackend):
    backend = "gemini"
    sdk_module, sdk_package = "google.genai", "google-genai"

    def _send(self, client: Any, kwargs: dict[str, Any]) -> Any:
        return client.models.generate_content(**kwargs)

    def request_kwargs(self, request: ChatRequest) -> dict[str, Any]:
        system, turns = system_and_turns(request.messages)
        config: dict[str, Any] = {"temperature": request.temperature, "max_output_tokens": request.max_tokens}
        if system:
            config["system_instruction"] = system
        if request.seed is not None:
            config["seed"] = request.seed
        if request.json_mode:
            config["response_mime_type"] = "application/json"
        contents = [{"role": "model" if m["role"] == "assistant" else "user",
                     "parts": [{"text": m["content"]}]} for m in turns]
        return {"model": self.model, "contents": contents, "config": config}

    def _client(self) -> Any:
        with self._lock:
            if self._sdk is None:
                self._key = next((os.environ[e] for e in KEY_ENVS if os.environ.get(e)), None)
                if self._key is None:
                    raise PermanentLLMError(
                        f"gemini:{self.model}: set the environment variable {' or '.join(KEY_ENVS)}")
                import httpcore
                import httpx
                from google import genai

                # HttpOptions.timeout is in milliseconds; vertexai=False so an ambient
                # GOOGLE_GENAI_USE_VERTEXAI does not silently switch to another API and billing.
                http = deadline_http_client(httpx, httpcore, httpx.Client, timeout=self.timeout_s)
                self._sdk = genai.Client(api_key=self._key, vertexai=False, http_options={
                    "timeout": int(self.timeout_s * 1000), "httpx_client": http})
            return self._sdk

    def _completion(self, response: Any, latency_s: float) -> Completion:
        reply = parse_or_transient(GeminiReply, response, f"gemini:{self.model}")
        if reply.text is None:
            raise PermanentLLMError(f"gemini:{self.model}: reply has no text ({_why_empty(response)})")
        meta = reply.usage_metadata
        prompt = count(meta.prompt_token_count) if meta else 0
        completion = count(meta.candidates_token_count) if meta else 0
        price = price_for(GEMINI_PRICES, self.model) if meta is not None else None
        return Completion(text=reply.text, usage=Usage(prompt, completion, cost_usd(price, prompt, completion)),
                          backend=self.backend, model=self.model, latency_s=latency_s)

    def _map_error(self, exc: Exception) -> LLMError:
        from google.genai import errors

        name = f"gemini:{self.model}"
        if isinstance(exc, transport_errors()):  # includes timeouts
            return TransientLLMError(f"{name}: connection failed or timed out ({type(exc).__name__})")
        if not isinstance(exc, errors.APIError):
            raise exc  # not an API failure: a bug, let it surface
        status = int(exc.code or 0)
        message = f"{name}: HTTP {status}: {short(redact(exc.message or exc.status or '', [self._key]))}"
        if status in _TRANSIENT_STATUS or status >= 500:
            return TransientLLMError(message, retry_after_s=_retry_after_s(exc), status=status)
        return PermanentLLMError(message, status=status)


def _why_empty(response: Any) -> str:
    feedback = getattr(response, "prompt_feedback", None)
    if feedback is not None and getattr(feedback, "block_reason", None):
        return f"prompt blocked: {feedback.block_reason}"
    candidates = getattr(response, "candidates", None) or []
    if candidates:
        return f"finish_reason={getattr(candidates[0], 'finish_reason', None)}"
    return "no candidates"


def _retry_after_s(exc: Any) -> float | None:
    """Google puts the delay in the body (`RetryInfo.retryDelay: "30s"`), sometimes a header."""
    details = exc.details.get("error", {}).get("details", []) if isinstance(exc.details, dict) else []
    for item in details if isinstance(details, list) else []:
        delay = item.get("retryDelay") if isinstance(item, dict) else None
        if isinstance(delay, str) and delay.endswith("s"):
            try:
                return float(delay[:-1])
            except ValueError:
                pass
    return parse_retry_after_s(getattr(getattr(exc, "response", None), "headers", None))
