"""Generate one reply and hand its text over piece by piece as tokens come out.

Decoding is `model.generate` with the same settings as `generation.generate_batch` (chat
template, stop at end-of-turn or eos, greedy at temperature 0, a fresh GenerationConfig), so a
streamed greedy reply equals the batched one; a streamer callback receives each new token on the
calling thread, so the terminal chat needs no thread at all.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..generation import prompt_ids, seeded, stop_token_ids

FINISH_STOP = "stop"
FINISH_LENGTH = "length"
FINISH_CANCELLED = "cancelled"


@dataclass(frozen=True)
class ReplyStats:
    text: str
    prompt_tokens: int
    completion_tokens: int
    """Generated tokens before the stop token (the stop token itself is not counted)."""
    finish_reason: str
    """`stop` (end of turn), `length` (max_new_tokens reached) or `cancelled`."""


class IncrementalDecoder:
    """Token ids in, new text out. The whole reply is re-decoded each time (replies are a few
    hundred tokens), and text ending in an incomplete UTF-8 character waits for the next token.
    `lock` guards the tokenizer: a fast tokenizer raises "Already borrowed" when one thread
    decodes while another encodes (the server tokenizes new requests meanwhile)."""

    def __init__(self, tokenizer: Any, stops: set[int], lock: Any = None):
        self.tokenizer, self.stops = tokenizer, stops
        self.lock = lock or contextlib.nullcontext()
        self.tokens: list[int] = []
        self.text = ""
        self.stopped = False

    def feed(self, token: int) -> str:
        if self.stopped or token in self.stops:
            self.stopped = True
            return ""
        self.tokens.append(token)
        decoded = self._decode()
        if decoded.endswith("\ufffd"):
            return ""
        return self._advance(decoded)

    def flush(self) -> str:
        return self._advance(self._decode())

    def _decode(self) -> str:
        with self.lock:
            return self.tokenizer.decode(self.tokens, skip_special_tokens=True)

    def _advance(self, decoded: str) -> str:
        new = decoded[len(self.text):]
        self.text = decoded
        return new


def generate_streaming(model: Any, tokenizer: Any, prompt: list[int], on_text: Callable[[str], None], *,
                       max_new_tokens: int, temperature: float = 0.0, seed: int = 0,
                       should_stop: Callable[[], bool] = lambda: False,
                       tokenizer_lock: threading.Lock | None = None) -> ReplyStats:
    """Generate a reply to `prompt` (from `prompt_ids`), calling `on_text` with each new piece.
    `should_stop` is polled after every token: a client that left stops the work early."""
    import torch
    from transformers import GenerationConfig, StoppingCriteriaList

    with tokenizer_lock or contextlib.nullcontext():
        stops = stop_token_ids(model, tokenizer)
    decoder = IncrementalDecoder(tokenizer, set(stops), tokenizer_lock)
    sink = _TokenSink(lambda token: _emit(on_text, decoder.feed(token)))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    sampling = temperature > 0
    config = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=sampling, temperature=temperature if sampling else None,
        top_k=None, top_p=None, eos_token_id=stops, pad_token_id=pad_id,
    )
    input_ids = torch.tensor([prompt], dtype=torch.long, device=model.device)
    with torch.inference_mode(), seeded(model.device, seed):
        model.generate(input_ids=input_ids, attention_mask=torch.ones_like(input_ids), generation_config=config,
                       streamer=sink, stopping_criteria=StoppingCriteriaList([_StopWhen(should_stop)]))
    _emit(on_text, decoder.flush())
    finish = FINISH_STOP if decoder.stopped else FINISH_CANCELLED if should_stop() else FINISH_LENGTH
    return ReplyStats(decoder.text, len(prompt), len(decoder.tokens), finish)


def _emit(on_text: Callable[[str], None], piece: str) -> None:
    if piece:
        on_text(piece)


class _TokenSink:
    """A `generate` streamer: the first `put` is the prompt, every later one a new token."""

    def __init__(self, on_token: Callable[[int], None]):
        self.on_token = on_token
        self.prompt_seen = False

    def put(self, value: Any) -> None:
        if not self.prompt_seen:
            self.prompt_seen = True
            return
        for token in value.reshape(-1).tolist():
            self.on_token(token)

    def end(self) -> None:
        pass


class _StopWhen:
    def __init__(self, should_stop: Callable[[], bool]):
        self.should_stop = should_stop

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        return torch.full((input_ids.shape[0],), self.should_stop(), dtype=torch.bool, device=input_ids.device)
