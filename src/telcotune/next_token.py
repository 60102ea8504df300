"""Next-token distributions from one forward pass per prompt, without generating.

A judge that asks for its score first needs only the distribution of the token after
`{"overall": ` (G-Eval's probability-weighted score): one forward pass over the prompt gives it,
where generating a JSON reply took 60 decoding steps. The prompts of a batch share their
instructions, so the shared token prefix is run once per batch and each prompt continues from
it (`prefill.shared_prefix`); only the last positions go through the LM head.

A `probe` (token text appended after the prompt) is teacher-forced in the same pass: the
distributions after each of its tokens come out of the same forward pass, e.g. the chance that
a "1" continues as "10".
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

from .generation import prompt_ids
from .prefill import shared_prefix


@dataclass(frozen=True)
class NextTokens:
    """The model's next-token distributions at the end of one prompt (and after each probe token)."""

    token: str
    """The most likely next token after the prompt."""
    logprob: float
    top: dict[str, float]
    """The `top_k` most likely next tokens after the prompt -> natural-log probability."""
    after_probe: tuple[dict[str, float], ...]
    """For each probe token, the `top_k` most likely tokens after it."""
    prompt_tokens: int
    latency_s: float
    """Wall time of the batch this prompt ran in."""


def next_token_logprobs(model: Any, tokenizer: Any, conversations: list[list[dict]], *, top_k: int,
                        prefills: list[str | None] | None = None, probes: list[str | None] | None = None,
                        batch_size: int = 32) -> list[NextTokens]:
    """Distributions after each chat-templated conversation (assistant turn opened, its prefill
    begun), in input order."""
    import torch

    prefills = prefills or [None] * len(conversations)
    probes = probes or [None] * len(conversations)
    prompts = [prompt_ids(tokenizer, c, p) for c, p in zip(conversations, prefills)]
    probe_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] if p else [] for p in probes]
    # Similar prompts side by side share a longer prefix (the same answer judged twice, ...).
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    decode = _Decoder(tokenizer)
    results: list[NextTokens | None] = [None] * len(prompts)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                started = time.perf_counter()
                rows = _batch(model, [prompts[i] + probe_ids[i] for i in chunk],
                              [len(probe_ids[i]) for i in chunk], top_k)
                latency_s = time.perf_counter() - started
                for i, (values, ids) in zip(chunk, rows):
                    tops = [decode.top(v, t) for v, t in zip(values, ids)]
                    token = decode(int(ids[0][0]))
                    results[i] = NextTokens(token, float(values[0][0]), tops[0], tuple(tops[1:]),
                                            len(prompts[i]), latency_s)
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]


def _batch(model: Any, sequences: list[list[int]], n_probe: list[int], top_k: int) -> list[tuple[Any, Any]]:
    """(top log-probabilities, their token ids), each (1 + probe length, top_k), per sequence."""
    import torch
    from transformers import DynamicCache

    device = model.device
    # Every sequence keeps its prompt's last token and its probe out of the prefix: their logits are wanted.
    prefix = shared_prefix(sequences)[:min(len(s) - n - 1 for s, n in zip(sequences, n_probe))]
    cache = DynamicCache(config=model.config)
    if prefix:
        model.get_decoder()(input_ids=torch.tensor([prefix], device=device), past_key_values=cache, use_cache=True)
    out = []
    for tokens, probe in zip(sequences, n_probe):
        rest = tokens[len(prefix):]
        positions = torch.arange(len(prefix), len(tokens), device=device)[None]
        keep = probe + 1  # the prompt's last position, then one per probe token
        logits = model(input_ids=torch.tensor([rest], device=device), position_ids=positions,
                       past_key_values=cache, use_cache=True, logits_to_keep=keep).logits[0, -keep:]
        cache.crop(-len(rest))  # back to the shared prefix for the next prompt
        values, ids = torch.log_softmax(logits.float(), dim=-1).topk(top_k, dim=-1)
        out.append((values.tolist(), ids.tolist()))
    return out


class _Decoder:
    """Token id -> its text (cached: the same score tokens come up in every prompt)."""

    def __init__(self, tokenizer: Any):
        self.tokenizer = tokenizer
        self.texts: dict[int, str] = {}

    def __call__(self, token_id: int) -> str:
        if token_id not in self.texts:
            self.texts[token_id] = self.tokenizer.decode([token_id])
        return self.texts[token_id]

    def top(self, values: list[float], ids: list[int]) -> dict[str, float]:
        out: dict[str, float] = {}
        for value, token_id in zip(values, ids):
            text = self(token_id)
            # Two ids may decode alike (a byte-level token and its merged twin): add them up.
            out[text] = math.log(math.exp(out[text]) + math.exp(value)) if text in out else value
        return out
