"""Option log-likelihoods, batched: for every question, the log-probability of each option's
tokens after the question's context, summed over the option's tokens (and their count, for the
mean), with the LM head run only where an option token is predicted.

How the work is shared: every context starts with the same tokens (chat template and system
prompt), run once per model. Then each question is one row of a batch: its own context tokens,
followed by all its options side by side, with an attention mask that lets each option see the
context and itself but not the other options, and positions that restart at the end of the
context for every option. A question with four options thus costs its own tokens plus the
options' tokens, in one forward pass, not four times the whole prompt (measured on the embedded
model: see the README). Models whose cache is not plain full attention (sliding windows,
state-space layers) or whose attention takes no explicit mask score every option on its whole
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
    """Each question's option scores, in input order. Questions are sorted by row length
    (context plus options) and cut into batches of `batch_size`, so a batch holds rows of similar
    length (little padding); `on_batch(n)` is called after each batch."""
    import torch

    order = sorted(range(len(questions)), key=lambda i: -_row_length(questions[i]))
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
    cache layers are not all plain full-attention ones or its attention takes no explicit mask."""
    import torch
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    decoder = model.get_decoder()
    cache = DynamicCache(config=decoder.config)
    if (any(type(layer) is not DynamicLayer for layer in cache.layers)
            or getattr(decoder.config, "_attn_implementation", None) not in ("sdpa", "eager")):
        return None
    prefix = shared_prefix([list(c) for c in contexts])
    if prefix:
        device = decoder.device
        decoder(input_ids=torch.tensor([prefix], device=device), position_ids=torch.arange(len(prefix), device=device)[None],
                past_key_values=cache, use_cache=True)
    prefix_kv = [(layer.keys, layer.values) for layer in cache.layers] if prefix else None
    return lambda chunk: _score_packed(model, decoder, chunk, len(prefix), prefix_kv)


@dataclass(frozen=True)
class _Row:
    """One question packed into one row: its own context tokens, then every option but its last
    token; `group` marks each token as context (-1) or option j; `picks` are the positions whose
    hidden state predicts each option token."""

    tokens: list[int]
    positions: list[int]
    group: list[int]
    picks: list[list[int]]


def _pack(question: EncodedQuestion, prefix_len: int) -> _Row:
    own = list(question.context[prefix_len:])  # never empty: the shared prefix stops one short
    context_len = len(question.context)
    last = len(own) - 1
    row = _Row(own, list(range(prefix_len, context_len)), [-1] * len(own), [])
    for j, option in enumerate(question.options):
        start = len(row.tokens)
        row.tokens.extend(option[:-1])
        row.positions.extend(range(context_len, context_len + len(option) - 1))
        row.group.extend([j] * (len(option) - 1))
        # The first option token is predicted from the context's last token, shared by all options.
        row.picks.append([last, *range(start, start + len(option) - 1)])
    return row


def _score_packed(model: Any, decoder: Any, chunk: list[EncodedQuestion], prefix_len: int,
                  prefix_kv: list[tuple[Any, Any]] | None) -> list[tuple[OptionScore, ...]]:
    """One forward pass for the batch: a row per question (its context, then its options side by
    side), on the prefix's keys and values. The mask lets a context token see the prefix and the
    context before it, and an option token the prefix, the whole context and its own option's
    earlier tokens: the same attention as `context + option` run alone, positions included."""
    import torch
    from transformers import DynamicCache

    device = decoder.device
    rows = [_pack(q, prefix_len) for q in chunk]
    width = max(len(r.tokens) for r in rows)
    ids = torch.zeros((len(rows), width), dtype=torch.long)
    positions = torch.zeros((len(rows), width), dtype=torch.long)
    group = torch.full((len(rows), width), -2, dtype=torch.long)  # -2: padding
    for i, r in enumerate(rows):
        ids[i, :len(r.tokens)] = torch.tensor(r.tokens)
        positions[i, :len(r.tokens)] = torch.tensor(r.positions)
        group[i, :len(r.tokens)] = torch.tensor(r.group)
    index = torch.arange(width)
    earlier = index[None, :, None] >= index[None, None, :]  # [1, query, key]
    visible = (group[:, None, :] == -1) | (group[:, None, :] == group[:, :, None])
    allowed = torch.cat([torch.ones((len(rows), width, prefix_len), dtype=torch.bool), earlier & visible], dim=2)
    dtype = next(decoder.parameters()).dtype
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill(~allowed, torch.finfo(dtype).min)[:, None]
    cache = (DynamicCache(ddp_cache_data=[(k.expand(len(rows), -1, -1, -1), v.expand(len(rows), -1, -1, -1))
                                          for k, v in prefix_kv]) if prefix_kv else None)
    hidden = decoder(input_ids=ids.to(device), attention_mask=mask.to(device), position_ids=positions.to(device),
                     past_key_values=cache, use_cache=cache is not None).last_hidden_state
    row_of = torch.tensor([i for i, r in enumerate(rows) for picks in r.picks for _ in picks], device=device)
    at = torch.tensor([p for r in rows for picks in r.picks for p in picks], device=device)
    targets = [token for q in chunk for option in q.options for token in option]
    logprobs = _token_logprobs(model, hidden[row_of, at], torch.tensor(targets, device=device))
    return _per_question(chunk, [len(option) for q in chunk for option in q.options], logprobs)


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


def _row_length(question: EncodedQuestion) -> int:
    return len(question.context) + sum(len(option) - 1 for option in question.options)


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
