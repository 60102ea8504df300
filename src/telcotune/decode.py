"""The decode loop of batched generation: rows that have finished leave the running batch.

`model.generate` decodes a batch as one block until its last row stops: a row that ended at token
20 of 160 still goes through every layer and the LM head for 140 more steps, and a static KV cache
is attended over its whole preallocated width. Here the KV cache (`WindowCache`) is one buffer per
layer with the live rows in the first slots: when a row stops, the last live row is copied into
its slot (one row's keys and values, not the whole cache), and the next step runs on the live rows
only. Attention covers only the window of columns some live row uses: the left padding of rows
longer than every live one is skipped (the longest prompts decode first and leave first, so the
window narrows as they go). Each step is one forward pass with explicit positions and a
ready-made 4D mask (no mask building inside the model) and the LM head on the last position.

Each step's tokens are picked by `decoding.next_tokens` (the server's penalties and sampling, over
each row's own reply); greedy decoding without penalties gives the tokens one-prompt-at-a-time
decoding gives (tested); sampling draws with the caller's seeded generator state.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import Cache, CacheLayerMixin

from .config import DecodingConfig
from .decoding import next_tokens


class WindowLayer(CacheLayerMixin):
    """One layer's keys and values: `[rows, heads, capacity, dim]` buffers, rows left-padded and
    filled up to column `width`; `keys`/`values` are views of the live rows over the columns
    [start, end)."""

    is_sliding = False
    is_compileable = False

    def __init__(self, keys: torch.Tensor, values: torch.Tensor, width: int):
        super().__init__()
        self._k, self._v = keys, values
        self.dtype, self.device = keys.dtype, keys.device
        self.rows, self.start, self.end = keys.shape[0], 0, width
        self.is_initialized = True
        self._views()

    def _views(self) -> None:
        self.keys = self._k[:self.rows, :, self.start:self.end]
        self.values = self._v[:self.rows, :, self.start:self.end]

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        raise AssertionError("a WindowLayer is created filled")  # pragma: no cover

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        n = key_states.shape[2]
        self._k[:self.rows, :, self.end:self.end + n] = key_states
        self._v[:self.rows, :, self.end:self.end + n] = value_states
        self.end += n
        self._views()
        return self.keys, self.values

    def get_mask_sizes(self, query_length: int) -> tuple[int, int]:
        return self.end - self.start + query_length, 0

    def get_seq_length(self) -> int:
        return self.end - self.start

    def get_max_length(self) -> int:
        return self._k.shape[2]

    def move_row(self, source: int, target: int) -> None:
        self._k[target, :, :self.end] = self._k[source, :, :self.end]
        self._v[target, :, :self.end] = self._v[source, :, :self.end]

    def set_window(self, rows: int, start: int) -> None:
        self.rows, self.start = rows, start
        self._views()


class WindowCache(Cache):
    """The running batch's KV cache: one `WindowLayer` per decoder layer, from its key and value
    buffers filled up to column `width`."""

    def __init__(self, buffers: list[tuple[torch.Tensor, torch.Tensor]], width: int):
        super().__init__(layers=[WindowLayer(k, v, width) for k, v in buffers])

    @property
    def end(self) -> int:
        return self.layers[0].end

    def move_row(self, source: int, target: int) -> None:
        for layer in self.layers:
            layer.move_row(source, target)

    def set_window(self, rows: int, start: int) -> None:
        for layer in self.layers:
            layer.set_window(rows, start)


def decode(model: Any, cache: WindowCache, prompts: list[list[int]], stops: list[int], max_new_tokens: int,
           settings: DecodingConfig) -> list[list[int]]:
    """New tokens for each prompt (its stop token included when it stopped), decoding from `cache`,
    which holds every prompt but its last token, right-aligned at column `cache.end`."""
    device = model.device
    n = len(prompts)
    width = cache.end
    pads = [width - (len(p) - 1) for p in prompts]
    # A column is attended by a row when it holds one of the row's tokens.
    valid = torch.zeros((n, cache.layers[0].get_max_length()), dtype=torch.bool, device=device)
    for row, pad in enumerate(pads):
        valid[row, pad:width] = True
    slot_of = list(range(n))  # slot -> prompt index; slots [0, live) are decoding
    live = n
    next_ids = torch.tensor([[p[-1]] for p in prompts], device=device)
    positions = torch.tensor([[len(p) - 1] for p in prompts], device=device)
    outputs: list[list[int]] = [[] for _ in prompts]
    stop_set = set(stops)
    mask_value = _mask_value(model)
    for step in range(max_new_tokens):
        start = min(pads[slot_of[s]] for s in range(live))
        end = cache.end
        cache.set_window(live, start)
        valid[:live, end] = True
        mask = valid[:live, start:end + 1][:, None, None, :]
        if mask_value is not None:
            mask = torch.zeros(mask.shape, dtype=model.dtype, device=device).masked_fill_(~mask, mask_value)
        logits = model(input_ids=next_ids, position_ids=positions, attention_mask=mask, past_key_values=cache,
                       use_cache=True, logits_to_keep=1).logits[:, -1]
        chosen = next_tokens(logits, [outputs[slot_of[s]] for s in range(live)], settings)
        finished = []
        for s, token in enumerate(chosen.tolist()):
            outputs[slot_of[s]].append(token)
            if token in stop_set or step + 1 == max_new_tokens:
                finished.append(s)
        next_ids, positions = chosen[:, None], positions + 1
        if finished:
            live, keep = _drop(cache, valid, slot_of, live, finished)
            next_ids, positions = next_ids[keep], positions[keep]
            if live == 0:
                break
    return outputs


def _drop(cache: WindowCache, valid: torch.Tensor, slot_of: list[int], live: int,
          finished: list[int]) -> tuple[int, torch.Tensor]:
    """Swap each finished slot with the last live one; returns the new live count and, for each
    new slot, the old slot its row came from (to reorder the step's per-row tensors)."""
    source = list(range(live))
    for s in sorted(finished, reverse=True):  # the highest first: a moved row is never finished
        last = live - 1
        if s != last:
            cache.move_row(last, s)
            valid[s] = valid[last]
            slot_of[s], slot_of[last] = slot_of[last], slot_of[s]
            source[s] = source[last]
        live -= 1
    return live, torch.tensor(source[:live], dtype=torch.long, device=valid.device)


def _mask_value(model: Any) -> float | None:
    """None when the attention takes a boolean mask (SDPA, flex); else the additive value of a
    masked column (eager attention adds the mask to the scores)."""
    implementation = getattr(model.config, "_attn_implementation", "sdpa")
    if implementation == "eager":
        return torch.finfo(model.dtype).min
    return None
