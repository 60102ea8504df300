"""A KV-cache layer that grows into spare columns instead of concatenating on every token.

transformers' `DynamicLayer` appends a token by `torch.cat`, copying the whole layer each step;
`RoomyLayer` keeps `keys`/`values` as views of buffers with `room` spare columns and writes the
new token into them. Whoever sets `keys`/`values` from outside (the batcher merging or dropping
rows, cutting padding) gets them moved into a new buffer at the next update, once.
"""

from __future__ import annotations

from typing import Any

import torch
from transformers.cache_utils import DynamicLayer


class RoomyLayer(DynamicLayer):
    def __init__(self, room: int):
        super().__init__()
        self.room = room
        self._view: torch.Tensor | None = None
        """The `keys` view this layer last handed out (anything else was set from outside)."""

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any,
               **kwargs: Any) -> tuple[torch.Tensor, torch.Tensor]:
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end, new = self.get_seq_length(), key_states.shape[-2]
        if self.keys is not self._view or end + new > self._keys.shape[-2]:
            self._keys = _buffer(self.keys, key_states, end, end + new + self.room)
            self._values = _buffer(self.values, value_states, end, end + new + self.room)
        self._keys[..., end:end + new, :] = key_states
        self._values[..., end:end + new, :] = value_states
        self.keys, self.values = self._keys[..., :end + new, :], self._values[..., :end + new, :]
        self._view = self.keys
        return self.keys, self.values


def _buffer(current: torch.Tensor, states: torch.Tensor, end: int, capacity: int) -> torch.Tensor:
    """Zeros shaped like `states` with `capacity` columns, the first `end` of them `current`."""
    shape = list(states.shape)
    shape[-2] = capacity
    fresh = states.new_zeros(shape)
    if end:
        fresh[..., :end, :] = current
    return fresh
