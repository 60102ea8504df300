"""Batched generation (telcotune's evaluation path) versus one-prompt-at-a-time `generate` on
the embedded model: the same prompts, greedy, measured side by side in one run.

Target: batched >= 8x the tokens/s of one at a time. The batch size and answer length default
to the evaluation's own defaults (`eval.batch_size`, `eval.max_new_tokens`), so the ratio is
the one `telcotune evaluate` gets. Also measured: the same batches through `model.generate`
(padded prefill, static cache, every row decoded until the batch's last one stops: telcotune's
path before `prefill.py` and `decode.py`), and the per-step cost of one row's decoding in
telcotune's loop, in `model.generate`, and in a bare forward pass (the loop's overhead is the
difference to the bare pass).

    .venv/bin/python bench/generate_throughput.py [--prompts 32] [--batch-size N] [--max-new-tokens N]
"""

from __future__ import annotations

import argparse
import os
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

TARGET_RATIO = 8.0


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


def batched_generate(model, tokenizer, prompts, max_new_tokens: int, batch_size: int) -> tuple[int, float]:
    """The same batches through `model.generate`: the left-padded batch prefilled pad tokens
    included, every row decoded until the batch's last one stops."""
    import telcotune.generation as generation

    ragged = generation.ragged_prefill
    generation.ragged_prefill = lambda *args, **kwargs: None
    try:
        return batched(model, tokenizer, prompts, max_new_tokens, batch_size)
    finally:
        generation.ragged_prefill = ragged


def step_costs(model, tokenizer, conversation, steps: int = 48) -> dict[str, float]:
    """Seconds per decoding step of one row, `steps` forced steps (no stop token): telcotune's
    loop, `model.generate`, and the bare forward pass with a growing cache."""
    import telcotune.generation as generation
    from transformers import DynamicCache, GenerationConfig

    ids = prompt_ids(tokenizer, conversation)
    stops = generation.stop_token_ids
    generation.stop_token_ids = lambda *args: []
    try:
        t = time.perf_counter()
        generate_batch(model, tokenizer, [conversation], max_new_tokens=1)
        prefill = time.perf_counter() - t
        t = time.perf_counter()
        generate_batch(model, tokenizer, [conversation], max_new_tokens=steps + 1)
        ours = (time.perf_counter() - t - prefill) / steps
    finally:
        generation.stop_token_ids = stops
    x = torch.tensor([ids])
    config = GenerationConfig(do_sample=False, top_k=None, top_p=None, eos_token_id=None,
                              pad_token_id=tokenizer.pad_token_id)
    with torch.inference_mode():
        t = time.perf_counter()
        model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=1,
                       generation_config=config)
        prefill = time.perf_counter() - t
        t = time.perf_counter()
        model.generate(input_ids=x, attention_mask=torch.ones_like(x), max_new_tokens=steps + 1,
                       generation_config=config)
        theirs = (time.perf_counter() - t - prefill) / steps
        cache = DynamicCache(config=model.config)
        model(input_ids=x, past_key_values=cache, use_cache=True, logits_to_keep=1)
        token = torch.tensor([[ids[-1]]])
        t = time.perf_counter()
        for k in range(steps):
            model(input_ids=token, position_ids=torch.tensor([[len(ids) + k]]), past_key_values=cache,
                  use_cache=True, logits_to_keep=1)
        bare = (time.perf_counter() - t) / steps
    return {"telcotune": ours, "generate": theirs, "bare": bare}


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
    padded_tokens, padded_s = batched_generate(model, tokenizer, prompts, args.max_new_tokens, args.batch_size)
    costs = step_costs(model, tokenizer, prompts[0])
    single_rate, batch_rate, padded_rate = single_tokens / single_s, batch_tokens / batch_s, padded_tokens / padded_s
    lengths = sorted(len(prompt_ids(tokenizer, p)) for p in prompts)
    print(f"threads {torch.get_num_threads()}, {len(prompts)} prompts of {lengths[0]}-{lengths[-1]} tokens, "
          f"up to {args.max_new_tokens} new tokens, fp32")
    print(f"one at a time: {single_tokens} tokens in {single_s:.1f} s = {single_rate:.1f} tokens/s")
    print(f"batched ({args.batch_size}):  {batch_tokens} tokens in {batch_s:.1f} s = {batch_rate:.1f} tokens/s")
    print(f"  same batches through model.generate: {padded_tokens} tokens in {padded_s:.1f} s = "
          f"{padded_rate:.1f} tokens/s ({padded_rate / single_rate:.2f}x one at a time)")
    print(f"one row's decoding step: telcotune loop {1000 * costs['telcotune']:.1f} ms, model.generate "
          f"{1000 * costs['generate']:.1f} ms, bare forward {1000 * costs['bare']:.1f} ms (loop overhead "
          f"{1000 * (costs['telcotune'] - costs['bare']):.1f} ms vs {1000 * (costs['generate'] - costs['bare']):.1f} ms)")
    ratio = batch_rate / single_rate
    print(f"ratio {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x): {'MET' if ratio >= TARGET_RATIO else 'MISSED'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
