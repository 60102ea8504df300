"""Ragged prefill: a batch's prompts are run through the model without padding, their shared
prefix (the system prompt) once, and the keys and values are stacked into one left-padded KV
cache (`decode.WindowCache`) that the decode loop then runs from.

Why: prefilling a left-padded batch computes every pad token and attends over the padded width,
so a batch with one long prompt costs as if every prompt were that long. On the embedded model
with 16 evaluation prompts of 109-514 tokens, the padded batch prefill took 9.8 s and the ragged
one 4.7 s (`bench/generate_throughput.py` measures the whole effect).

Each prompt's last token is left out of the cache: decoding starts from it, at its own position
(the row's positions are 0, 1, ... as in its unpadded prefill here).
"""

from __future__ import annotations

import copy
import os
from typing import Any


def ragged_prefill(model: Any, prompts: list[list[int]], max_cache_len: int) -> Any | None:
    """A `WindowCache` of `max_cache_len` columns holding every prompt's keys and values except
    its last token, left-padded to the longest prompt; None when this model's cache layers are
    not all plain full-attention ones (sliding windows, state-space layers), or a prompt is a
    single token: the caller then prefills the padded batch itself."""
    import torch
    from transformers import StaticCache
    from transformers.cache_utils import StaticLayer

    from .decode import WindowCache

    if min(len(p) for p in prompts) < 2:
        return None
    # The layer types a cache of this config would have (nothing is allocated until used).
    if any(type(layer) is not StaticLayer for layer in StaticCache(config=model.config, max_cache_len=1).layers):
        return None
    decoder = model.get_decoder()  # no LM head: prefill needs no logits; LoRA layers live inside
    prefix = shared_prefix(prompts)
    with torch.inference_mode():
        prefix_kv = _forward(decoder, prefix, start=0, past=None) if prefix else None
        rows = [_forward(decoder, p[len(prefix):-1], start=len(prefix), past=prefix_kv) for p in prompts]
    width = max(len(p) for p in prompts) - 1
    buffers = [(_left_padded([row.layers[i].keys for row in rows], width, max_cache_len),
                _left_padded([row.layers[i].values for row in rows], width, max_cache_len))
               for i in range(len(rows[0].layers))]
    return WindowCache(buffers, width)


def shared_prefix(prompts: list[list[int]]) -> list[int]:
    """The token prefix every prompt starts with, stopping one short of the shortest prompt so
    every prompt keeps a token of its own. Equal tokens at equal positions give equal keys and
    values in a causal model, so the prefix is computed once."""
    return os.path.commonprefix(prompts)[:min(len(p) for p in prompts) - 1]


def _forward(decoder: Any, tokens: list[int], start: int, past: Any | None) -> Any:
    """The KV cache after running `tokens` at positions `start...` on top of a copy of `past`."""
    import torch
    from transformers import DynamicCache

    cache = copy.deepcopy(past) if past is not None else DynamicCache(config=decoder.config)
    if tokens:
        device = decoder.device
        positions = torch.arange(start, start + len(tokens), device=device)[None]
        decoder(input_ids=torch.tensor([tokens], device=device), position_ids=positions,
                past_key_values=cache, use_cache=True)
    return cache


def _left_padded(states: list[Any], width: int, capacity: int) -> Any:
    """Stack per-prompt `[1, heads, length, dim]` states into a `[batch, heads, capacity, dim]`
    buffer, each right-aligned at column `width`. Only the pad columns are zeroed (they are masked,
    but must be finite: a masked score's weight 0 times a NaN is NaN); the columns past `width`
    are written by decoding before they are attended. Filling the whole buffer was a quarter of
    a 32-prompt prefill on 2 CPU cores (`torch.profiler`: fresh pages are faulted in as written),
    and a separate stacked tensor copied into the buffer cost as much again."""
    import torch

    first = states[0]
    out = torch.empty((len(states), first.shape[1], capacity, first.shape[3]), dtype=first.dtype,
                      device=first.device)
    for row, state in enumerate(states):
        pad = width - state.shape[2]
        out[row, :, :pad] = 0
        out[row, :, pad:width] = state[0]
    return out
