"""A reply's text as its tokens come out: new pieces to stream, stop strings cut off, and the
counts a finished reply reports.

The whole reply is re-decoded at each token (replies are a few hundred tokens). Text ending in
an incomplete UTF-8 character waits for the next token, and so does a tail that may be the start
of a stop string: a streamed reply never shows text it later has to take back.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Any

FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReplyStats:
    text: str
    prompt_tokens: int
    completion_tokens: int
    """Generated tokens before the end-of-turn token (which is not counted), up to and including
    the one that completed a stop string."""
    finish_reason: str
    """`stop` (end of turn or a stop string), `length` (max_new_tokens reached) or `cancelled`."""


class ReplyText:
    """Token ids in, new text out. `lock` guards the tokenizer: a fast tokenizer raises "Already
    borrowed" when one thread decodes while another encodes (the server tokenizes new requests
    meanwhile)."""

    def __init__(self, tokenizer: Any, stop_strings: tuple[str, ...] = (), lock: Any = None):
        self.tokenizer, self.stop_strings = tokenizer, tuple(s for s in stop_strings if s)
        self.lock = lock or contextlib.nullcontext()
        self.tokens: list[int] = []
        self.text = ""
        """The text handed out so far."""
        self.stopped = False
        """A stop string was generated; the text ends before it."""

    def feed(self, token: int) -> str:
        self.tokens.append(token)
        decoded = self._decode()
        cut = self._stop_at(decoded)
        if cut is not None:
            self.stopped = True
            return self._advance(decoded[:cut])
        if decoded.endswith("\ufffd"):
            return ""
        return self._advance(decoded[:len(decoded) - self._held(decoded)])

    def flush(self) -> str:
        """The rest of the text at the end of the reply (what `feed` held back)."""
        if self.stopped:
            return ""
        return self._advance(self._decode())

    def _decode(self) -> str:
        with self.lock:
            return self.tokenizer.decode(self.tokens, skip_special_tokens=True)

    def _stop_at(self, decoded: str) -> int | None:
        # A stop string can only have been completed by text not yet handed out.
        start = max(0, len(self.text) - max((len(s) for s in self.stop_strings), default=0))
        found = [i for i in (decoded.find(s, start) for s in self.stop_strings) if i >= 0]
        return min(found) if found else None

    def _held(self, decoded: str) -> int:
        """Length of the longest tail of `decoded` that begins some stop string."""
        return max((k for s in self.stop_strings for k in range(min(len(s) - 1, len(decoded)), 0, -1)
                    if decoded.endswith(s[:k])), default=0)

    def _advance(self, upto: str) -> str:
        new = upto[len(self.text):]
        self.text = upto
        return new
