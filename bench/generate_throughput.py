"""Batched generation (telcotune's evaluation path) versus one-prompt-at-a-time `generate` on
the embedded model: the same prompts, greedy, measured side by side in one run.

Target: batched >= 8x the tokens/s of one at a time. The batch size and answer length default
to the evaluation's own defaults (`eval.batch_size`, `eval.max_new_tokens`), so the ratio is
the one `telcotune evaluate` gets. Also measured: the same batches through `model.generate`
(padded prefill, static cache, every row decoded until the batch's last one stops: telcotune's
path before `prefill.py` and `decode.py`), and the per-step cost of one row's decoding in
telcotune's loop, in `model.generate`, and in a bare forward pass (the loop's overhead is the
difference to the bare pass).

Where the batched time goes: its prefill and decode phases are timed, and set against a
roofline bound computed from this run's own rates: the fastest matmul over the model's own
weight shapes (FLOP/s) and a streaming read of a large tensor (bytes/s), with the arithmetic and
memory traffic counted from the model's shapes and the actual token counts (every weight read
once per decode step, every live row's keys and values once per step). The bound is what the
batched path would take if it ran at those rates; the best ratio it allows is printed beside the
measured one.

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
    tokens, elapsed_s, _ = batched_phases(model, tokenizer, prompts, max_new_tokens, batch_size)
    return tokens, elapsed_s


def batched_phases(model, tokenizer, prompts, max_new_tokens: int, batch_size: int):
    """Tokens, seconds, and the results with the seconds spent in the ragged prefill."""
    import telcotune.generation as generation

    ragged, prefill_s = generation.ragged_prefill, [0.0]

    def timed(*args, **kwargs):
        t = time.perf_counter()
        try:
            return ragged(*args, **kwargs)
        finally:
            prefill_s[0] += time.perf_counter() - t

    generation.ragged_prefill = timed
    try:
        started = time.perf_counter()
        results = generate_batch(model, tokenizer, prompts, max_new_tokens=max_new_tokens, batch_size=batch_size)
        elapsed_s = time.perf_counter() - started
    finally:
        generation.ragged_prefill = ragged
    return sum(r.new_tokens for r in results), elapsed_s, (results, prefill_s[0])


def best_matmul_rate(model, rows: int = 400, reps: int = 20) -> float:
    """FLOP/s of the fastest of the model's own linear shapes at `rows` input rows (a prefill's)."""
    shapes = {tuple(m.weight.shape) for m in model.modules() if isinstance(m, torch.nn.Linear)}
    best = 0.0
    for out_features, in_features in shapes:
        x, w = torch.randn(rows, in_features), torch.randn(out_features, in_features)
        torch.nn.functional.linear(x, w)
        t = time.perf_counter()
        for _ in range(reps):
            torch.nn.functional.linear(x, w)
        best = max(best, 2 * rows * in_features * out_features * reps / (time.perf_counter() - t))
    return best


def read_rate(size_bytes: int = 512 * 2**20, rounds: int = 3) -> float:
    """Bytes/s of summing a large fp32 tensor (memory to the cores), best of `rounds`."""
    x = torch.ones(size_bytes // 4)
    best = float("inf")
    for _ in range(rounds):
        t = time.perf_counter()
        x.sum()
        best = min(best, time.perf_counter() - t)
    return size_bytes / best


def roofline_s(model, tokenizer, prompts, results, batch_size: int, flop_rate: float, byte_rate: float):
    """(prefill, decode) seconds the batched path would take at `flop_rate` and `byte_rate`."""
    from telcotune.prefill import shared_prefix

    c = model.config
    head_dim = getattr(c, "head_dim", None) or c.hidden_size // c.num_attention_heads
    linear = sum(m.weight.numel() for m in model.get_decoder().modules() if isinstance(m, torch.nn.Linear))
    weights = linear + model.get_output_embeddings().weight.numel()
    attention_flops_per_column = 4 * c.num_hidden_layers * c.num_attention_heads * head_dim
    kv_bytes_per_column = 2 * c.num_hidden_layers * c.num_key_value_heads * head_dim * 4
    ids = [prompt_ids(tokenizer, p) for p in prompts]
    order = sorted(range(len(ids)), key=lambda i: -len(ids[i]))
    prefill_flops = decode_flops = decode_bytes = 0.0
    for start in range(0, len(order), batch_size):
        chunk = order[start:start + batch_size]
        prefix = len(shared_prefix([ids[i] for i in chunk]))
        for i in chunk:
            length, new = len(ids[i]), results[i].new_tokens
            prefill_flops += (2 * linear * (length - 1 - prefix)
                              + attention_flops_per_column * sum(range(prefix + 1, length)))
            decode_flops += new * 2 * weights + attention_flops_per_column * sum(range(length, length + new))
            decode_bytes += kv_bytes_per_column * sum(range(length, length + new))
        decode_bytes += 4 * weights * max(results[i].new_tokens for i in chunk)
    return prefill_flops / flop_rate, max(decode_flops / flop_rate, decode_bytes / byte_rate)


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
    batch_tokens, batch_s, (results, prefill_s) = batched_phases(model, tokenizer, prompts, args.max_new_tokens,
                                                                 args.batch_size)
    padded_tokens, padded_s = batched_generate(model, tokenizer, prompts, args.max_new_tokens, args.batch_size)
    costs = step_costs(model, tokenizer, prompts[0])
    flop_rate, byte_rate = best_matmul_rate(model), read_rate()
    bound_prefill_s, bound_decode_s = roofline_s(model, tokenizer, prompts, results, args.batch_size,
                                                 flop_rate, byte_rate)
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
    bound_s = bound_prefill_s + bound_decode_s
    print(f"batched phases: prefill {prefill_s:.1f} s, decode {batch_s - prefill_s:.1f} s; roofline at this "
          f"run's {flop_rate / 1e9:.0f} GFLOP/s and {byte_rate / 1e9:.1f} GB/s: prefill {bound_prefill_s:.1f} s, "
          f"decode {bound_decode_s:.1f} s, so batched runs at {bound_s / batch_s:.0%} of the roofline, "
          f"whose best ratio to the measured one at a time is {single_s / bound_s:.1f}x")
    ratio = batch_rate / single_rate
    print(f"ratio {ratio:.2f}x (target >= {TARGET_RATIO:.0f}x): {'MET' if ratio >= TARGET_RATIO else 'MISSED'}; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
