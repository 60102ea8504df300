"""What a tracker logs, read once from the stage records: a run's parameters, its per-step
metrics, its training energy, and each run's evaluation figures (every judge's score and rank,
inference energy)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..artifacts.io import read_rows
from ..artifacts.ranking import Ranking
from ..artifacts.run import FinishedRun, MetricsRow

STEP_METRICS = {"train_loss": "train/loss", "val_loss": "val/loss", "lr": "train/lr",
                "tokens_per_s": "train/tokens_per_s"}
"""metrics.jsonl field -> the tracker's metric name."""


def metric_key(*parts: str) -> str:
    """A metric name both trackers accept: letters, digits, `_-. /` (a judge spec's `:` and `@` become `_`)."""
    return "/".join(re.sub(r"[^A-Za-z0-9_.\- ]+", "_", p) for p in parts)


def run_params(run: FinishedRun) -> dict[str, str]:
    train, c = run.config.train, run.config
    return {"r": str(train.r), "alpha": f"{train.alpha:g}", "dropout": f"{train.dropout:g}", "lr": f"{train.lr:g}",
            "targets": train.targets, "target_modules": ",".join(c.target_modules), "data_hash": c.data_hash,
            "model": c.model, "rslora": str(train.rslora), "dora": str(train.dora), "batch_size": str(train.batch_size),
            "grad_accum": str(train.grad_accum), "max_length": str(train.max_length), "steps": str(c.total_steps),
            "seed": str(train.seed), "config_hash": c.config_hash}


@dataclass(frozen=True)
class StepValue:
    key: str
    step: int
    value: float


def step_metrics(run: FinishedRun) -> list[StepValue]:
    """Every logged step's train and validation loss, learning rate and tokens/s."""
    rows = read_rows(run.paths.metrics_log, MetricsRow)
    return [StepValue(key, row.step, float(value)) for row in rows
            for field, key in STEP_METRICS.items() if (value := getattr(row, field)) is not None]


def run_summary(run: FinishedRun) -> dict[str, float]:
    """The finished run's figures: best validation loss, tokens/s, duration and training energy."""
    m, energy = run.metrics, run.energy
    out = {"best_val_loss": m.best_val_loss, "tokens_per_s": m.tokens_per_s, "duration_s": m.duration_s,
           "trainable_params": float(m.trainable_params)}
    if energy is not None:
        out.update({"energy/train_j": energy.total.energy_j, "energy/train_kwh": energy.total.energy_kwh,
                    "energy/j_per_train_token": energy.j_per_train_token})
    return {k: float(v) for k, v in out.items() if v is not None}


def evaluation_metrics(ranking: Ranking) -> dict[str, dict[str, float]]:
    """run -> each judge's mean score, its interval and rank (pointwise; strength and rank for
    pairwise), and the run's inference energy."""
    out: dict[str, dict[str, float]] = {run: {} for run in ranking.runs}
    for judge, section in ranking.judges.items():
        for kind, result in (("pointwise", section.pointwise), ("pairwise", section.pairwise)):
            for e in (result.entries if result is not None else ()):
                figures = out.setdefault(e.run, {})
                value = e.mean if kind == "pointwise" else e.strength
                name = "score" if kind == "pointwise" else "strength"
                for key, v in ((name, value), ("rank", e.rank), (f"{name}_ci_low", e.ci.low if e.ci else None),
                               (f"{name}_ci_high", e.ci.high if e.ci else None)):
                    if v is not None:
                        figures[metric_key("judge", judge, kind, key)] = float(v)
    for run, inference in ranking.inference.items():
        figures = out.setdefault(run, {})
        for key, v in (("energy/inference_j", inference.energy_j),
                       ("energy/j_per_generated_token", inference.j_per_generated_token),
                       ("inference/tokens_per_s", inference.tokens_per_s)):
            if v is not None:
                figures[key] = float(v)
    return out
