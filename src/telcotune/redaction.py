"""Secrets out of every text bound for disk or for a message: the one redaction function.

`redact` removes the API keys this process knows (the values of the key variables, keys the
backends registered when they read them, and anything shaped like an OpenAI, Anthropic or
Google key) and credentials written into URLs (`https://user:pw@host` -> `https://[redacted]@host`).
Every artifact writer (`fsio`, `artifacts.io`) and every backend error message goes through it,
so a key echoed back inside a model's reply never lands in `rejects.jsonl` or the cache, and a
base URL with credentials is written redacted to `manifest.json`, `stats.json` and `config.json`.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Callable, Iterable

REDACTED = "[redacted]"
KEY_ENVS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY", "GOOGLE_API_KEY", "HF_TOKEN")
"""Environment variables whose values are secrets wherever they appear."""
MIN_SECRET_CHARS = 8
"""Shorter values are not searched for: replacing every `abc` in a data set would mangle it,
and a key that short protects nothing."""

# Provider error bodies sometimes echo part of the key ("Incorrect API key provided: sk-ab***yz").
# `sk-` with its hyphen: plain words such as "skipping" are not keys.
_KEY_LIKE = re.compile(r"\b(?:sk-|AIza)[-_A-Za-z0-9*]{6,}")
# scheme://userinfo@ ; userinfo stops at anything that ends a URL part or a JSON string.
_URL_CREDENTIALS = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)[^/?#@\s\"'\\<>]+@")

_registered: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact `value` from everything written from now on (a key read from another variable)."""
    if value and len(value) >= MIN_SECRET_CHARS:
        with _lock:
            _registered.add(value)


def _known_secrets(extra: Iterable[str | None]) -> list[str]:
    with _lock:
        found = set(_registered)
    found.update(v for v in (os.environ.get(name) for name in KEY_ENVS) if v)
    found.update(v for v in extra if v)
    # Longest first, so a key that contains another is removed whole.
    return sorted((s for s in found if len(s) >= MIN_SECRET_CHARS), key=len, reverse=True)


def redactor(secrets: Iterable[str | None] = ()) -> Callable[[str], str]:
    """`redact` with the secrets looked up once, for a writer that cleans many rows."""
    known = _known_secrets(secrets)

    def clean(text: str) -> str:
        for secret in known:
            if secret in text:
                text = text.replace(secret, REDACTED)
        # Substring checks first: every artifact row passes here, and almost none holds a URL or key.
        if "://" in text and "@" in text:
            text = _URL_CREDENTIALS.sub(rf"\1{REDACTED}@", text)
        if "sk-" in text or "AIza" in text:
            text = _KEY_LIKE.sub(REDACTED, text)
        return text

    return clean


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """`text` without known secrets, key-shaped strings and URL credentials."""
    return redactor(secrets)(text)
