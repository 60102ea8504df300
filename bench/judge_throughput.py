"""The offline judges' speed on `make run`-shaped work: every run's answer to the same prompts.

Measures, in one process on the same items (answers/s):

- `local:smollm2-135m-instruct` scoring from one forward pass (v2 prompts, log-probabilities);
- the same model generating its JSON reply (the v1 way: 60 new tokens after `{"accuracy": `);
- the `semantic` judge (all-MiniLM-L6-v2) and the `rubric`.

The answers are the data set's own references, a generic reply, another term's reference and a
looping reply, so the local judge's spread of scores can be read off too.

    .venv/bin/python bench/judge_throughput.py [--prompts 6] [--runs 17] [--threads 2]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from telcotune.config import DataConfig
from telcotune.data.conversation import prompt_of, reference_of
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.judge.base import JudgeContext, PointwiseItem
from telcotune.judge.factory import RubricPanelJudge
from telcotune.judge.llm_judge import LLMJudge, _conversation, _reference
from telcotune.judge.semantic import SemanticJudge
from telcotune.llm.base import ChatRequest
from telcotune.llm.client import build_client
from telcotune.prompts import load_prompt

LOCAL = "local:smollm2-135m-instruct"
GENERIC = "Please restart your device and contact us if the problem persists."


def items(n_prompts: int, n_runs: int) -> list[PointwiseItem]:
    with tempfile.TemporaryDirectory() as tmp:
        run_data_stage(DataConfig(per_scenario=1), Path(tmp) / "data", progress=False)
        rows = read_jsonl(Path(tmp) / "data" / "test.jsonl")[:n_prompts]
        scenarios = {s["id"]: s for s in read_jsonl(Path(tmp) / "data" / "scenarios.jsonl")}
    contexts = [JudgeContext(r["id"], prompt_of(r["messages"]), reference_of(r["messages"]),
                             scenarios.get(r["scenario_id"]), r.get("misconception")) for r in rows]
    kinds = ["reference", "generic", "other", "loop"]
    out = []
    for k, context in enumerate(contexts):
        other = contexts[(k + 1) % len(contexts)].reference
        answers = {"reference": context.reference, "generic": GENERIC, "other": other,
                   "loop": " ".join([GENERIC] * 8)}
        for run in range(n_runs):
            out.append(PointwiseItem(context, f"{kinds[run % 4]}-{run}", answers[kinds[run % 4]]))
    return out


def timed(fn, *args) -> tuple[float, object]:
    started = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - started, result


def generated_v1(client, batch: list[PointwiseItem]) -> list:
    template = load_prompt("judge", "pointwise_v1")
    requests = [ChatRequest(messages=({"role": "user", "content": template.format(
        reference=_reference(i.context), conversation=_conversation(i.context), answer=i.answer)},),
        temperature=0.0, max_tokens=60, json_mode=True, seed=0, prefill='{"accuracy": ') for i in batch]
    return client.complete_many(requests)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--prompts", type=int, default=6)
    parser.add_argument("--runs", type=int, default=17)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    batch = items(args.prompts, args.runs)
    print(f"{len(batch)} answers ({args.prompts} prompts x {args.runs} runs), {args.threads} torch threads")

    rubric = RubricPanelJudge([])  # without glossary names: only markers count as invented
    seconds, _ = timed(rubric.pointwise, batch)
    print(f"rubric:            {len(batch) / seconds:8.1f} answers/s")
    semantic = SemanticJudge()
    semantic.score_many([(GENERIC, batch[0].context)])  # load the model outside the timing
    seconds, _ = timed(semantic.pointwise, batch)
    print(f"semantic:          {len(batch) / seconds:8.1f} answers/s")

    client = build_client(LOCAL, use_cache=False)
    judge = LLMJudge(LOCAL, client)
    judge.pointwise(batch[:1])  # load the model outside the timing
    seconds, judgments = timed(judge.pointwise, batch)
    ok = [j for j in judgments if j.status == "ok"]
    print(f"local, one pass:   {len(batch) / seconds:8.2f} answers/s  ({len(ok)}/{len(batch)} usable, "
          f"methods {sorted({j.method for j in ok})})")
    by_kind: dict[str, list[float]] = {}
    for item, j in zip(batch, judgments):
        if j.status == "ok":
            by_kind.setdefault(item.run.split("-")[0], []).append(j.overall)
    for kind, scores in by_kind.items():
        print(f"  {kind:10s} mean {statistics.mean(scores):.2f}  sd {statistics.pstdev(scores):.2f}  "
              f"range {min(scores):.2f}-{max(scores):.2f}")
    sample = batch[: max(4, len(batch) // 4)]  # generation is slow: a quarter of the items
    seconds_v1, _ = timed(generated_v1, client, sample)
    seconds_v2, _ = timed(judge.pointwise, sample)
    print(f"local, generating: {len(sample) / seconds_v1:8.2f} answers/s on {len(sample)} answers; "
          f"one pass on the same: {len(sample) / seconds_v2:.2f} answers/s ({seconds_v1 / seconds_v2:.1f}x)")


if __name__ == "__main__":
    main()
