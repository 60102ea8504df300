"""Continuous batching: every reply in progress is a row of one running batch per served model
(an adapter, or the base), decoded one token per step on one thread.

A new request's prompt is prefilled on its own (reusing the keys and values of the part it
shares with the previous prompt of that model: the chat template and system prompt), then its
row joins the batch at the next token boundary: its keys and values are left-padded (or the batch's are) to a common length, and the
attention mask hides the padding, as `generate` does for a left-padded batch. A row leaves as
soon as it ends (end of turn, a stop string, its token limit) or its client goes
(`should_stop`, polled before every step), and columns of padding no row needs any more are
dropped. Batches of different adapters take turns, one step each, since the shared model answers
as one adapter at a time (`AdapterHost.use`). `max_batch` caps the rows decoding at once; with
1, requests are answered one at a time, in order of arrival.

Each layer's keys and values live in a buffer with room for `ROOM_COLUMNS` more tokens
(`roomy_cache.RoomyLayer`), so a step writes one column instead of copying the whole cache, as
transformers' `DynamicLayer` does by concatenating (30% of an 8-row step at 300 tokens under
`torch.profiler` on 2 CPU cores); joining and leaving rebuild the tensors, and the next step moves them
into a new buffer once.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..adapters import AdapterHost
from ..config import DecodingConfig
from ..decoding import adjust_scores, pick_token, sampler
from .streaming import FINISH_CANCELLED, FINISH_LENGTH, FINISH_STOP, ReplyStats, ReplyText

MIN_SHARED_TOKENS = 16
"""A shorter shared prefix is computed again: copying its keys and values would save little."""

ROOM_COLUMNS = 64
"""Spare token columns a layer's buffer gets whenever it is (re)allocated: a copy of the cache
every 64 steps instead of every step."""


@dataclass(eq=False)
class Row:
    """One reply being generated. `on_text` gets each new piece and `on_done` the finished
    `ReplyStats` (or the exception that ended it), both on the batcher's thread."""

    prompt: list[int]
    max_new_tokens: int
    settings: DecodingConfig
    text: ReplyText
    on_text: Callable[[str], None]
    on_done: Callable[[ReplyStats | BaseException], None]
    should_stop: Callable[[], bool]
    seed: int = 0
    generator: Any = None
    last: int = -1
    """The newest reply token, not yet in the KV cache (the next step's input)."""
    first_token_s: float | None = None
    """Monotonic time the first token was picked (time to first token)."""

    @property
    def tokens(self) -> list[int]:
        return self.text.tokens


@dataclass(eq=False)
class _Batch:
    """Rows answering as one model, their KV cache and the attention mask over its columns."""

    rows: list[Row] = field(default_factory=list)
    cache: Any = None
    mask: Any = None


class Batcher:
    def __init__(self, bank: AdapterHost, stop_tokens: list[int], max_batch: int):
        self.bank, self.stop_tokens = bank, set(stop_tokens)
        # Sliding-window or state-space caches cannot be padded, stacked or cut like this.
        self.plain = _plain_cache(bank.model.config)
        self.max_batch = max_batch if self.plain else 1
        self._prefixes: dict[str, tuple[list[int], list[tuple[Any, Any]]]] = {}
        """Per model: the last prompt prefilled and its keys and values per layer."""
        self._waiting: list[tuple[str, Row]] = []
        self._batches: dict[str, _Batch] = {}
        self._wake = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="batcher", daemon=True)
        self._thread.start()

    def submit(self, model: str, row: Row) -> None:
        with self._wake:
            if self._closed:
                raise RuntimeError("the batcher is closed")
            self._waiting.append((model, row))
            self._wake.notify()

    @property
    def running(self) -> int:
        return sum(len(b.rows) for b in list(self._batches.values()))

    def close(self) -> None:
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join(10)

    def _loop(self) -> None:
        import torch

        with torch.inference_mode():
            while (joining := self._next_rows()) is not None:
                for model, row in joining:
                    self._join(model, row)
                for model in list(self._batches):
                    self._step(model)

    def _next_rows(self) -> list[tuple[str, Row]] | None:
        """Waiting rows that fit in the batch now (blocks while there is nothing to do); None once closed."""
        with self._wake:
            while not self._closed and not self._batches and not self._waiting:
                self._wake.wait()
            if self._closed:
                self._fail_all(RuntimeError("the server is shutting down"))
                return None
            # A request whose client left while it waited never costs a prefill.
            gone = [w for w in self._waiting if w[1].should_stop()]
            for _, row in gone:
                self._finish(row, FINISH_CANCELLED)
            self._waiting = [w for w in self._waiting if w not in gone]
            room = self.max_batch - self.running
            joining, self._waiting = self._waiting[:room], self._waiting[room:]
            return joining

    def _join(self, model_name: str, row: Row) -> None:
        import torch

        try:
            with self.bank.use(model_name) as model:
                row.generator = sampler(model.device, row.settings, row.seed)
                cache, start = self._reused_prefix(model_name, row.prompt, _roomy_cache(model.config, self.plain))
                positions = torch.arange(start, len(row.prompt), device=model.device)[None]
                out = model(input_ids=torch.tensor([row.prompt[start:]], device=model.device),
                            position_ids=positions, past_key_values=cache, use_cache=True, logits_to_keep=1)
            if self.plain:
                self._prefixes[model_name] = (row.prompt, [(lay.keys, lay.values) for lay in cache.layers])
            if self._advance(row, out.logits[0, -1]):
                batch = self._batches.setdefault(model_name, _Batch())
                _merge(batch, row, out.past_key_values, len(row.prompt))
        except Exception as exc:  # this request fails; the others go on
            row.on_done(exc)

    def _reused_prefix(self, model_name: str, prompt: list[int], cache: Any) -> tuple[Any, int]:
        """`cache` holding the keys and values of the prompt's first tokens that the previous
        prompt of this model shared (the chat template and system prompt, mostly), and how many
        those are. Equal tokens at equal positions give equal keys and values in a causal model;
        a layer writes only into columns past those it has handed out (`RoomyLayer`), so the
        stored tensors stay as they were."""
        tokens, layers = self._prefixes.get(model_name, ((), []))
        common = min(len(os.path.commonprefix([list(tokens), prompt])), len(prompt) - 1)
        if common < MIN_SHARED_TOKENS:
            return cache, 0
        for layer, (keys, values) in zip(cache.layers, layers):
            layer.update(keys[:, :, :common], values[:, :, :common])
        return cache, common

    def _step(self, model_name: str) -> None:
        import torch

        batch = self._batches[model_name]
        self._leave(batch, [r for r in batch.rows if r.should_stop()], FINISH_CANCELLED)
        if not batch.rows:
            del self._batches[model_name]
            return
        try:
            with self.bank.use(model_name) as model:
                device = model.device
                mask = torch.cat([batch.mask, torch.ones((len(batch.rows), 1), dtype=batch.mask.dtype)], dim=1)
                positions = torch.tensor([[len(r.prompt) + len(r.tokens) - 1] for r in batch.rows], device=device)
                out = model(input_ids=torch.tensor([[r.last] for r in batch.rows], device=device),
                            attention_mask=mask.to(device), position_ids=positions,
                            past_key_values=batch.cache, use_cache=True)
            batch.mask = mask
            done = [r for i, r in enumerate(batch.rows) if not self._advance(r, out.logits[i, -1])]
        except Exception as exc:  # a failed step fails its whole batch; other models go on
            for row in batch.rows:
                row.on_done(exc)
            del self._batches[model_name]
            return
        self._leave(batch, done, finish=None)

    def _advance(self, row: Row, logits: Any) -> bool:
        """Pick the row's next token and hand out its text; False when the reply has ended."""
        scores = adjust_scores(logits.float(), row.tokens, row.settings)
        token = pick_token(scores, row.settings, row.generator)
        if row.first_token_s is None:
            row.first_token_s = time.monotonic()
        if token in self.stop_tokens:
            return self._finish(row, FINISH_STOP)
        piece = row.text.feed(token)
        if piece:
            row.on_text(piece)
        row.last = token
        if row.text.stopped:
            return self._finish(row, FINISH_STOP)
        if len(row.tokens) >= row.max_new_tokens:
            return self._finish(row, FINISH_LENGTH)
        return True

    def _finish(self, row: Row, reason: str) -> bool:
        rest = row.text.flush()
        if rest:
            row.on_text(rest)
        row.on_done(ReplyStats(row.text.text, len(row.prompt), len(row.tokens), reason))
        return False

    def _leave(self, batch: _Batch, rows: list[Row], finish: str | None) -> None:
        """Drop `rows` from the batch (finishing them as `finish` when given) and the padding
        columns no remaining row uses."""
        import torch

        if not rows:
            return
        if finish is not None:
            for row in rows:
                self._finish(row, finish)
        keep = [i for i, r in enumerate(batch.rows) if r not in rows]
        batch.rows = [batch.rows[i] for i in keep]
        if not keep:
            batch.cache = batch.mask = None
            return
        index = torch.tensor(keep)
        batch.cache.batch_select_indices(index.to(batch.cache.layers[0].keys.device))
        batch.mask = batch.mask[index]
        first = int((batch.mask.sum(0) > 0).nonzero()[0])
        if first:
            for layer in batch.cache.layers:
                layer.keys, layer.values = layer.keys[:, :, first:], layer.values[:, :, first:]
            batch.mask = batch.mask[:, first:]

    def _fail_all(self, exc: BaseException) -> None:
        for _, row in self._waiting:
            row.on_done(exc)
        for batch in self._batches.values():
            for row in batch.rows:
                row.on_done(exc)
        self._waiting, self._batches = [], {}


def _roomy_cache(config: Any, plain: bool) -> Any:
    """An empty cache for `config`: of `RoomyLayer`s when every layer is plain full attention."""
    from transformers import DynamicCache

    from .roomy_cache import RoomyLayer

    cache = DynamicCache(config=config)
    if plain:
        cache.layers = [RoomyLayer(ROOM_COLUMNS) for _ in cache.layers]
    return cache


def _plain_cache(config: Any) -> bool:
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in DynamicCache(config=config).layers)


def _merge(batch: _Batch, row: Row, cache: Any, length: int) -> None:
    """Add a prefilled row to the batch, left-padding its cache or the batch's to a common length."""
    import torch

    row_mask = torch.ones((1, length), dtype=torch.long)
    if not batch.rows:
        batch.rows, batch.cache, batch.mask = [row], cache, row_mask
        return
    width = max(batch.mask.shape[1], length)
    for mine, theirs in zip(batch.cache.layers, cache.layers):
        mine.keys = torch.cat([_pad_left(mine.keys, width), _pad_left(theirs.keys, width)])
        mine.values = torch.cat([_pad_left(mine.values, width), _pad_left(theirs.values, width)])
    batch.mask = torch.cat([_pad_left(batch.mask, width), _pad_left(row_mask, width)])
    batch.rows.append(row)


def _pad_left(tensor: Any, width: int) -> Any:
    """Zeros before the sequence dimension's entries (dim 2 of keys/values, 1 of a mask) up to `width`."""
    import torch

    dim = 2 if tensor.dim() == 4 else 1
    missing = width - tensor.shape[dim]
    if missing <= 0:
        return tensor
    shape = list(tensor.shape)
    shape[dim] = missing
    return torch.cat([torch.zeros(shape, dtype=tensor.dtype, device=tensor.device), tensor], dim=dim)
