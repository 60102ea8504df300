"""The optional API key: read from an environment variable (never from the command line, where
it would show in `ps` and shell history), compared in constant time, never logged."""

from __future__ import annotations

import hmac
import os

from ..errors import ConfigError
from .errors import Unauthorized


def api_key_from_env(var: str | None) -> str | None:
    if not var:
        return None
    key = os.environ.get(var, "")
    if not key.strip():
        # Asked for a key but none is set: refuse to start rather than serve without one.
        raise ConfigError(f"--api-key-env {var}: that environment variable is not set or is empty")
    return key.strip()


def check_bearer(authorization: str | None, key: str) -> None:
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip().encode(), key.encode()):
        raise Unauthorized("missing or wrong API key: send `Authorization: Bearer <key>`")
