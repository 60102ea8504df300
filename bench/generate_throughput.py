"""Batched generation (telcotune's evaluation path) versus one-prompt-at-a-time `generate` on
the embedded model: the same prompts, greedy, measured side by side in one run.

Target: batched >= 4x the tokens/s of one at a time. The batch size and answer length default
to the evaluation's own defaults (`eval.batch_size`, `eval.max_new_tokens`), so the ratio is
the one `telcotune evaluate` gets.

    .venv/bin/python bench/generate_throughput.py [--prompts 32] [--batch-size N] [--max-new-tokens N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from telcotune.config import DataConfig, EvalConfig
from telcotune.data.conversation import prompt_of
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.generation import generate_batch, prompt_ids, stop_token_ids
from telcotune.models import load_model, load_tokenizer, resolve_model

TARGET_RATIO = 4.0


def eval_prompts(n: int) -> list[list[dict]]:
    with tempfile.TemporaryDirectory() as tmp:
        run_data_stage(DataConfig(per_scenario=1), Path(tmp) / "data", progress=False)
        rows = read_jsonl(Path(tmp) / "data" / "test.jsonl")[:n]
    return [prompt_of(r["messages"]) for r in rows]


def one_at_a_time(model, tokenizer, prompts, max_new_tokens: int) -> tuple[int, float]:
    stops = stop_token_ids(model, tokenizer)
    tokens, started = 0, time.perf_counter()
    for conversation in prompts:
        ids = tokenizer.apply_chat_template(conversation, add_generation_prompt=True, return_tensors="pt",
                                            return_dict=True)
        with torch.inference_mode():
            out = model.generate(**ids, max_new_tokens=max_new_tokens, do_sample=False, eos_token_id=stops,
                                 pad_token_id=tokenizer.pad_token_id)
        new = out[0, ids["input_ids"].shape[1]:].tolist()
        tokens += next((k for k, t in enumerate(new) if t in stops), len(new))
    return tokens, time.perf_counter() - started


def batched(model, tokenizer, prompts, max_new_tokens: int, batch_size: int) -> tuple[int, float]:
    started = time.perf_counter()
    results = generate_batch(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)
    return sum(r.new_tokens for r in results), time.perf_counter() - started


def batched_padded_prefill(model, tokenizer, prompts, max_new_tokens: int, batch_size: int) -> tuple[int, float]:
    """The same batches with the ragged prefill switched off: transformers prefills the
    left-padded batch, pad tokens included (what telcotune did before `prefill.py`)."""
    import telcotune.generation as generation

    ragged = generation.ragged_prefill
    generation.ragged_prefill = lambda *args, **kwargs: None
    try:
        return batched(model, tokenizer, prompts, max_new_tokens, batch_size)
    finally:
        generation.ragged_prefill = ragged


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = EvalConfig()
    parser.add_argument("--prompts", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=defaults.batch_size)
    parser.add_argument("--max-new-tokens", type=int, default=defaults.max_new_tokens)
    args = parser.parse_args()
    folder = resolve_model("smollm2-135m-instruct")
    model, tokenizer = load_model(folder), load_tokenizer(folder)
    prompts = eval_prompts(args.prompts)
    batched(model, tokenizer, prompts[:2], 4, 2)  # warm-up: first-call allocations
    single_tokens, single_s = one_at_a_time(model, tokenizer, prompts, args.max_new_tokens)
    batch_tokens, batch_s = batched(model, tokenizer, prompts, args.max_new_tokens, args.batch_size)
    padded_tokens, padded_s = batched_padded_prefill(model, tokenizer, prompts, args.max_new_tokens, args.batch_size)
    single_rate, batch_rate, padded_rate = single_tokens / single_s, batch_tokens / batch_s, padded_tokens / padded_s
    lengths = sorted(len(prompt_ids(tokenizer, p)) for p in prompts)
    print(f"threads {torch.get_num_threads()}, {len(prompts)} prompts of {lengths[0]}-{lengths[-1]} tokens, "
          f"up to {args.max_new_tokens} new tokens, fp32")
    print(f"one at a time: {single_tokens} tokens in {single_s:.1f} s = {single_rate:.1f} tokens/s")
    print(f"batched ({args.batch_size}):  {batch_tokens} tokens in {batch_s:.1f} s = {batch_rate:.1f} tokens/s")
    print(f"  same batches, padded prefill: {padded_tokens} tokens in {padded_s:.1f} s = {padded_rate:.1f} tokens/s "
          f"({padded_rate / single_rate:.2f}x one at a time)")
    ratio = batch_rate / single_rate
    print(f"ratio {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x): {'MET' if ratio >= TARGET_RATIO else 'MISSED'}")


if __name__ == "__main__":
    main()
