"""`telcotune serve` under concurrent streaming clients: continuous batching (`--max-batch 8`)
against the one-at-a-time path (`--max-batch 1`, requests answered in arrival order), the same
requests, side by side in one run.

Each path is the real server: `python -m telcotune serve` in its own process on a loopback
port (both running, each load level measured on one path right after the other) with the embedded model (and a LoRA adapter freshly initialised on it, so the adapter
path is exercised). For 1, 4 and 8 concurrent clients, each client sends `--rounds` greedy
streaming requests one after the other (a bounded load); printed per path and level: aggregate
completion tokens/s, time to first token and request latency (p50, p99), then the ratios.
Targets: 8 clients >= 3x the one-at-a-time tokens/s, p99 time to first token < 2x a lone
request's; greedy replies equal on both paths.

    .venv/bin/python bench/serve_throughput.py [--levels 1 4 8] [--rounds 2] [--max-tokens 64] [--threads N]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from generate_throughput import eval_prompts  # the evaluation's prompts, as the other benches use

from telcotune.models import DEFAULT_MODEL, resolve_model

TARGET_TOKENS_RATIO = 3.0
TARGET_TTFT_RATIO = 2.0
ADAPTER = "bench-lora"


def make_adapter(folder: Path) -> Path:
    """A LoRA adapter on the embedded model as `peft` initialises it (B = 0: answers as the base)."""
    from peft import LoraConfig, get_peft_model

    from telcotune.models import load_model

    model = get_peft_model(load_model(resolve_model(DEFAULT_MODEL)),
                           LoraConfig(r=16, lora_alpha=32, target_modules=["q_proj", "v_proj"]))
    model.save_pretrained(folder)
    return folder


class Server:
    def __init__(self, adapter: Path, max_batch: int, port: int, max_tokens: int, threads: int | None):
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
        if threads:
            env["OMP_NUM_THREADS"] = str(threads)
        self.url = f"http://127.0.0.1:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "telcotune", "serve", "--adapter", str(adapter), "--model", DEFAULT_MODEL,
             "--port", str(port), "--max-batch", str(max_batch), "--concurrency", "16",
             "--max-new-tokens", str(max_tokens)],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def __enter__(self) -> "Server":
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError("the server exited while starting")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.5)
        raise RuntimeError("the server did not start in 300 s")

    def __exit__(self, *exc: object) -> None:
        self.process.terminate()
        self.process.wait(30)


def stream_one(url: str, messages: list[dict], max_tokens: int) -> dict:
    body = {"model": ADAPTER, "messages": messages, "max_tokens": max_tokens, "stream": True,
            "stream_options": {"include_usage": True}}
    started = time.perf_counter()
    first, text, tokens = None, "", 0
    with httpx.stream("POST", f"{url}/v1/chat/completions", json=body, timeout=600) as response:
        response.raise_for_status()
        for line in response.iter_lines():
            if not line.startswith("data: {"):
                continue
            event = json.loads(line[len("data: "):])
            for choice in event["choices"]:
                piece = choice["delta"].get("content") or ""
                if piece and first is None:
                    first = time.perf_counter() - started
                text += piece
            if event.get("usage"):
                tokens = event["usage"]["completion_tokens"]
    return {"ttft_s": first or (time.perf_counter() - started), "latency_s": time.perf_counter() - started,
            "tokens": tokens, "text": text}


def drive(url: str, prompts: list[list[dict]], clients: int, rounds: int, max_tokens: int) -> dict:
    results: list[tuple[int, dict]] = []
    lock = threading.Lock()

    def client(k: int) -> None:
        for r in range(rounds):
            index = (k * rounds + r) % len(prompts)
            result = stream_one(url, prompts[index], max_tokens)
            with lock:
                results.append((index, result))

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall_s = time.perf_counter() - started
    rows = [r for _, r in results]
    return {"tokens_per_s": sum(r["tokens"] for r in rows) / wall_s,
            "ttft": percentiles([r["ttft_s"] for r in rows]), "latency": percentiles([r["latency_s"] for r in rows]),
            "texts": {i: r["text"] for i, r in results}, "requests": len(rows)}


def percentiles(values: list[float]) -> tuple[float, float]:
    ordered = sorted(values)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return statistics.median(ordered), p99


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 4, 8])
    parser.add_argument("--rounds", type=int, default=2, help="requests per client, one after the other")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--port", type=int, default=8731)
    parser.add_argument("--threads", type=int, help="torch threads of both servers (OMP_NUM_THREADS) [default: torch's]; "
                        "on a machine busier than its cores, 1 avoids OpenMP's spinning threads fighting for them")
    args = parser.parse_args()
    prompts = eval_prompts(max(args.levels) * args.rounds)
    paths = {"one-at-a-time": 1, "batched": max(args.levels)}
    measured: dict[str, dict[int, dict]] = {}
    with tempfile.TemporaryDirectory() as tmp, contextlib.ExitStack() as stack:
        adapter = make_adapter(Path(tmp) / ADAPTER)
        # Both servers run at once (an idle one costs nothing) and each load level is measured on
        # one path right after the other, so a change in the machine's load hits both alike.
        servers = {name: stack.enter_context(Server(adapter, max_batch, args.port + offset, args.max_tokens,
                                                    args.threads))
                   for offset, (name, max_batch) in enumerate(paths.items())}
        for server in servers.values():
            stream_one(server.url, prompts[0], 8)  # warm-up
        for clients in args.levels:
            for name, server in servers.items():
                measured.setdefault(name, {})[clients] = drive(server.url, prompts, clients, args.rounds,
                                                               args.max_tokens)
    report(measured, args)


def report(measured: dict[str, dict[int, dict]], args: argparse.Namespace) -> None:
    print(f"embedded model {DEFAULT_MODEL}, {os.cpu_count()} CPUs (load average {os.getloadavg()[0]:.1f}), "
          f"torch threads {args.threads or 'default'}, greedy, max_tokens {args.max_tokens}, "
          f"{args.rounds} streaming requests per client")
    print(f"{'path':<14} {'clients':>7} {'reqs':>5} {'tok/s':>7} {'TTFT p50':>9} {'TTFT p99':>9} "
          f"{'lat p50':>8} {'lat p99':>8}")
    for name, levels in measured.items():
        for clients, m in levels.items():
            print(f"{name:<14} {clients:>7} {m['requests']:>5} {m['tokens_per_s']:>7.1f} {m['ttft'][0]:>8.2f}s "
                  f"{m['ttft'][1]:>8.2f}s {m['latency'][0]:>7.2f}s {m['latency'][1]:>7.2f}s")
    alone, batched = measured["one-at-a-time"], measured["batched"]
    lone_ttft = batched[min(batched)]["ttft"][0]
    for clients in args.levels:
        ratio = batched[clients]["tokens_per_s"] / alone[clients]["tokens_per_s"]
        ttft = batched[clients]["ttft"][1] / lone_ttft
        print(f"{clients} clients: batched/one-at-a-time tokens/s {ratio:.2f}x; "
              f"batched TTFT p99 / lone request's {ttft:.2f}x")
    top = max(args.levels)
    same = [batched[top]["texts"][i] == alone[top]["texts"][i] for i in batched[top]["texts"]]
    print(f"greedy replies equal on both paths: {sum(same)}/{len(same)}")
    ratio = batched[top]["tokens_per_s"] / alone[top]["tokens_per_s"]
    ttft = batched[top]["ttft"][1] / lone_ttft
    print(f"targets at {top} clients: tokens/s >= {TARGET_TOKENS_RATIO:g}x: {'met' if ratio >= TARGET_TOKENS_RATIO else 'NOT met'}; "
          f"TTFT p99 < {TARGET_TTFT_RATIO:g}x lone: {'met' if ttft < TARGET_TTFT_RATIO else 'NOT met'}")


if __name__ == "__main__":
    main()
