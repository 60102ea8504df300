"""A hand-made finished study folder, as `telcotune evaluate` leaves it, for planner tests:
answers with their energy files, judgments of an offline rubric (pointwise) and of a priced
API judge (pointwise and pairwise, both orders), ranking.json and config.json."""

from __future__ import annotations

import json
from itertools import combinations
from pathlib import Path

import numpy as np

from telcotune.judge.base import Judgment

SYSTEM = "You are a customer support assistant for a telecom operator."
API_JUDGE = "openai:gpt-4o-mini"


def _write_json(path: Path, data) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data), encoding="utf-8")


def _write_jsonl(path: Path, rows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _energy(duration_s: float, count: int, label: str) -> dict:
    return {"phases": {}, "total": {"energy_j": None, "energy_kwh": None, "co2_kg": None,
                                    "duration_s": duration_s, "avg_power_w": None},
            "method": "missing", "tokens": count, "token_label": label, "j_per_token": None}


def make_pilot_study(root: Path, *, n_prompts: int = 6, n_runs: int = 5, seed: int = 0,
                     sd_prompt: float = 1.0, sd_answer: float = 1.5, repeat_every: int = 0,
                     api_judge: bool = True, usage: bool = False) -> Path:
    """`repeat_every` > 0 scores every such answer a second time (judge-noise evidence);
    `usage` records token usage in the API judge's judgments."""
    rng = np.random.default_rng(seed)
    runs = ["base"] + [f"r{i}" for i in range(1, n_runs)]
    prompts = [f"p{p:02d}" for p in range(n_prompts)]
    means = dict(zip(runs, np.linspace(5.0, 6.0, n_runs)))
    difficulty = dict(zip(prompts, rng.normal(0, sd_prompt, n_prompts)))
    quality = {(p, r): means[r] + difficulty[p] + rng.normal(0, sd_answer) for p in prompts for r in runs}
    ev = root / "eval"
    for r in runs:
        rows = [{"id": p, "set": "test", "run": r, "answer": f"Answer of {r} to {p}: restart the router. " * 4,
                 "prompt": [{"role": "system", "content": SYSTEM},
                            {"role": "user", "content": f"My internet is down ({p}). What can I do?"}],
                 "new_tokens": 40, "prompt_tokens": 60, "latency_s": 1.0} for p in prompts]
        _write_jsonl(ev / "answers" / f"{r}.jsonl", rows)
        _write_json(ev / "answers" / f"{r}.energy.json", _energy(2.0 * n_prompts, 40 * n_prompts, "generated"))

    def score(p: str, r: str, noise: float = 0.0) -> float:
        return float(np.clip(round(quality[(p, r)] + noise), 1, 10))

    rubric = []
    for i, (p, r) in enumerate((p, r) for r in runs for p in prompts):
        rubric.append(Judgment("rubric", "pointwise", p, [r], "ok", scores={"steps": 5.0},
                               overall=score(p, r), rationale="covers 1/2 steps", prompt_version="rubric-v1"))
        if repeat_every and i % repeat_every == 0:
            rubric.append(Judgment("rubric", "pointwise", p, [r], "ok", overall=score(p, r, rng.normal(0, 0.7)),
                                   prompt_version="rubric-v1"))
    _write_jsonl(ev / "judgments" / "rubric.jsonl", [j.to_dict() for j in rubric])
    _write_json(ev / "judgments" / "rubric.energy.json", _energy(0.01 * len(rubric), len(rubric), "judgments"))
    files = {"rubric": "rubric.jsonl"}

    if api_judge:
        extra = {"usage": {"prompt_tokens": 900, "completion_tokens": 120}} if usage else {}
        api = [Judgment(API_JUDGE, "pointwise", p, [r], "ok", overall=score(p, r, rng.normal(0, 1)),
                        rationale="Accurate and polite, misses one step.", prompt_version="v1", extra=extra)
               for r in runs for p in prompts]
        for p in prompts:
            for a, b in combinations(runs, 2):
                seen = quality[(p, a)] - quality[(p, b)] + rng.normal(0, 1)
                winner = a if seen > 0.5 else b if seen < -0.5 else None
                verdict = "A" if winner == a else "B" if winner == b else "tie"
                api.append(Judgment(API_JUDGE, "pairwise", p, [a, b], "ok", order="ab", verdict=verdict,
                                    winner=winner, rationale="A is clearer.", prompt_version="v1", extra=extra))
                flipped = {"A": "B", "B": "A", "tie": "tie"}[verdict]
                api.append(Judgment(API_JUDGE, "pairwise", p, [b, a], "ok", order="ba", verdict=flipped,
                                    winner=winner, rationale="B is clearer.", prompt_version="v1", extra=extra))
        _write_jsonl(ev / "judgments" / "openai-gpt-4o-mini.jsonl", [j.to_dict() for j in api])
        _write_json(ev / "judgments" / "openai-gpt-4o-mini.energy.json", _energy(1.5 * len(api), len(api), "judgments"))
        files[API_JUDGE] = "openai-gpt-4o-mini.jsonl"

    _write_json(ev / "ranking.json", {"runs": runs, "prompt_sets": {"test": n_prompts}, "judges": {},
                                      "judge_files": files})
    _write_json(root / "config.json", {"name": "pilot", "eval": {"protocol": "both", "pairs": "all"},
                                       "judges": {"panel": list(files)}})
    return root
