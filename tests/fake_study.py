"""Hand-made study artifacts written through the stages' own record types (telcotune.artifacts),
so a fake study has exactly the shapes the stages produce and a drifting shape fails here.
Numbers are chosen by the tests (no pipeline is run)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from telcotune.artifacts.io import parse, write_record, write_rows
from telcotune.artifacts.manifest import StageManifest
from telcotune.artifacts.ranking import JudgeSection
from telcotune.artifacts.run import ExampleLosses, MetricsRow, RunConfig, RunMetrics
from telcotune.artifacts.sweep import BaseValidation, ValSelection
from telcotune.artifacts.energy import RunEnergy
from telcotune.config import TARGET_PRESETS, TrainConfig
from telcotune.energy.base import EnergyReading
from telcotune.energy.summary import per_unit, summarize
from telcotune.fsio import write_json
from telcotune.paths import MANIFEST, RunPaths
from telcotune.judge.pairs import comparison_components
from telcotune.rank import (
    LossJudgeComparison, PairVerdict, PairwiseRanking, PointwiseRanking, PositionBias, ScoreRow, separate_pairwise,
    separate_pointwise,
)
from telcotune.rank.length import length_adjusted_pointwise, length_controlled_pairwise
from telcotune.rank.diagnostics import JudgeDiagnostics, diagnose_pairwise, diagnose_pointwise
from telcotune.rank.finding import loss_verdict, plain_finding

SOURCES = {"measured": "codecarbon:rapl", "estimated": "codecarbon:cpu=tdp,tracking=machine"}
VERSIONS = {"telcotune": "0.1.0", "python": "3.11.9", "torch": "2.13.0", "transformers": "5.23.0", "peft": "0.21.2"}


def readings(phases: dict[str, tuple[float | None, float, str]]) -> list[EnergyReading]:
    """phases: name -> (energy_j, duration_s, method)."""
    out = []
    for name, (joules, seconds, method) in phases.items():
        out.append(EnergyReading(
            phase=name, duration_s=seconds, method=method, energy_j=None if method == "missing" else joules,
            co2_kg=None if joules is None or method == "missing" else joules * 1e-7,
            source=SOURCES.get(method, "none"),
            missing_reason="energy metering disabled (energy.meter: none)" if method == "missing" else None,
            components_j={} if joules is None or method == "missing" else {"cpu": joules * 0.8, "ram": joules * 0.2}))
    return out


def manifest(stage: str, **extra: Any) -> StageManifest:
    return StageManifest(stage=stage, config_hash="c0ffee", inputs={"../glossary.yaml": "ab12"}, outputs={},
                         versions=VERSIONS, git_commit="0123456789abcdef0123456789abcdef01234567",
                         machine={"platform": "Linux-6.1-x86_64", "processor": "x86_64"},
                         started_at="2026-01-01T00:00:00+00:00", finished_at="2026-01-01T00:10:00+00:00", **extra)


def write_manifest_record(folder: Path, stage: str, **extra: Any) -> None:
    write_record(Path(folder) / MANIFEST, manifest(stage, **extra))


def curve(loss: float, steps: int = 40, eval_every: int = 10) -> list[MetricsRow]:
    rows = []
    for step in range(1, steps + 1):
        row: dict[str, Any] = {"step": step, "train_loss": loss + 1.5 * 0.95 ** step, "lr": 2e-4, "grad_norm": 0.8,
                               "tokens_seen": 900 * step, "tokens_per_s": 450.0}
        if step % eval_every == 0:
            row["val_loss"] = loss + 0.6 * 0.9 ** step
            row["val_perplexity"] = 2.7 ** row["val_loss"]
        rows.append(MetricsRow(**row))
    return rows


VAL_TARGETS = [40, 55, 62, 48, 70, 51, 45, 66]
"""Assistant tokens of each of a fake study's validation conversations."""


def example_losses(per_token: float, step: int | None, spread: float = 0.0, seed: int = 0,
                   jitter: float = 0.0) -> ExampleLosses:
    """Per-conversation validation losses whose token-weighted mean is `per_token`: `spread`
    varies the conversations' difficulty (the same for every model, as on real data) and
    `jitter` adds a model's own variation (seeded by `seed`), keeping the mean exact."""
    wobble = [spread * math.sin(1.7 * i) + jitter * math.sin(seed + 2.3 * i) for i in range(len(VAL_TARGETS))]
    centre = sum(w * n for w, n in zip(wobble, VAL_TARGETS)) / sum(VAL_TARGETS)
    return ExampleLosses(examples=list(range(len(VAL_TARGETS))), targets=list(VAL_TARGETS),
                         loss_sum=[(per_token + w - centre) * n for w, n in zip(wobble, VAL_TARGETS)], step=step)


def base_validation(per_token: float, spread: float = 0.3) -> BaseValidation:
    losses = example_losses(per_token, None, spread)
    return BaseValidation(model="smollm2-135m-instruct", selection=ValSelection(max_length=512, max_val_examples=None,
                                                                                 seed=0),
                          val_loss=losses.mean_loss, val_tokens=sum(VAL_TARGETS), val_examples=len(VAL_TARGETS),
                          precision="bf16", duration_s=3.0, losses=losses)


def run_metrics(best_val_loss: float | None, *, steps: int = 40, trainable_params: int = 460_800,
                train_tokens: int = 36_000, duration_s: float = 80.0, **overrides: Any) -> RunMetrics:
    values: dict[str, Any] = dict(
        best_val_loss=best_val_loss, best_step=steps, final_val_loss=best_val_loss, val_perplexity=None,
        final_val_perplexity=None, adapter_step=steps, train_tokens=train_tokens, train_target_tokens=train_tokens // 3,
        pad_fraction=0.05, val_tokens=400, trainable_params=trainable_params, total_params=134_515_008,
        duration_s=duration_s, train_time_s=duration_s * 0.8, val_time_s=duration_s * 0.1, setup_s=2.0,
        tokens_per_s=450.0, steps=steps, total_steps=steps, stopped_early=False, precision="bf16",
        precision_probe=None, device="cpu", threads=2, train_examples=16, val_examples=2, sessions=1)
    return RunMetrics(**{**values, **overrides})


def run_config(settings: TrainConfig, model: str, data_dir: str = "/data", **overrides: Any) -> RunConfig:
    modules = list(TARGET_PRESETS.get(settings.targets) or settings.targets.split(","))
    values: dict[str, Any] = dict(
        train=settings, target_modules=modules, model=model, model_path="/cache/m", data_dir=data_dir,
        data_hash="d4t4h45h", config_hash="x", precision="bf16", precision_probe=None, device="cpu", threads=2,
        total_steps=40, warmup_steps=2, train_examples=16, val_examples=2, batches_per_epoch=2, max_grad_norm=1.0,
        train_version=1)
    return RunConfig(**{**values, **overrides})


def write_run(run_dir: Path, settings: TrainConfig, metrics: RunMetrics, *, model: str = "smollm2-135m-instruct",
              energy: RunEnergy | None = None, rows: list[MetricsRow] | None = None, adapter: bool = True,
              data_dir: str = "/data") -> RunPaths:
    """A finished run folder. `adapter`: write a placeholder adapter_config.json unless a test
    already put a real adapter there."""
    paths = RunPaths(Path(run_dir))
    paths.root.mkdir(parents=True, exist_ok=True)
    if adapter and not (paths.adapter / "adapter_config.json").is_file():
        write_json(paths.adapter / "adapter_config.json", {"peft_type": "LORA", "r": settings.r})
    write_rows(paths.metrics_log, rows or [], exclude_none=True)
    write_record(paths.metrics, metrics)
    if energy is not None:
        write_record(paths.energy, energy)
    write_record(paths.config, run_config(settings, model, data_dir))
    write_manifest_record(paths.root, "train", model=model, steps=metrics.steps)
    return paths


def run_energy(train_j: float | None, val_j: float | None, train_tokens: int,
               method: str = "estimated") -> RunEnergy:
    phases = readings({"training": (train_j, 70.0, method), "validation": (val_j, 10.0, method)})
    return RunEnergy(**summarize(phases), train_tokens=train_tokens,
                     j_per_train_token=per_unit(train_j if method != "missing" else None, train_tokens),
                     windows={"training": 1, "validation": 1})


# ---------------------------------------------------------------- rankings with chosen numbers


def pointwise(scores: dict[str, float], n_prompts: int, half_width: float = 0.4) -> PointwiseRanking:
    order = sorted(scores, key=lambda r: (-scores[r], r))
    entries = [{"run": r, "mean": scores[r],
                "ci": {"low": scores[r] - half_width, "high": scores[r] + half_width, "level": 0.95,
                       "n_resamples_used": 200},
                "n_scores": n_prompts, "n_prompts": n_prompts, "rank": 1 + sum(scores[o] > scores[r] for o in scores),
                "missing_reason": None} for r in order]
    return parse(PointwiseRanking, {"n_prompts": n_prompts, "n_resamples": 200, "seed": 0, "level": 0.95,
                                    "entries": entries}, "fake pointwise")


def pairwise(scores: dict[str, float], n_prompts: int = 5) -> PairwiseRanking:
    order = sorted(scores, key=lambda r: (-scores[r], r))
    mean = sum(scores.values()) / len(scores)
    entries = [{"run": r, "strength": scores[r] - mean,
                "ci": {"low": scores[r] - mean - 0.5, "high": scores[r] - mean + 0.5, "level": 0.95,
                       "n_resamples_used": 200},
                "win_prob_vs_average": 0.5 + (scores[r] - mean) / 10, "wins": 6 - i, "losses": i, "ties": 2,
                "n_prompts": n_prompts, "rank": i + 1, "missing_reason": None} for i, r in enumerate(order)]
    return parse(PairwiseRanking, {"merge_orders": True, "n_games": 50, "n_prompts": n_prompts, "prior_games": 1.0,
                                   "converged": True, "n_resamples": 200, "seed": 0, "level": 0.95,
                                   "entries": entries}, "fake pairwise")


def comparison(judge: str, losses: dict[str, float], scores: dict[str, float],
               rho_ci: tuple[float, float] | None, n_prompts: int = 5) -> LossJudgeComparison:
    """A loss-versus-judge comparison with the given Spearman interval (None: no interval)."""
    common = sorted(set(losses) & set(scores))
    loss_rank = {r: 1 + sum(losses[o] < losses[r] for o in common) for r in common}
    judge_rank = {r: 1 + sum(scores[o] > scores[r] for o in common) for r in common}
    best_loss = min(common, key=lambda r: (losses[r], r))
    best_judged = min(common, key=lambda r: (-scores[r], r))
    worst = max(common, key=lambda r: (losses[r], r))
    rho = sum(rho_ci) / 2 if rho_ci else None
    c = parse(LossJudgeComparison, {
        "judge_name": judge, "judge_kind": "mean pointwise score", "n_runs": len(common), "runs_without_judgment": [],
        "runs_without_loss": sorted(set(scores) - set(losses)), "val_loss": {r: losses[r] for r in common},
        "judge_scores": {r: scores[r] for r in common}, "loss_ranks": loss_rank, "judge_ranks": judge_rank,
        "correlation": {"kendall_tau_b": None if rho is None else rho / 1.25, "spearman_rho": rho, "n": len(common),
                        "missing_reason": None if rho is not None else "an ordering ranks all common runs equal"},
        "spearman_ci": None if rho_ci is None else {"low": rho_ci[0], "high": rho_ci[1], "level": 0.95,
                                                    "n_resamples_used": 200},
        "kendall_ci": None if rho_ci is None else {"low": rho_ci[0] / 1.2, "high": rho_ci[1] / 1.2, "level": 0.95,
                                                   "n_resamples_used": 200},
        "ci_missing_reason": None if rho_ci else "no variation", "best_loss_run": best_loss,
        "best_loss_judge_rank": judge_rank[best_loss], "best_loss_judged_best_share": 0.12, "worst_loss_run": worst,
        "worst_loss_judge_rank": judge_rank[worst], "best_judged_run": best_judged,
        "best_judged_loss_rank": loss_rank[best_judged], "runs_missing_reason": None, "n_prompts": n_prompts,
        "n_resamples": 200, "seed": 0}, "fake comparison")
    from dataclasses import replace

    return replace(c, verdict=loss_verdict(c), finding=plain_finding(c))


def position_bias() -> PositionBias:
    return PositionBias(n_pairs_both_orders=30, n_inconsistent_pairs=9, inconsistency_rate=0.3,
                        inconsistency_missing_reason=None, n_decisive_verdicts=50, n_first_position_wins=31,
                        n_second_position_wins=19, first_position_share=0.62, second_position_share=0.38,
                        position_share_missing_reason=None, n_ties=10)


def score_rows(scores: dict[str, float], n_prompts: int, noise: float = 0.3) -> list[ScoreRow]:
    """Per-prompt scores whose run means are `scores` (a fixed zero-mean pattern per prompt)."""
    pattern = [noise * ((i * 7) % 5 - 2) / 2 for i in range(n_prompts)]
    shift = sum(pattern) / n_prompts
    return [ScoreRow(run, f"p{i}", mean + pattern[i] - shift) for run, mean in scores.items() for i in range(n_prompts)]


def lengths(rows: list[ScoreRow]) -> dict[tuple[str, str], float]:
    """Answer lengths in characters that do not follow the scores."""
    return {(r.run, r.prompt_id): 200.0 + 37 * (i % 7) for i, r in enumerate(rows)}


def verdicts(rows: list[ScoreRow]) -> list[PairVerdict]:
    """Both orders of every pair on every prompt; the higher score wins, equal scores tie."""
    by_prompt: dict[str, dict[str, float]] = {}
    for r in rows:
        by_prompt.setdefault(r.prompt_id, {})[r.run] = r.score
    out = []
    for prompt, scores in by_prompt.items():
        runs = sorted(scores)
        for i, a in enumerate(runs):
            for b in runs[i + 1:]:
                winner = a if scores[a] > scores[b] else b if scores[b] > scores[a] else None
                out += [PairVerdict(prompt, a, b, "ab", winner), PairVerdict(prompt, a, b, "ba", winner)]
    return out


def judge_section(judge: str, losses: dict[str, float], scores: dict[str, float], rho_ci: tuple[float, float] | None,
                  *, with_pairwise: bool = False, sets: dict[str, int] | None = None, n_prompts: int = 5,
                  discriminates: bool = True) -> JudgeSection:
    """A judge's section with the given means and loss interval; its diagnostics and paired
    separation are computed by the real statistics from per-prompt scores with those means."""
    sets = sets or {}
    rows = score_rows(scores, n_prompts) if discriminates else score_rows({r: 5.0 for r in scores}, n_prompts, 0.0)
    diagnostics = JudgeDiagnostics(judge, diagnose_pointwise(rows, len(rows), lengths(rows), n_resamples=200, seed=0),
                                   None)
    parts: dict[str, Any] = dict(
        pointwise=pointwise(scores, n_prompts),
        pointwise_by_set={name: pointwise({r: s - 0.3 * i for r, s in scores.items()}, n)
                          for i, (name, n) in enumerate(sets.items())},
        separation=separate_pointwise(rows, 200, 0),
        length_adjusted=length_adjusted_pointwise(rows, lengths(rows), 200, 0),
        loss_vs_judge=comparison(judge, losses, scores, rho_ci, n_prompts))
    if with_pairwise:
        games = verdicts(rows)
        parts.update(pairwise=pairwise(scores, n_prompts), position_bias=position_bias(),
                     components=comparison_components(sorted(scores), [(v.run_a, v.run_b) for v in games]),
                     separation_pairwise=separate_pairwise(games, 200, 0),
                     length_controlled=length_controlled_pairwise(games, lengths(rows), 200, 0),
                     loss_vs_judge_pairwise=comparison(f"{judge} (pairwise)", losses, scores, rho_ci, n_prompts))
        diagnostics = JudgeDiagnostics(judge, diagnostics.pointwise,
                                       diagnose_pairwise(games, len(games), lengths(rows), n_resamples=200, seed=0))
    counts = {"pointwise:ok": 24, "pointwise:unparseable": 1, **({"pairwise:ok": 60} if with_pairwise else {})}
    return JudgeSection(counts=counts, unparseable=1, errors=0, diagnostics=diagnostics, **parts)


def finding(judges: dict[str, JudgeSection], n_prompts: int = 5):
    """The finding exactly as the evaluation stage computes it from the sections."""
    from telcotune.evaluate.ranking import finding_of

    return finding_of(judges, n_prompts)
