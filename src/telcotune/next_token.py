"""Next-token distributions from one forward pass per prompt, without generating.

A judge that asks for its score first needs only the distribution of the token after
`{"overall": ` (G-Eval's probability-weighted score): one forward pass over the prompt gives it,
where generating a JSON reply took 60 decoding steps. Judge prompts share most of their tokens:
every prompt starts with the same instructions, and the answers of all runs to one evaluation
prompt share its reference and conversation, only the answer at the end differs. So prompts are
run in sorted order through one KV cache that keeps the longest common prefix with the previous
prompt and computes only the rest (a prefix tree walked depth first); only the last positions
go through the LM head. With 17 runs on one prompt, the conversation is computed once, not 17
times.

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
    choices: dict[str, float]
    """Each asked-for one-token choice -> its log-probability after the prompt (empty: none asked)."""
    prompt_tokens: int
    latency_s: float
    """Wall time of the batch this prompt ran in."""


def next_token_logprobs(model: Any, tokenizer: Any, conversations: list[list[dict]], *, top_k: int,
                        prefills: list[str | None] | None = None, probes: list[str | None] | None = None,
                        choices: list[tuple[str, ...] | None] | None = None,
                        batch_size: int = 32) -> list[NextTokens]:
    """`batch_size`: prompts timed together (their `latency_s`); the cache carries over."""
    """Distributions after each chat-templated conversation (assistant turn opened, its prefill
    begun), in input order."""
    import torch

    prefills = prefills or [None] * len(conversations)
    probes = probes or [None] * len(conversations)
    prompts = [prompt_ids(tokenizer, c, p) for c, p in zip(conversations, prefills)]
    probe_ids = [tokenizer(p, add_special_tokens=False)["input_ids"] if p else [] for p in probes]
    asked = choices or [()] * len(conversations)
    ids_of = {c: _one_token_ids(tokenizer, c) for c in set(a or () for a in asked)}  # a judge asks alike
    choice_ids = [ids_of[c or ()] for c in asked]
    # Similar prompts side by side share a longer prefix (the same answer judged twice, ...).
    order = sorted(range(len(prompts)), key=lambda i: prompts[i])
    decode = _Decoder(tokenizer)
    results: list[NextTokens | None] = [None] * len(prompts)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            walker = _PrefixWalker(model)
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                started = time.perf_counter()
                rows = [walker.logprobs(prompts[i] + probe_ids[i], len(probe_ids[i]), top_k,
                                        list(choice_ids[i].values())) for i in chunk]
                latency_s = time.perf_counter() - started
                for i, (values, ids, chosen) in zip(chunk, rows):
                    tops = [decode.top(v, t) for v, t in zip(values, ids)]
                    token = decode(int(ids[0][0]))
                    results[i] = NextTokens(token, float(values[0][0]), tops[0], tuple(tops[1:]),
                                            dict(zip(choice_ids[i], chosen)), len(prompts[i]), latency_s)
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]


class _PrefixWalker:
    """One KV cache walked through prompts in sorted order: each prompt reuses the longest prefix
    it shares with the one before and runs only the rest."""

    def __init__(self, model: Any):
        from transformers import DynamicCache

        self.model = model
        self.cache = DynamicCache(config=model.config)
        self.held: list[int] = []
        """The tokens whose keys and values the cache holds."""

    def logprobs(self, tokens: list[int], n_probe: int, top_k: int,
                 choice_ids: list[int]) -> tuple[list[list[float]], list[list[int]], list[float]]:
        """(top log-probabilities, their token ids), each (1 + n_probe, top_k): after the prompt's
        last token, then after each probe token; and the log-probabilities of `choice_ids` after
        the prompt."""
        import torch

        keep = n_probe + 1  # these positions' logits are wanted, so they are run, never reused
        common = min(_common_length(self.held, tokens), len(tokens) - keep)
        if len(self.held) > common:
            self.cache.crop(common - len(self.held))
        device = self.model.device
        rest = tokens[common:]
        positions = torch.arange(common, len(tokens), device=device)[None]
        logits = self.model(input_ids=torch.tensor([rest], device=device), position_ids=positions,
                            past_key_values=self.cache, use_cache=True, logits_to_keep=keep).logits[0, -keep:]
        self.held = list(tokens)
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        values, ids = logprobs.topk(top_k, dim=-1)
        return values.tolist(), ids.tolist(), logprobs[0, choice_ids].tolist()


def _one_token_ids(tokenizer: Any, choices: tuple[str, ...]) -> dict[str, int]:
    """Choice text -> its token id, for the choices that are one token."""
    ids = {c: tokenizer(c, add_special_tokens=False)["input_ids"] for c in choices}
    return {c: i[0] for c, i in ids.items() if len(i) == 1}


def _common_length(a: list[int], b: list[int]) -> int:
    n = min(len(a), len(b))
    for i in range(n):
        if a[i] != b[i]:
            return i
    return n


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
