"""RoomyLayer holds what DynamicLayer holds, update after update, including after its tensors
were replaced from outside, and never writes into tensors it handed out before."""

import torch
from transformers.cache_utils import DynamicLayer

from telcotune.serve.roomy_cache import RoomyLayer


def states(rows: int, tokens: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return torch.randn(rows, 2, tokens, 4, generator=g), torch.randn(rows, 2, tokens, 4, generator=g)


def test_updates_match_dynamic_layer_across_reallocation_and_outside_changes():
    roomy, plain = RoomyLayer(room=3), DynamicLayer()
    handed_out = []
    for step, tokens in enumerate([5, 1, 1, 1, 1, 2, 1]):
        k, v = states(2 if step <= 3 else 1, tokens, step)
        got, want = roomy.update(k, v), plain.update(k, v)
        assert torch.equal(got[0], want[0]) and torch.equal(got[1], want[1])
        handed_out.append((got[0].clone(), got[0]))
        if step == 3:  # as the batcher does when a row leaves and padding is cut
            for layer in (roomy, plain):
                layer.batch_select_indices(torch.tensor([1]))
                layer.keys, layer.values = layer.keys[:, :, 2:], layer.values[:, :, 2:]
    for snapshot, view in handed_out:
        assert torch.equal(snapshot, view)  # earlier views were never written into


def test_a_step_writes_in_place_until_the_room_is_used():
    layer = RoomyLayer(room=2)
    layer.update(*states(1, 4, 0))
    first = layer.keys.data_ptr()
    layer.update(*states(1, 1, 1))
    layer.update(*states(1, 1, 2))
    assert layer.keys.data_ptr() == first and layer.get_seq_length() == 6
    layer.update(*states(1, 1, 3))  # no room left: a new buffer
    assert layer.keys.data_ptr() != first and layer.get_seq_length() == 7
