"""A hand-made study folder for the rating tests: answers of a few runs to a few prompts, the
metrics of their training runs, and two LLM judges' judgments (pointwise and pairwise) in the
exact shapes the evaluation writes. No model runs."""

from __future__ import annotations

from itertools import combinations
from pathlib import Path

from telcotune.fsio import write_json, write_jsonl
from telcotune.paths import EvalPaths, RunPaths, StudyPaths

RUNS = {"r4-qv": 1.42, "r8-attn": 1.38, "r16-all": 1.31, "r32-qv": 1.40}
"""run -> best validation loss (the base model has none)."""
ALL_RUNS = ("base", *RUNS)
QUALITY = {"base": 3.0, "r4-qv": 7.0, "r8-attn": 6.0, "r16-all": 5.0, "r32-qv": 4.0}
"""The true quality the judges see through (the lowest-loss run is not the best)."""
JUDGES = ("rubric", "openai:judge-x")


def prompt_ids(n: int) -> list[str]:
    return [f"p{i:02d}" for i in range(n)]


def answer_text(run: str, prompt_id: str) -> str:
    """Names the run only by a number, so a test can tell which answer a page showed while the
    page itself stays blind (no run name in anything it receives)."""
    return f"Answer #{ALL_RUNS.index(run)} to {prompt_id}: restart the router, then check the APN settings."


def run_of(text: str) -> str:
    return ALL_RUNS[int(text.split("#", 1)[1].split(" ", 1)[0])]


def judge_score(judge: str, run: str, prompt_id: str) -> float:
    """Judge x sees the quality order; the rubric swaps the two best runs on even prompts."""
    base = QUALITY[run]
    if judge == "rubric" and int(prompt_id[1:]) % 2 == 0 and run in ("r4-qv", "r8-attn"):
        base = 13.0 - base
    return base


def write_study(root: Path, n_prompts: int = 6, judges: tuple[str, ...] = JUDGES) -> StudyPaths:
    study = StudyPaths(root)
    ev = EvalPaths(study.eval)
    ids = prompt_ids(n_prompts)
    for run in ALL_RUNS:
        rows = [{"id": pid, "set": "test", "run": run,
                 "prompt": [{"role": "system", "content": "You are a telecom support assistant."},
                            {"role": "user", "content": f"My data stopped working ({pid})."},
                            {"role": "assistant", "content": "Sorry to hear that. Which phone do you use?"},
                            {"role": "user", "content": "An Android phone."}],
                 "answer": answer_text(run, pid), "new_tokens": 20, "prompt_tokens": 60, "latency_s": 0.1}
                for pid in ids]
        write_jsonl(ev.answers(run), rows)
        write_json(ev.answers_energy(run), {"total": {}})
    for name, loss in RUNS.items():
        write_json(RunPaths(study.run(name)).metrics, {"best_val_loss": loss})
    for judge in judges:
        rows = []
        for pid in ids:
            for run in ALL_RUNS:
                rows.append({"judge": judge, "protocol": "pointwise", "prompt_id": pid, "runs": [run], "status": "ok",
                             "overall": judge_score(judge, run, pid), "scores": {}})
            for a, b in combinations(ALL_RUNS, 2):
                sa, sb = judge_score(judge, a, pid), judge_score(judge, b, pid)
                winner = None if sa == sb else a if sa > sb else b
                for first, second, order in ((a, b, "ab"), (b, a, "ba")):
                    verdict = "tie" if winner is None else "A" if winner == first else "B"
                    rows.append({"judge": judge, "protocol": "pairwise", "prompt_id": pid, "runs": [first, second],
                                 "status": "ok", "order": order, "verdict": verdict, "winner": winner})
        slug = judge.replace(":", "-")
        write_jsonl(ev.judgments(slug), rows)
    return study
