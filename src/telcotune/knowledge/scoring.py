"""Option log-likelihoods, batched: for every question, the log-probability of each option's
tokens after the question's context, summed over the option's tokens (and their count, for the
mean), with the LM head run only where an option token is predicted.

How the work is shared: every context starts with the same tokens (chat template and system
prompt), run once per model; a batch of questions then runs each question's own tokens once,
and all their options run together on top of those keys and values (each option row attends to
its own question only, through the attention mask). A question with four options thus costs
its own tokens plus the options' tokens, not four times the whole prompt. Models whose cache is
not plain full attention (sliding windows, state-space layers) score every option on its whole
sequence instead (`_score_full`), which gives the same numbers, only slower.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..prefill import shared_prefix
from .encoding import EncodedQuestion


@dataclass(frozen=True)
class OptionScore:
    logprob: float
    """Sum of the option tokens' log-probabilities (nats)."""
    tokens: int

    @property
    def mean(self) -> float:
        """Log-probability per token: the length-normalised score accuracy is taken from."""
        return self.logprob / self.tokens


def score_questions(model: Any, questions: Sequence[EncodedQuestion], *, batch_size: int = 16,
                    on_batch: Callable[[int], None] | None = None) -> list[tuple[OptionScore, ...]]:
    """Each question's option scores, in input order. Questions are sorted by context length
    and cut into batches of `batch_size` (little padding); `on_batch(n)` after each batch."""
    import torch

    order = sorted(range(len(questions)), key=lambda i: -len(questions[i].context))
    results: list[tuple[OptionScore, ...] | None] = [None] * len(questions)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            score = _cached_scorer(model, [q.context for q in questions]) or (lambda chunk: _score_full(model, chunk))
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                for i, scores in zip(chunk, score([questions[i] for i in chunk])):
                    results[i] = scores
                if on_batch is not None:
                    on_batch(len(chunk))
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]


def _cached_scorer(model: Any, contexts: list[tuple[int, ...]]):
    """A function scoring a batch on top of the shared prefix's cache; None when the model's
    cache layers are not all plain full-attention ones."""
    import torch
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    decoder = model.get_decoder()
    cache = DynamicCache(config=decoder.config)
    if any(type(layer) is not DynamicLayer for layer in cache.layers):
        return None
    prefix = shared_prefix([list(c) for c in contexts])
    if prefix:
        device = decoder.device
        decoder(input_ids=torch.tensor([prefix], device=device), position_ids=torch.arange(len(prefix), device=device)[None],
                past_key_values=cache, use_cache=True)
    prefix_kv = [(layer.keys, layer.values) for layer in cache.layers] if prefix else None
    return lambda chunk: _score_cached(model, decoder, chunk, len(prefix), prefix_kv)


def _score_cached(model: Any, decoder: Any, chunk: list[EncodedQuestion], prefix_len: int,
                  prefix_kv: list[tuple[Any, Any]] | None) -> list[tuple[OptionScore, ...]]:
    import torch
    from transformers import DynamicCache

    device = decoder.device
    # 1. Each question's own context tokens, except the last (it starts every option row),
    #    right-padded. The pads need no mask here: causal attention never lets a real token see
    #    a later one. They are masked in step 2.
    tails = [list(q.context[prefix_len:-1]) for q in chunk]
    width = max(len(t) for t in tails)
    batch = len(chunk)
    cache = DynamicCache(ddp_cache_data=[(k.expand(batch, -1, -1, -1), v.expand(batch, -1, -1, -1))
                                         for k, v in prefix_kv]) if prefix_kv else DynamicCache(config=decoder.config)
    if width:
        ids, _ = _right_pad(tails, width, device)
        positions = (prefix_len + torch.arange(width, device=device)).expand(batch, -1)
        decoder(input_ids=ids, position_ids=positions, past_key_values=cache, use_cache=True)
    context_mask = torch.ones((batch, prefix_len + width), dtype=torch.long, device=device)
    for row, tail in enumerate(tails):
        context_mask[row, prefix_len + len(tail):] = 0

    # 2. Every option of every question, on its question's keys and values.
    owners = [(row, option) for row, q in enumerate(chunk) for option in q.options]
    inputs = [[chunk[row].context[-1], *option[:-1]] for row, option in owners]
    option_width = max(len(x) for x in inputs)
    ids, valid = _right_pad(inputs, option_width, device)
    rows = torch.tensor([row for row, _ in owners], device=device)
    starts = torch.tensor([len(chunk[row].context) - 1 for row, _ in owners], device=device)
    positions = starts[:, None] + torch.arange(option_width, device=device)
    option_cache = (DynamicCache(ddp_cache_data=[(layer.keys[rows], layer.values[rows]) for layer in cache.layers])
                    if cache.get_seq_length() else DynamicCache(config=decoder.config))
    mask = torch.cat([context_mask[rows], torch.ones_like(ids)], dim=1)
    hidden = decoder(input_ids=ids, attention_mask=mask, position_ids=positions, past_key_values=option_cache,
                     use_cache=True).last_hidden_state
    targets = [token for _, option in owners for token in option]
    logprobs = _token_logprobs(model, hidden[valid], torch.tensor(targets, device=device))
    return _per_question(chunk, [len(option) for _, option in owners], logprobs)


def _score_full(model: Any, chunk: list[EncodedQuestion]) -> list[tuple[OptionScore, ...]]:
    """Every option on its whole sequence (context + option), right-padded; no cache."""
    import torch

    device = model.get_decoder().device
    rows = [(q.context, option) for q in chunk for option in q.options]
    inputs = [[*context, *option][:-1] for context, option in rows]
    width = max(len(x) for x in inputs)
    ids, _ = _right_pad(inputs, width, device)
    hidden = model.get_decoder()(input_ids=ids).last_hidden_state
    picked = torch.zeros(ids.shape, dtype=torch.bool, device=device)
    for row, (context, option) in enumerate(rows):
        picked[row, len(context) - 1:len(context) - 1 + len(option)] = True
    targets = [token for _, option in rows for token in option]
    logprobs = _token_logprobs(model, hidden[picked], torch.tensor(targets, device=device))
    return _per_question(chunk, [len(option) for _, option in rows], logprobs)


def _token_logprobs(model: Any, hidden: Any, targets: Any) -> Any:
    """log p(target) from the final hidden states at the positions that predict each target."""
    import torch

    logits = model.get_output_embeddings()(hidden).float()
    cap = getattr(model.config, "final_logit_softcapping", None)
    if cap:  # Gemma-2 style models cap their logits in the LM's forward, not in the head
        logits = torch.tanh(logits / cap) * cap
    return torch.log_softmax(logits, dim=-1).gather(1, targets[:, None])[:, 0]


def _per_question(chunk: list[EncodedQuestion], lengths: list[int], logprobs: Any) -> list[tuple[OptionScore, ...]]:
    sums = [float(part.sum()) for part in logprobs.split(lengths)]
    out, at = [], 0
    for q in chunk:
        k = len(q.options)
        out.append(tuple(OptionScore(s, n) for s, n in zip(sums[at:at + k], lengths[at:at + k])))
        at += k
    return out


def _right_pad(rows: list[list[int]], width: int, device: Any) -> tuple[Any, Any]:
    """Token ids right-padded to `width` (pad id 0: never attended to, never scored) and the
    mask of real tokens."""
    import torch

    ids = torch.zeros((len(rows), width), dtype=torch.long, device=device)
    real = torch.zeros((len(rows), width), dtype=torch.bool, device=device)
    for i, row in enumerate(rows):
        ids[i, :len(row)] = torch.tensor(row, dtype=torch.long)
        real[i, :len(row)] = True
    return ids, real
