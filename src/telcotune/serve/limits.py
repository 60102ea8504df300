"""What one request may ask for, and how many may be in the server at once.

`Slots` is a semaphore that never waits: a request either takes a slot at once or is turned
away with 503. Requests that hold a slot decode in the running batch (up to `max_batch` of them)
or wait for room in it, so at most `concurrency` requests hold memory at any time.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field, fields


def _limit(default: int, help_text: str) -> int:
    return field(default=default, metadata={"help": help_text})


@dataclass(frozen=True)
class ServeLimits:
    """The server's limits; `telcotune serve` takes its option defaults and help texts from
    these fields (`option_help`)."""

    max_input_tokens: int = _limit(2048, "Longest conversation a request may send, chat-templated, in tokens (413 beyond).")
    max_new_tokens: int = _limit(512, "Largest max_tokens a request may ask for (422 beyond).")
    default_new_tokens: int = _limit(256, "Reply length when a request gives no max_tokens.")
    max_body_bytes: int = _limit(1_000_000, "Largest request body, in bytes (413 beyond).")
    concurrency: int = _limit(8, "Requests in the server at once, generating or waiting for room in the batch (503 beyond).")
    max_batch: int = _limit(8, "Replies decoded together in one batch (continuous batching); 1 answers one request at a time.")

    def __post_init__(self) -> None:
        for f in fields(self):
            if getattr(self, f.name) < 1:
                raise ValueError(f"{f.name} must be at least 1")

    @classmethod
    def capped(cls, *, max_input_tokens: int, max_new_tokens: int, concurrency: int,
               max_batch: int) -> "ServeLimits":
        """The limits `telcotune serve` was given; a request without max_tokens gets the default
        reply length, or the cap when that is lower."""
        return cls(max_input_tokens=max_input_tokens, max_new_tokens=max_new_tokens, concurrency=concurrency,
                   max_batch=max_batch, default_new_tokens=min(cls.default_new_tokens, max_new_tokens))


def option_help(name: str) -> str:
    """The help text of the ServeLimits field `name`, for the command-line option that sets it."""
    return next(f.metadata["help"] for f in fields(ServeLimits) if f.name == name)


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
