"""Picking reply tokens from the model's scores, the one implementation used by `serve`/`chat`
(one row at a time, `serve.batching`) and by batched generation (`decode.py`, the evaluation's
answers): the penalties (repetition, frequency, presence, no repeated n-grams) over the reply so
far, then greedy or temperature/top-p sampling (the server gives each request its own random
generator, so a seeded reply does not depend on what else runs in the batch).

The penalties look at the reply only, never the prompt: the prompt holds the end-of-turn token
after every message, and penalising it would make replies run on.
"""

from __future__ import annotations

from typing import Any

from .config import DecodingConfig

PLAIN_GREEDY = DecodingConfig(repetition_penalty=1.0, no_repeat_ngram=0)
"""Greedy without penalties: the local LLM backend's decoding (judges, data generation)."""


def penalised(settings: DecodingConfig) -> bool:
    """Whether any penalty or n-gram ban changes the scores."""
    return (settings.repetition_penalty != 1 or bool(settings.frequency_penalty) or bool(settings.presence_penalty)
            or settings.no_repeat_ngram > 0)


def next_tokens(logits: Any, replies: list[list[int]], settings: DecodingConfig) -> Any:
    """One token per row of `logits` (`[rows, vocab]`), row i penalised over `replies[i]`; sampling
    draws from the caller's (seeded) global random state. Without penalties, greedy is one argmax
    over the batch, so its tokens are the ones decoding one prompt at a time gives."""
    import torch

    if penalised(settings):
        logits = logits.float()
        for row, reply in enumerate(replies):
            adjust_scores(logits[row], reply, settings)
    if settings.temperature == 0:
        return logits.argmax(dim=-1)
    picked = [pick_token(logits[row].float(), settings, None) for row in range(logits.shape[0])]
    return torch.tensor(picked, dtype=torch.long, device=logits.device)


def adjust_scores(scores: Any, reply: list[int], settings: DecodingConfig) -> Any:
    """`scores`: one row of next-token logits (float, modified in place and returned)."""
    import torch

    window = reply[-settings.penalty_window:]
    if window and (settings.repetition_penalty != 1 or settings.frequency_penalty or settings.presence_penalty):
        ids, counts = torch.tensor(window, device=scores.device).unique(return_counts=True)
        seen = scores[ids]
        if settings.repetition_penalty != 1:
            # llama.cpp's rule: a penalty always makes a token less likely, whatever its sign.
            seen = torch.where(seen > 0, seen / settings.repetition_penalty, seen * settings.repetition_penalty)
        seen = seen - settings.frequency_penalty * counts.to(seen.dtype) - settings.presence_penalty
        scores[ids] = seen
    banned = banned_tokens(reply, settings.no_repeat_ngram)
    if banned:
        scores[list(banned)] = float("-inf")
    return scores


def banned_tokens(reply: list[int], n: int) -> set[int]:
    """Tokens that would complete an n-gram the reply already holds."""
    if n < 1 or len(reply) < n:
        return set()
    head = tuple(reply[len(reply) - n + 1:])
    return {reply[i + n - 1] for i in range(len(reply) - n + 1) if tuple(reply[i:i + n - 1]) == head}


def pick_token(scores: Any, settings: DecodingConfig, generator: Any | None) -> int:
    """Greedy at temperature 0 (the first of equal maxima, as `argmax` gives), else a sample."""
    import torch

    if settings.temperature == 0:
        return int(scores.argmax())
    probs = torch.softmax(scores / settings.temperature, dim=-1)
    if settings.top_p < 1:
        sorted_probs, order = probs.sort(descending=True)
        # Keep the smallest head whose mass reaches top_p (the most likely token always stays).
        outside = sorted_probs.cumsum(-1) - sorted_probs >= settings.top_p
        sorted_probs[outside] = 0
        probs = torch.zeros_like(probs).scatter_(-1, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


def sampler(device: Any, settings: DecodingConfig, seed: int) -> Any | None:
    """The request's random generator; None when decoding is greedy."""
    import torch

    if settings.temperature == 0:
        return None
    generator = torch.Generator(device=device)
    generator.manual_seed(seed % 2**64)  # a negative 64-bit seed maps onto the generator's range
    return generator
