"""The one batched-generation function: chat conversations in, replies with token counts out.

Used by the `local` LLM backend and by the evaluation stage (base model and adapters), so both
decode the same way: chat template with a generation prompt, length-sorted batches prefilled
without padding (`prefill.py`) and decoded with finished rows leaving the batch (`decode.py`),
each token picked as `serve` picks it (`decoding.py`: the evaluation passes the study's
`decoding` section, so answers judged are decoded as answers served), stop at the end-of-turn token.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from .config import DecodingConfig
from .decoding import PLAIN_GREEDY, adjust_scores, penalised
from .errors import ConfigError
from .prefill import ragged_prefill

# End-of-turn tokens of common chat templates; the tokenizer's eos is always a stop too.
END_OF_TURN_TOKENS = ("<|im_end|>", "<|eot_id|>", "<end_of_turn>", "<|end|>")


@dataclass(frozen=True)
class GenerationResult:
    text: str
    prompt_tokens: int
    new_tokens: int
    """Generated tokens before the stop token (the stop token itself is not counted)."""
    latency_s: float
    """Wall time of the batch this conversation ran in."""


def generate_batch(model: Any, tokenizer: Any, conversations: list[list[dict]], *, max_new_tokens: int,
                   decoding: DecodingConfig = PLAIN_GREEDY, seed: int = 0, batch_size: int = 8,
                   prefills: list[str | None] | None = None,
                   on_batch: Callable[[int], None] | None = None) -> list[GenerationResult]:
    """Reply to each conversation, in input order, picking tokens by `decoding` (its penalties
    over each reply so far; greedy when its temperature is 0, else sampling seeded per batch (so a result depends on `seed` and on which batch it landed in)). A prefill
    starts the reply; the model continues it (the result's text excludes the prefill).
    `on_batch(n)` is called after each batch with its number of conversations (progress bars).
    Pass every conversation in one call: batches are cut from all of them sorted by length."""
    import torch

    prefills = prefills or [None] * len(conversations)
    prompts = [prompt_ids(tokenizer, c, prefill) for c, prefill in zip(conversations, prefills)]
    stops = stop_token_ids(model, tokenizer)
    # Longest first: similar lengths share a batch (little padding) and memory trouble shows early.
    order = sorted(range(len(prompts)), key=lambda i: -len(prompts[i]))
    results: list[GenerationResult | None] = [None] * len(prompts)
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                chunk = order[start:start + batch_size]
                batch_seed = seed + start // batch_size
                outputs = _generate(model, tokenizer, [prompts[i] for i in chunk], stops,
                                    max_new_tokens, decoding, batch_seed)
                for i, result in zip(chunk, outputs):
                    results[i] = result
                if on_batch is not None:
                    on_batch(len(chunk))
    finally:
        model.train(was_training)
    return results  # type: ignore[return-value]


def prompt_ids(tokenizer: Any, conversation: list[dict], prefill: str | None = None) -> list[int]:
    """Token ids of the chat-templated conversation with the assistant's turn opened (and
    `prefill`, when given, already begun)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("the model's tokenizer has no chat template; use an instruct/chat model")
    text = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, tokenize=False)
    text += prefill or ""
    # The template already wrote any BOS it wants; adding special tokens again would double it.
    return tokenizer(text, add_special_tokens=False)["input_ids"]


def stop_token_ids(model: Any, tokenizer: Any) -> list[int]:
    ids = {tokenizer.eos_token_id}
    configured = getattr(getattr(model, "generation_config", None), "eos_token_id", None)
    ids.update(configured if isinstance(configured, list) else [configured])
    vocab = tokenizer.get_vocab()
    ids.update(vocab[t] for t in END_OF_TURN_TOKENS if t in vocab)
    return sorted(i for i in ids if i is not None)


def _left_pad(prompts: list[list[int]], pad_id: int):
    import torch

    width = max(len(p) for p in prompts)
    input_ids = torch.full((len(prompts), width), pad_id, dtype=torch.long)
    attention_mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, ids in enumerate(prompts):
        if ids:
            input_ids[row, width - len(ids):] = torch.tensor(ids, dtype=torch.long)
            attention_mask[row, width - len(ids):] = 1
    return input_ids, attention_mask


def _generate(model: Any, tokenizer: Any, prompts: list[list[int]], stops: list[int], max_new_tokens: int,
              decoding: DecodingConfig, seed: int) -> list[GenerationResult]:
    from .decode import decode

    started = time.perf_counter()
    cache = ragged_prefill(model, prompts, max_cache_len=max(len(p) for p in prompts) - 1 + max_new_tokens)
    with seeded(model.device, seed):
        if cache is not None:
            new = decode(model, cache, prompts, stops, max_new_tokens, decoding)
        else:
            new = _generate_padded(model, tokenizer, prompts, stops, max_new_tokens, decoding)
    latency_s = time.perf_counter() - started
    return [_result(tokenizer, len(p), tokens, set(stops), latency_s) for p, tokens in zip(prompts, new)]


def _generate_padded(model: Any, tokenizer: Any, prompts: list[list[int]], stops: list[int], max_new_tokens: int,
                     decoding: DecodingConfig) -> list[list[int]]:
    """`model.generate` on the left-padded batch: for models the ragged prefill does not cover.
    The penalties run as a logits processor (before temperature and top-p, as in `decoding.py`)."""
    from transformers import GenerationConfig, LogitsProcessorList

    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    input_ids, attention_mask = _left_pad(prompts, pad_id)
    temperature = decoding.temperature
    sampling = temperature > 0
    # A fresh config, so the model's own defaults (top_p, repetition penalty...) do not leak in.
    config = GenerationConfig(
        max_new_tokens=max_new_tokens, do_sample=sampling, temperature=temperature if sampling else None,
        top_k=None, top_p=decoding.top_p if sampling else None, eos_token_id=stops, pad_token_id=pad_id, cache_implementation="static",
    )
    extra = {}
    if penalised(decoding):
        extra["logits_processor"] = LogitsProcessorList([_penalties(decoding, input_ids.shape[1])])
    output = model.generate(input_ids=input_ids.to(model.device), attention_mask=attention_mask.to(model.device),
                            generation_config=config, **extra)
    return output[:, input_ids.shape[1]:].tolist()


def _penalties(decoding: DecodingConfig, prompt_width: int) -> Callable[[Any, Any], Any]:
    """`decoding.adjust_scores` as a `generate` logits processor: each row over its reply only
    (the columns after the left-padded prompts)."""
    def process(input_ids: Any, scores: Any) -> Any:
        scores = scores.float()
        for row in range(scores.shape[0]):
            adjust_scores(scores[row], input_ids[row, prompt_width:].tolist(), decoding)
        return scores
    return process


@contextlib.contextmanager
def seeded(device: Any, seed: int) -> Iterator[None]:
    """Seed the sampler without disturbing the caller's global RNG state (CPU, and the
    accelerator the model is on)."""
    import torch

    if device.type == "cpu":
        forked = torch.random.fork_rng(devices=[])
    else:
        forked = torch.random.fork_rng(devices=[device], device_type=device.type)
    with forked:
        torch.manual_seed(seed)
        yield


def _result(tokenizer: Any, prompt_tokens: int, tokens: list[int], stops: set[int],
            latency_s: float) -> GenerationResult:
    end = next((k for k, t in enumerate(tokens) if t in stops), len(tokens))
    text = tokenizer.decode(tokens[:end], skip_special_tokens=True)
    return GenerationResult(text=text, prompt_tokens=prompt_tokens, new_tokens=end, latency_s=latency_s)
