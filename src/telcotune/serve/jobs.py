"""One reply handed from the batch to the event loop: a worker thread submits it to the engine's
batcher and waits, and its text pieces reach the request's queue.

The worker owns the request's slot and gives it back when generation ends, whatever happens to
the HTTP connection; a client that goes away sets `cancelled`, which stops generation at the
next token. The event loop never blocks on the model.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

from ..config import DecodingConfig
from .engine import ChatEngine, PreparedReply
from .limits import Slot
from .metrics import ServeMetrics

TEXT, DONE, ERROR = "text", "done", "error"


class ReplyJob:
    def __init__(self, engine: ChatEngine, prepared: PreparedReply, slot: Slot, *, decoding: DecodingConfig,
                 seed: int, stop: tuple[str, ...] = (), metrics: ServeMetrics | None = None):
        self.engine, self.prepared, self.slot = engine, prepared, slot
        self.decoding, self.seed, self.stop, self.metrics = decoding, seed, stop, metrics
        self.started_s = time.monotonic()
        self._first_text = True
        self.cancelled = threading.Event()
        self._loop = asyncio.get_running_loop()
        self._queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()

    def start(self) -> "ReplyJob":
        threading.Thread(target=self._run, name=f"reply-{self.prepared.model}", daemon=True).start()
        return self

    def _run(self) -> None:
        final: tuple[str, Any]
        try:
            stats = self.engine.reply(self.prepared, self._text,
                                      decoding=self.decoding, seed=self.seed, stop=self.stop,
                                      should_stop=self.cancelled.is_set)
            final = (DONE, stats)
            if self.metrics:
                self.metrics.reply_done(stats.prompt_tokens, stats.completion_tokens)
        except Exception as exc:  # handed to the request, which answers with an error
            final = (ERROR, exc)
        finally:
            self.slot.release()  # before the last event, so a client that got its reply finds the slot free
        self._push(final)

    def _text(self, piece: str) -> None:
        if self._first_text and self.metrics:
            self.metrics.observe(self.metrics.first_token, time.monotonic() - self.started_s)
        self._first_text = False
        self._push((TEXT, piece))

    def _push(self, item: tuple[str, Any]) -> None:
        try:
            self._loop.call_soon_threadsafe(self._queue.put_nowait, item)
        except RuntimeError:  # the event loop is gone (server shut down); nobody is listening
            self.cancelled.set()

    async def events(self) -> AsyncIterator[tuple[str, Any]]:
        """(`text`, piece)... then (`done`, ReplyStats) or (`error`, exception)."""
        try:
            while True:
                kind, value = await self._queue.get()
                yield kind, value
                if kind != TEXT:
                    return
        finally:
            self.cancelled.set()
