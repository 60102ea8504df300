"""Training throughput: TRL's SFTTrainer at its defaults vs telcotune's training path.

Both train the embedded model (SmolLM2-135M-Instruct) with the same LoRA configuration
(r 16, alpha 32, dropout 0.05, q_proj + v_proj), batch 8, on the same conversations, in one
process, one after the other. Each does WARMUP optimizer steps that are not timed, then STEPS
timed ones. Reported: non-padding tokens per second (tokens of the conversations, padding
excluded, whether or not they are in the loss), the ratio, and model FLOP/s as a fraction of
this machine's matmul rate measured here (2048 x 2048 bf16 and fp32).

TRL baseline: `SFTConfig()` defaults except what the comparison needs: `bf16=False` (TRL's default
bf16=True refuses to start on a CPU-only machine unless `use_cpu` is set, so a CPU user ends up
in fp32), padded batches of 8 (no packing, no padding-free), gradient checkpointing on (TRL's
default), loss on all tokens (its default for a `messages` data set), max_length 1024.
`--trl-bf16` also measures TRL with bf16 autocast (`use_cpu=True, bf16=True`) and gradient
checkpointing off, i.e. TRL tuned by hand.

Model FLOPs per token: 4 x (matmul parameters, LM head included, embedding lookup excluded) for
the forward pass and the activation gradients (the base weights are frozen, so no weight
gradients), plus 6 x the LoRA parameters, plus causal attention (12 x layers x d_model x L/2).
The same count is used for both paths, so the FLOP/s ratio equals the tokens/s ratio.

telcotune runs first; its training sets glibc's malloc to keep freed memory
(`precision.keep_freed_memory`), which is process-wide, so TRL, measured after it in the same
process, gets that speed-up too: the ratio is, if anything, understated.

    .venv/bin/python bench/train_throughput.py [--data DATA_DIR] [--steps 3] [--warmup 1]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

import torch

MODEL = "smollm2-135m-instruct"
LORA = dict(r=16, alpha=32, dropout=0.05, targets="qv")
BATCH = 8

# Synthetic telecom support conversations, shaped like the data stage's (system prompt, 1-4
# customer turns, assistant answers of a few sentences).
PROBLEMS = [
    "my mobile data says connected but no page loads", "the router lights are red since this morning",
    "I was charged for roaming in France although I had a travel pass", "Wi-Fi calling drops as soon as I get home",
    "the fibre box shows LOS in red", "my eSIM disappeared after a software update",
    "calls go straight to voicemail", "the broadband speed is a tenth of what I pay for",
    "I cannot receive texts from short codes", "my bill shows a premium SMS subscription I never asked for",
]
STEPS_TEXT = [
    "First, please check that the APN settings match the ones on our website, then restart the phone.",
    "Could you reset the router by holding the reset button for ten seconds and wait until the lights settle?",
    "Roaming charges apply only outside the fair use policy; I can see the pass was activated a day late.",
    "Please enable VoWiFi in Settings, make sure the phone software is up to date, and try again.",
    "A red LOS light means the optical signal is lost; check that the green fibre cable is firmly plugged in.",
    "I have sent a new eSIM activation code to your email; scan it from Settings, Mobile network, Add eSIM.",
    "Call forwarding seems to be set to unconditional; dial ##002# to clear every forwarding rule.",
    "Let us run a line test: it checks the sync speed between your router and the exchange.",
    "Short codes can be blocked by the premium content bar; I can lift it for you if you confirm.",
    "I have removed the subscription and refunded the last three charges to your account.",
]


def synthetic_rows(n: int, seed: int = 0) -> list[dict]:
    from telcotune.data.conversation import SYSTEM_PROMPT

    rng = random.Random(seed)
    rows = []
    for i in range(n):
        messages = [{"role": "system", "content": SYSTEM_PROMPT}]
        for t in range(rng.randint(1, 4)):
            q = rng.choice(PROBLEMS)
            messages.append({"role": "user", "content": (f"Hi, {q}." if t == 0 else f"I tried that, but {q}.")})
            answer = " ".join(rng.sample(STEPS_TEXT, rng.randint(2, 5)))
            messages.append({"role": "assistant", "content": f"I am sorry to hear that. {answer} Is there anything else?"})
        rows.append({"id": f"b{i}", "scenario_id": f"s{i}", "term": "", "cause": "", "context": "",
                     "persona": "", "messages": messages})
    return rows


def write_rows(folder: Path, train: list[dict], val: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, rows in (("train", train), ("val", val)):
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def read_rows(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def matmul_rate(dtype: torch.dtype, n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n).to(dtype), torch.randn(n, n).to(dtype)
    for _ in range(3):
        a @ b
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n**3 * reps / (time.perf_counter() - t)


def flops_per_token(model_dir: Path, lora_params: int, mean_len: float) -> float:
    from transformers import AutoConfig, AutoModelForCausalLM

    from telcotune.train.lora import linear_module_names

    config = AutoConfig.from_pretrained(model_dir)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)
    mods = dict(model.named_modules())
    matmul = sum(mods[n].weight.numel() for n in linear_module_names(model))
    attention = 12 * config.num_hidden_layers * config.hidden_size * mean_len / 2
    return 4 * matmul + 6 * lora_params + attention


# ---------------------------------------------------------------- TRL


def run_trl(model_dir: Path, rows: list[dict], warmup: int, steps: int, tuned: bool, tmp: Path) -> dict:
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    timings: list[float] = []
    tokens: list[int] = []
    padded: list[int] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            timings.append(time.perf_counter() - self.t)

    class CountingSFTTrainer(SFTTrainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            mask = inputs.get("attention_mask")
            ids = inputs["input_ids"]
            tokens.append(int(mask.sum()) if mask is not None else ids.numel())
            padded.append(ids.numel())
            return super().training_step(model, inputs, num_items_in_batch)

    out = str(tmp / ("trl-tuned" if tuned else "trl"))
    extra = dict(use_cpu=True, bf16=True, gradient_checkpointing=False) if tuned else dict(bf16=False)
    args = SFTConfig(output_dir=out, max_steps=warmup + steps, report_to="none", save_strategy="no",
                     logging_steps=10_000, disable_tqdm=True, seed=0, **extra)
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    lora = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                      target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = CountingSFTTrainer(model=model, args=args, train_dataset=Dataset.from_list(
        [{"messages": r["messages"]} for r in rows]), processing_class=tokenizer, peft_config=lora,
        callbacks=[Timer()])
    trainer.train()
    per_step = args.gradient_accumulation_steps  # micro-batches per optimizer step
    tok = [sum(tokens[i * per_step:(i + 1) * per_step]) for i in range(len(timings))]
    pad = [sum(padded[i * per_step:(i + 1) * per_step]) for i in range(len(timings))]
    t, n = sum(timings[warmup:]), sum(tok[warmup:])
    return {"name": "trl-sft-tuned" if tuned else "trl-sft-defaults", "tokens": n, "seconds": t,
            "tokens_per_s": n / t, "best_step_tokens_per_s": max(a / b for a, b in zip(tok[warmup:], timings[warmup:])),
            "pad_fraction": 1 - n / max(1, sum(pad[warmup:])),
            "precision": "bf16" if tuned else "fp32", "gradient_checkpointing": args.gradient_checkpointing,
            "step_s": timings}


# ---------------------------------------------------------------- telcotune


def run_telcotune(data_dir: Path, warmup: int, steps: int, tmp: Path) -> dict:
    from telcotune.config import TrainConfig
    from telcotune.energy.base import NullMeter
    from telcotune.models import ModelRef
    from telcotune.train import train_run

    out = tmp / "telcotune-run"
    cfg = TrainConfig(**LORA, batch_size=BATCH, max_length=1024, max_steps=warmup + steps,
                      eval_every=10_000, save_every=10_000, max_val_examples=8)
    metrics = train_run(data_dir, out, cfg, ModelRef(MODEL), meter=NullMeter(), progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    prev = [0] + [r["tokens_seen"] for r in rows]
    tok = [b - a for a, b in zip(prev, prev[1:])]
    secs = [n / r["tokens_per_s"] for n, r in zip(tok, rows)]
    n, t = sum(tok[warmup:]), sum(secs[warmup:])
    return {"name": "telcotune", "tokens": n, "seconds": t, "tokens_per_s": n / t,
            "best_step_tokens_per_s": max(r["tokens_per_s"] for r in rows[warmup:]),
            "pad_fraction": metrics.pad_fraction, "precision": metrics.precision,
            "gradient_checkpointing": False, "step_s": secs, "trainable_params": metrics.trainable_params,
            "precision_probe": metrics.precision_probe}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="A data folder (train.jsonl, val.jsonl); default: synthetic.")
    parser.add_argument("--steps", type=int, default=3, help="Timed optimizer steps per path.")
    parser.add_argument("--warmup", type=int, default=1, help="Untimed steps first.")
    parser.add_argument("--trl-bf16", action="store_true", help="Also time TRL with bf16 and no checkpointing.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()

    import warnings

    import datasets
    import transformers

    from telcotune.models import resolve_model
    from telcotune.train.precision import use_threads

    warnings.filterwarnings("ignore")
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    load_before = os.getloadavg()[0]

    threads = use_threads()
    model_dir = resolve_model(MODEL)
    n_train = BATCH * (args.warmup + args.steps) * 2
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        if args.data:
            train_rows = read_rows(args.data / "train.jsonl")[:n_train]
            val_rows = read_rows(args.data / "val.jsonl")[:8]
        else:
            train_rows, val_rows = synthetic_rows(n_train, seed=0), synthetic_rows(8, seed=1)
        tmp = Path(tmp)
        data_dir = write_rows(tmp / "data", train_rows, val_rows)

        started = time.perf_counter()
        peak_bf16, peak_fp32 = matmul_rate(torch.bfloat16), matmul_rate(torch.float32)
        print(f"threads {threads}; matmul 2048^2: bf16 {peak_bf16 / 1e12:.2f} TFLOP/s, "
              f"fp32 {peak_fp32 / 1e12:.2f} TFLOP/s", flush=True)
        results = [run_telcotune(data_dir, args.warmup, args.steps, tmp)]
        probe = results[0]["precision_probe"] or {}
        print(f"telcotune: {results[0]['tokens_per_s']:.0f} tok/s ({results[0]['precision']}; auto-precision "
              f"probe: bf16 {probe.get('bf16_speedup', float('nan')):.2f}x fp32)", flush=True)
        results.append(run_trl(model_dir, train_rows, args.warmup, args.steps, tuned=False, tmp=tmp))
        print(f"trl defaults: {results[1]['tokens_per_s']:.0f} tok/s", flush=True)
        if args.trl_bf16:
            results.append(run_trl(model_dir, train_rows, args.warmup, args.steps, tuned=True, tmp=tmp))

    from telcotune.models import load_tokenizer
    from telcotune.train.tokenize import encode_conversation

    tok = load_tokenizer(model_dir)
    mean_len = sum(len(encode_conversation(tok, r["messages"])[0]) for r in train_rows) / len(train_rows)
    fpt = flops_per_token(model_dir, results[0]["trainable_params"], mean_len)
    base = next(r for r in results if r["name"] == "trl-sft-defaults")
    print(f"\n{'path':18} {'precision':9} {'tok/s':>8} {'x TRL':>6} {'best-step':>9} {'x TRL':>6} "
          f"{'GFLOP/s':>8} {'% bf16 peak':>11} {'% fp32 peak':>11} {'pad':>5}")
    for r in results:
        r["model_flops_per_s"] = r["tokens_per_s"] * fpt
        r["x_trl_defaults"] = r["tokens_per_s"] / base["tokens_per_s"]
        r["best_step_x_trl_defaults"] = r["best_step_tokens_per_s"] / base["best_step_tokens_per_s"]
        print(f"{r['name']:18} {r['precision']:9} {r['tokens_per_s']:8.0f} {r['x_trl_defaults']:6.2f} "
              f"{r['best_step_tokens_per_s']:9.0f} {r['best_step_x_trl_defaults']:6.2f} "
              f"{r['model_flops_per_s'] / 1e9:8.1f} {100 * r['model_flops_per_s'] / peak_bf16:10.1f}% "
              f"{100 * r['model_flops_per_s'] / peak_fp32:10.1f}% {100 * r['pad_fraction']:4.0f}%")
    print(f"\nmodel FLOPs/token {fpt / 1e9:.3f} G (mean conversation {mean_len:.0f} tokens); "
          f"{args.warmup} warm-up + {args.steps} timed steps of batch {BATCH} each; "
          f"bench took {time.perf_counter() - started:.0f} s; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after (2 cores: above ~2 other processes share them)")
    if args.json:
        args.json.write_text(json.dumps({"peak_bf16": peak_bf16, "peak_fp32": peak_fp32, "threads": threads,
                                         "flops_per_token": fpt, "mean_len": mean_len, "results": results},
                                        indent=2))


if __name__ == "__main__":
    sys.exit(main())
