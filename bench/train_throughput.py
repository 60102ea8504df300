"""Training throughput: TRL's SFTTrainer at its defaults, TRL tuned, and telcotune, side by side.

All three train the embedded model (SmolLM2-135M-Instruct) with the same LoRA configuration
(r 16, alpha 32, dropout 0.05, q_proj + v_proj), batch 8 (`--batch`), on the same conversations, in one
process, one after the other. Each does WARMUP optimizer steps that are not timed, then WINDOWS
timed windows of WINDOW_STEPS steps; the median window is reported. Reported: non-padding tokens
per second (tokens of the conversations, padding excluded, whether or not they are in the loss),
telcotune's ratio to each TRL, peak resident memory (RSS, sampled every 20 ms) during each path,
and model FLOP/s as a share of this machine's matmul rate measured in the same run (2048 x 2048,
bf16 and fp32 both probed at the start, to pick the precision) at the precision each path used,
probed again right before and after each path (the mean of the two is that path's roofline: on
a shared machine the rate drifts).

(a) TRL defaults, kept for reference: `SFTConfig()` except `bf16=False` (TRL's default bf16=True
    refuses to start on a CPU-only machine unless `use_cpu` is set, so a CPU user ends up in
    fp32): gradient checkpointing on, random order (padded batches without grouping), loss on
    every token of a `messages` data set, max_length 1024.
(b) TRL tuned the way a careful user would: gradient checkpointing off, length-grouped sampling
    (`train_sampling_strategy="group_by_length"`), the same assistant-only labels as telcotune
    (pre-tokenized `input_ids`/`labels` from telcotune's own masks, so the data are identical),
    and the precision telcotune's `auto` picked (bf16 only where it is really faster).
(c) telcotune's `train_run` (length-grouped batches, LM head only at the target positions, its
    own loop).

Model FLOPs per token: 4 x (matmul parameters, LM head included, embedding lookup excluded) for
the forward pass and the activation gradients (the base weights are frozen, so no weight
gradients), plus 6 x the LoRA parameters, plus causal attention (12 x layers x d_model x L/2).
The same count is used for every path (telcotune's saving of the LM head off the targets counts
as speed, not as fewer FLOPs), so the FLOP/s ratios equal the tokens/s ratios.

glibc's malloc is set to keep freed memory (`precision.keep_freed_memory`, which telcotune's
training does) before any path runs, so all three get it; between paths the heap is trimmed
(`malloc_trim`) so each path's peak RSS is its own. On a CUDA GPU the peak GPU memory
(`max_memory_allocated`) of each path is printed too and the roofline is the GPU's matmul rate.

    .venv/bin/python bench/train_throughput.py [--data DATA_DIR] [--batch 8] [--warmup 2] [--windows 3] [--window-steps 2]
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


def matmul_rate(dtype: torch.dtype, device: torch.device, n: int = 2048, reps: int = 10, rounds: int = 3,
                budget_s: float = 6.0) -> float:
    """Best of `rounds` timings of `reps` n x n matmuls, FLOP/s. A precision so slow that this
    would take more than about `budget_s` (bf16 without native support ran at 0.3 GFLOP/s on one
    machine: a minute per 2048^2 matmul) is timed on smaller matrices and fewer of them."""
    small = 256
    a, b = torch.randn(small, small, device=device).to(dtype), torch.randn(small, small, device=device).to(dtype)
    a @ b
    _sync(device)
    t = time.perf_counter()
    a @ b
    _sync(device)
    rough_rate = 2 * small**3 / max(time.perf_counter() - t, 1e-9)
    while n > small and 2 * n**3 * reps * rounds / rough_rate > budget_s:
        n //= 2
    reps = max(1, min(reps, int(budget_s * rough_rate / (2 * n**3 * rounds))))
    a, b = torch.randn(n, n, device=device).to(dtype), torch.randn(n, n, device=device).to(dtype)
    for _ in range(min(3, reps)):
        a @ b
    best = float("inf")
    for _ in range(rounds):
        _sync(device)
        t = time.perf_counter()
        for _ in range(reps):
            a @ b
        _sync(device)
        best = min(best, time.perf_counter() - t)
    return 2 * n**3 * reps / best


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


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


class PeakRSS:
    """Peak resident set size of this process while the block runs (sampled every 20 ms), after
    giving freed heap back to the OS first so the peak is the block's own."""

    def __enter__(self):
        import ctypes
        import gc
        import threading

        gc.collect()
        try:
            ctypes.CDLL("libc.so.6").malloc_trim(0)
        except (OSError, AttributeError):
            pass
        self.before = self.peak = _rss_bytes()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, _rss_bytes())

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, _rss_bytes())


def _rss_bytes() -> int:
    return int(Path("/proc/self/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def windows(tokens: list[int], seconds: list[float], warmup: int, size: int) -> list[float]:
    """Tokens/s of consecutive windows of `size` steps after the first `warmup` steps."""
    rates = []
    for s in range(warmup, len(seconds) - size + 1, size):
        rates.append(sum(tokens[s:s + size]) / sum(seconds[s:s + size]))
    return rates


# ---------------------------------------------------------------- TRL


def trl_tuned_rows(tokenizer, rows: list[dict]) -> list[dict]:
    """Pre-tokenized rows with telcotune's own assistant masks as labels (-100 elsewhere)."""
    from telcotune.train.tokenize import encode_conversation

    out = []
    for r in rows:
        ids, targets = encode_conversation(tokenizer, r["messages"])
        out.append({"input_ids": ids, "labels": [i if t else -100 for i, t in zip(ids, targets)]})
    return out


def run_trl(model_dir: Path, rows: list[dict], batch: int, steps: int, tuned: bool, precision: str, device: torch.device,
            tmp: Path) -> dict:
    from datasets import Dataset
    from peft import LoraConfig
    from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback
    from trl import SFTConfig, SFTTrainer

    timings: list[float] = []
    tokens: list[int] = []
    padded: list[int] = []

    class Timer(TrainerCallback):
        def on_step_begin(self, args, state, control, **kw):
            _sync(device)
            self.t = time.perf_counter()

        def on_step_end(self, args, state, control, **kw):
            _sync(device)
            timings.append(time.perf_counter() - self.t)

    class CountingSFTTrainer(SFTTrainer):
        def training_step(self, model, inputs, num_items_in_batch=None):
            mask = inputs.get("attention_mask")
            ids = inputs["input_ids"]
            tokens.append(int(mask.sum()) if mask is not None else ids.numel())
            padded.append(ids.numel())
            return super().training_step(model, inputs, num_items_in_batch)

    name = "trl-tuned" if tuned else "trl-defaults"
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    if tuned:
        bf16 = precision == "bf16"
        extra = dict(gradient_checkpointing=False, train_sampling_strategy="group_by_length", bf16=bf16,
                     use_cpu=device.type == "cpu")
        data = Dataset.from_list(trl_tuned_rows(tokenizer, rows))
    else:
        extra = dict(bf16=False) if device.type == "cpu" else {}
        data = Dataset.from_list([{"messages": r["messages"]} for r in rows])
    args = SFTConfig(output_dir=str(tmp / name), max_steps=steps, per_device_train_batch_size=batch,
                     report_to="none", save_strategy="no", logging_steps=10_000, disable_tqdm=True, seed=0, **extra)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    lora = LoraConfig(r=LORA["r"], lora_alpha=LORA["alpha"], lora_dropout=LORA["dropout"],
                      target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    trainer = CountingSFTTrainer(model=model, args=args, train_dataset=data, processing_class=tokenizer,
                                 peft_config=lora, callbacks=[Timer()])
    trainer.train()
    per_step = args.gradient_accumulation_steps  # micro-batches per optimizer step
    tok = [sum(tokens[i * per_step:(i + 1) * per_step]) for i in range(len(timings))]
    pad = [sum(padded[i * per_step:(i + 1) * per_step]) for i in range(len(timings))]
    return {"name": name, "step_tokens": tok, "step_s": timings, "pad_fraction": 1 - sum(tok) / max(1, sum(pad)),
            "precision": "bf16" if args.bf16 else "fp32", "gradient_checkpointing": args.gradient_checkpointing}


# ---------------------------------------------------------------- telcotune


def run_telcotune(data_dir: Path, batch: int, steps: int, tmp: Path) -> dict:
    from telcotune.config import TrainConfig
    from telcotune.energy.base import NullMeter
    from telcotune.models import ModelRef
    from telcotune.train import train_run

    out = tmp / "telcotune-run"
    cfg = TrainConfig(**LORA, batch_size=batch, max_length=1024, max_steps=steps,
                      eval_every=10_000, save_every=10_000, max_val_examples=8)
    metrics = train_run(data_dir, out, cfg, ModelRef(MODEL), meter=NullMeter(), progress=False)
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    prev = [0] + [r["tokens_seen"] for r in rows]
    tok = [b - a for a, b in zip(prev, prev[1:])]
    secs = [n / r["tokens_per_s"] for n, r in zip(tok, rows)]
    return {"name": "telcotune", "step_tokens": tok, "step_s": secs, "pad_fraction": metrics.pad_fraction,
            "precision": metrics.precision, "gradient_checkpointing": False,
            "trainable_params": metrics.trainable_params, "precision_probe": metrics.precision_probe}


def measured(run, device: torch.device) -> dict:
    """`run()`'s result with the peak RSS (and peak GPU memory) while it ran."""
    from telcotune.train.precision import peak_memory_bytes, reset_peak_memory

    reset_peak_memory(device)
    with PeakRSS() as rss:
        result = run()
    result["peak_rss_bytes"], result["rss_before_bytes"] = rss.peak, rss.before
    result["peak_gpu_bytes"] = peak_memory_bytes(device)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, help="A data folder (train.jsonl, val.jsonl); default: synthetic.")
    parser.add_argument("--batch", type=int, default=BATCH, help="Conversations per optimizer step, every path.")
    parser.add_argument("--warmup", type=int, default=2, help="Untimed optimizer steps first.")
    parser.add_argument("--windows", type=int, default=3, help="Timed windows per path (the median is reported).")
    parser.add_argument("--window-steps", type=int, default=2, help="Optimizer steps per timed window.")
    parser.add_argument("--json", type=Path, help="Also write the results here.")
    args = parser.parse_args()

    import statistics
    import warnings

    import datasets
    import transformers

    from telcotune.models import load_tokenizer, resolve_model
    from telcotune.train.precision import keep_freed_memory, pick_device, resolve_precision, use_threads
    from telcotune.train.tokenize import encode_conversation

    warnings.filterwarnings("ignore")
    datasets.disable_progress_bars()
    transformers.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    load_before = os.getloadavg()[0]

    device = pick_device()
    threads = use_threads()
    keep_freed_memory()
    model_dir = resolve_model(MODEL)
    steps = args.warmup + args.windows * args.window_steps
    n_train = args.batch * steps * 2
    started = time.perf_counter()
    peak = {"bf16": matmul_rate(torch.bfloat16, device), "fp32": matmul_rate(torch.float32, device)}
    precision = resolve_precision("auto", device)
    why = ("a CUDA GPU with bf16" if device.type == "cuda" else
           f"telcotune's auto: {'bf16 is' if precision == 'bf16' else 'bf16 is not'} natively and measurably "
           f"faster on this CPU")
    print(f"device {device}, threads {threads}; square matmuls (2048, smaller for a slow precision): bf16 {peak['bf16'] / 1e12:.3f} TFLOP/s, "
          f"fp32 {peak['fp32'] / 1e12:.3f} TFLOP/s; precision {precision} ({why})", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-data-") as tmp:
        if args.data:
            train_rows = read_rows(args.data / "train.jsonl")[:n_train]
            val_rows = read_rows(args.data / "val.jsonl")[:8]
        else:
            train_rows, val_rows = synthetic_rows(n_train, seed=0), synthetic_rows(8, seed=1)
        tmp = Path(tmp)
        data_dir = write_rows(tmp / "data", train_rows, val_rows)
        results = []
        for label, run in (
                ("trl-defaults", lambda: run_trl(model_dir, train_rows, args.batch, steps, False, precision, device, tmp)),
                ("trl-tuned", lambda: run_trl(model_dir, train_rows, args.batch, steps, True, precision, device, tmp)),
                ("telcotune", lambda: run_telcotune(data_dir, args.batch, steps, tmp))):
            before = matmul_rate(torch.float32 if precision == "fp32" else torch.bfloat16, device)
            r = measured(run, device)
            after = matmul_rate(torch.float32 if precision == "fp32" else torch.bfloat16, device)
            # On a shared machine the rate drifts: each path is held against the rate around it.
            r["matmul_rate"] = (before + after) / 2
            r["window_tokens_per_s"] = windows(r["step_tokens"], r["step_s"], args.warmup, args.window_steps)
            r["tokens_per_s"] = statistics.median(r["window_tokens_per_s"])
            results.append(r)
            print(f"{label}: {r['tokens_per_s']:.0f} tok/s (windows "
                  f"{', '.join(f'{w:.0f}' for w in r['window_tokens_per_s'])})", flush=True)
        peak_after = {"bf16": matmul_rate(torch.bfloat16, device), "fp32": matmul_rate(torch.float32, device)}

    tok = load_tokenizer(model_dir)
    mean_len = sum(len(encode_conversation(tok, r["messages"])[0]) for r in train_rows) / len(train_rows)
    by_name = {r["name"]: r for r in results}
    fpt = flops_per_token(model_dir, by_name["telcotune"]["trainable_params"], mean_len)
    gpu = device.type == "cuda"
    print(f"\n{'path':13} {'precision':9} {'ckpt':>4} {'tok/s':>7} {'GFLOP/s':>8} {'% matmul':>8} "
          f"{'peak RSS':>9} {'pad':>5}" + (f" {'peak GPU':>9}" if gpu else ""))
    for r in results:
        r["model_flops_per_s"] = r["tokens_per_s"] * fpt
        r["roofline_share"] = r["model_flops_per_s"] / r["matmul_rate"]
        print(f"{r['name']:13} {r['precision']:9} {'on' if r['gradient_checkpointing'] else 'off':>4} "
              f"{r['tokens_per_s']:7.0f} {r['model_flops_per_s'] / 1e9:8.1f} {100 * r['roofline_share']:7.1f}% "
              f"{r['peak_rss_bytes'] / 2**30:7.2f} G {100 * r['pad_fraction']:4.0f}%"
              + (f" {r['peak_gpu_bytes'] / 2**30:7.2f} G" if gpu else ""))
    ours = by_name["telcotune"]["tokens_per_s"]
    ratios = {"x_trl_defaults": ours / by_name["trl-defaults"]["tokens_per_s"],
              "x_trl_tuned": ours / by_name["trl-tuned"]["tokens_per_s"]}
    print(f"\ntelcotune / TRL defaults: {ratios['x_trl_defaults']:.2f}x; telcotune / TRL tuned: "
          f"{ratios['x_trl_tuned']:.2f}x (target >= 1.3x); telcotune at "
          f"{100 * by_name['telcotune']['roofline_share']:.0f}% of the {by_name['telcotune']['precision']} matmul "
          f"rate (target >= 60%)")
    print(f"model FLOPs/token {fpt / 1e9:.3f} G (mean conversation {mean_len:.0f} tokens); {args.warmup} warm-up "
          f"steps + {args.windows} windows x {args.window_steps} steps of batch {args.batch} per path; matmul rate after "
          f"the paths: bf16 {peak_after['bf16'] / 1e12:.3f}, fp32 {peak_after['fp32'] / 1e12:.3f} TFLOP/s; "
          f"bench took {time.perf_counter() - started:.0f} s; load average {load_before:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after ({threads} threads: above ~{threads} other processes share the cores)")
    if args.json:
        args.json.write_text(json.dumps({"peak": peak, "peak_after": peak_after, "threads": threads,
                                         "precision": precision, "flops_per_token": fpt, "mean_len": mean_len,
                                         "ratios": ratios, "results": results}, indent=2))


if __name__ == "__main__":
    sys.exit(main())
