"""Backend specs: one string names a backend and its model (`openai:gpt-4o-mini`), and
`make_client` turns it into the raw backend (no cache, no retries; see `client.build_client`).

Offline backends without a model name (the data stage's `template` writer) are registered here
by the package that owns them (`register_backend`), so this module imports none of them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..config import ClientSettings
from ..errors import ConfigError
from .base import LLMClient

MODEL_FORMS = (
    "openai:MODEL",
    "openai:MODEL@BASE_URL (any OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1)",
    "anthropic:MODEL",
    "gemini:MODEL",
    "local:MODEL_SPEC (embedded name, hub id or model folder)",
)
_MODEL_BACKENDS = ("openai", "anthropic", "gemini", "local")
_REGISTERED: dict[str, Callable[[], LLMClient]] = {}


def register_backend(name: str, factory: Callable[[], LLMClient]) -> None:
    """Make the spec `name` build `factory()`: an offline, deterministic backend that takes no
    model, so `build_client` gives it neither cache nor retries."""
    key = name.strip().lower()
    if key in _MODEL_BACKENDS:
        raise ValueError(f"{name!r} is a built-in backend that takes a model")
    _REGISTERED[key] = factory


def valid_forms() -> tuple[str, ...]:
    return (*sorted(_REGISTERED), *MODEL_FORMS)


def is_registered(spec: BackendSpec) -> bool:
    return spec.backend in _REGISTERED


@dataclass(frozen=True)
class BackendSpec:
    backend: str
    model: str
    base_url: str | None = None
    """Only for `openai`: an OpenAI-compatible server; None means OpenAI itself."""


def _invalid(spec: str, why: str) -> ConfigError:
    forms = "\n  ".join(valid_forms())
    return ConfigError(f"LLM backend spec {spec!r}: {why}. Valid forms:\n  {forms}")


def parse_spec(spec: str) -> BackendSpec:
    text = spec.strip()
    if text.lower() in _REGISTERED:
        return BackendSpec(text.lower(), text.lower())
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


def make_client(spec: str | BackendSpec, settings: ClientSettings, *,
                trust_remote_code: bool = False) -> LLMClient:
    """The raw backend for a spec. SDKs and the model are loaded on first use, not here; a
    missing SDK is an error now. `trust_remote_code` lets a `local:` hub model run its code."""
    parsed = parse_spec(spec) if isinstance(spec, str) else spec
    if parsed.backend in _REGISTERED:
        return _REGISTERED[parsed.backend]()
    if parsed.backend == "openai":
        from .openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(parsed.model, parsed.base_url, timeout_s=settings.timeout_s,
                                   concurrency=settings.concurrency, allow_plain_http=settings.allow_plain_http)
    if parsed.backend == "anthropic":
        from .anthropic_backend import AnthropicBackend

        return AnthropicBackend(parsed.model, timeout_s=settings.timeout_s, concurrency=settings.concurrency)
    if parsed.backend == "gemini":
        from .gemini_backend import GeminiBackend

        return GeminiBackend(parsed.model, timeout_s=settings.timeout_s, concurrency=settings.concurrency)
    if parsed.backend == "local":
        from .local import LocalBackend

        return LocalBackend(parsed.model, trust_remote_code=trust_remote_code)
    raise _invalid(parsed.backend, f"unknown backend {parsed.backend!r}")
