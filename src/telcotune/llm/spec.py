"""Backend specs: one string names a backend and its model (`openai:gpt-4o-mini`), and
`make_client` turns it into the raw backend (no cache, no retries; see `client.build_client`)."""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import ConfigError
from .base import LLMClient

OPENAI_URL = "https://api.openai.com/v1"
VALID_FORMS = (
    "template",
    "openai:MODEL",
    "openai:MODEL@BASE_URL (any OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1)",
    "anthropic:MODEL",
    "gemini:MODEL",
    "local:MODEL_SPEC (embedded name, hub id or model folder)",
)
_MODEL_BACKENDS = ("openai", "anthropic", "gemini", "local")


@dataclass(frozen=True)
class BackendSpec:
    backend: str
    model: str
    base_url: str | None = None
    """Only for `openai`: an OpenAI-compatible server; None means OpenAI itself."""


def _invalid(spec: str, why: str) -> ConfigError:
    forms = "\n  ".join(VALID_FORMS)
    return ConfigError(f"LLM backend spec {spec!r}: {why}. Valid forms:\n  {forms}")


def parse_spec(spec: str) -> BackendSpec:
    text = spec.strip()
    if text.lower() == "template":
        return BackendSpec("template", "template")
    backend, sep, rest = text.partition(":")  # only the first colon: `ollama:qwen2.5:7b` keeps its tag
    backend = backend.strip().lower()
    if not sep or backend not in _MODEL_BACKENDS:
        raise _invalid(spec, f"unknown backend {backend or text!r}")
    model, at, base_url = rest.strip().partition("@")
    model, base_url = model.strip(), base_url.strip().rstrip("/")
    if not model:
        raise _invalid(spec, "the model name is empty")
    if at and backend != "openai":
        raise _invalid(spec, "`@BASE_URL` is only valid for the openai backend")
    if at and not base_url.startswith(("http://", "https://")):
        raise _invalid(spec, f"base URL {base_url!r} must start with http:// or https://")
    return BackendSpec(backend, model, base_url or None)


def make_client(spec: str | BackendSpec, *, timeout_s: float = 120.0, concurrency: int = 4) -> LLMClient:
    """The raw backend for a spec. SDKs and the model are loaded on first use, not here."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.backend == "template":
        return _template_backend()
    if parsed.backend == "openai":
        from .openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(parsed.model, parsed.base_url, timeout_s=timeout_s,
                                   concurrency=concurrency)
    if parsed.backend == "anthropic":
        from .anthropic_backend import AnthropicBackend

        return AnthropicBackend(parsed.model, timeout_s=timeout_s, concurrency=concurrency)
    if parsed.backend == "gemini":
        from .gemini_backend import GeminiBackend

        return GeminiBackend(parsed.model, timeout_s=timeout_s, concurrency=concurrency)
    from .local import LocalBackend

    return LocalBackend(parsed.model)


def _template_backend() -> LLMClient:
    try:
        from ..data.template import TemplateBackend
    except ModuleNotFoundError as exc:
        if exc.name not in ("telcotune.data", "telcotune.data.template"):
            raise  # a missing dependency inside the module is a real bug, not a missing backend
        raise ConfigError("LLM backend 'template' is not available in this installation") from exc
    return TemplateBackend()
