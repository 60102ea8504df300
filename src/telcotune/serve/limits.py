"""What one request may ask for, and how many may be in the server at once.

`Slots` is a semaphore that never waits: a request either takes a slot at once or is turned
away with 503. Requests that hold a slot queue for the one model (see `AdapterHost.use`), so at
most `concurrency` requests (one generating, the rest waiting) hold memory at any time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class ServeLimits:
    max_input_tokens: int = 2048
    """Longest chat-templated conversation, in tokens (413 beyond)."""
    max_new_tokens: int = 512
    """Largest max_tokens a request may ask for (422 beyond)."""
    default_new_tokens: int = 256
    """Reply length when the request gives no max_tokens."""
    max_body_bytes: int = 1_000_000
    """Largest request body (413 beyond)."""
    concurrency: int = 2
    """Requests in the server at once, generating or waiting for the model (503 beyond)."""

    def __post_init__(self) -> None:
        for name in ("max_input_tokens", "max_new_tokens", "default_new_tokens", "max_body_bytes", "concurrency"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1")


class Slot:
    """One taken place; `release` is idempotent so every exit path may call it."""

    def __init__(self, slots: "Slots"):
        self._slots = slots
        self._released = False

    def release(self) -> None:
        with self._slots._lock:
            if not self._released:
                self._released = True
                self._slots._in_use -= 1


class Slots:
    def __init__(self, size: int):
        self.size = size
        self._in_use = 0
        self._lock = threading.Lock()

    def try_acquire(self) -> Slot | None:
        with self._lock:
            if self._in_use >= self.size:
                return None
            self._in_use += 1
        return Slot(self)

    @property
    def free(self) -> int:
        return self.size - self._in_use
