"""From judgments to ranking.json and leaderboard.csv: per-judge rankings with bootstrap CIs
(overall and per prompt set), position bias, judge agreement, and loss versus judgement."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from ..artifacts.io import write_record
from ..artifacts.ranking import BootstrapSettings, InferenceSummary, JudgeSection, Ranking
from ..artifacts.run import FinishedRun
from ..fsio import write_text
from ..judge.base import Judgment
from ..paths import EvalPaths
from ..rank import (
    PairVerdict, ScoreRow, judge_agreement, loss_vs_judge, position_bias, rank_pairwise, rank_pointwise,
    ratings_from_rows,
)
from ..rank.finding import study_finding


def score_rows(judgments: list[Judgment], prompt_ids: set[str] | None = None) -> list[ScoreRow]:
    return [ScoreRow(j.runs[0], j.prompt_id, j.overall) for j in judgments
            if j.protocol == "pointwise" and j.status == "ok" and j.overall is not None
            and (prompt_ids is None or j.prompt_id in prompt_ids)]


def pair_verdicts(judgments: list[Judgment]) -> list[PairVerdict]:
    """Judgment.runs is [shown first, shown second]; a PairVerdict names the pair in its
    canonical order and says which of the two was shown first."""
    out = []
    for j in judgments:
        if j.protocol != "pairwise" or j.status != "ok":
            continue
        first, second = j.runs
        a, b = (first, second) if j.order == "ab" else (second, first)
        out.append(PairVerdict(j.prompt_id, a, b, j.order or "ab", j.winner))
    return out


def _judge_section(judgments: list[Judgment], runs: list[str], sets: dict[str, set[str]],
                   val_loss: dict[str, float], n_resamples: int, seed: int) -> JudgeSection:
    rows, verdicts = score_rows(judgments), pair_verdicts(judgments)
    name = judgments[0].judge
    parts: dict[str, Any] = {}
    if rows:
        parts["pointwise"] = rank_pointwise(rows, n_resamples, seed, runs=runs)
        parts["pointwise_by_set"] = {
            set_name: rank_pointwise(score_rows(judgments, ids), n_resamples, seed, runs=runs)
            for set_name, ids in sets.items() if score_rows(judgments, ids)}
        parts["loss_vs_judge"] = loss_vs_judge(val_loss, rows, n_resamples, seed, judge_name=name)
    if verdicts:
        parts["pairwise"] = rank_pairwise(verdicts, n_resamples, seed, runs=runs)
        parts["position_bias"] = position_bias(verdicts)
        parts["loss_vs_judge_pairwise"] = loss_vs_judge(val_loss, verdicts, n_resamples, seed,
                                                        judge_name=f"{name} (pairwise)")
    return JudgeSection(counts=dict(Counter(f"{j.protocol}:{j.status}" for j in judgments)),
                        unparseable=sum(j.status == "unparseable" for j in judgments),
                        errors=sum(j.status == "error" for j in judgments), **parts)


def build_ranking(judgments_by_judge: dict[str, list[Judgment]], runs: list[FinishedRun], all_runs: list[str],
                  sets: dict[str, set[str]], n_resamples: int, seed: int,
                  inference: dict[str, InferenceSummary], judge_files: dict[str, str]) -> Ranking:
    val_loss = {r.name: r.val_loss for r in runs if r.val_loss is not None}
    judges = {name: _judge_section(js, all_runs, sets, val_loss, n_resamples, seed)
              for name, js in judgments_by_judge.items() if js}
    scores = {name: s.pointwise.scores() for name, s in judges.items() if s.pointwise is not None}
    ratings = ratings_from_rows({name: score_rows(js) for name, js in judgments_by_judge.items()})
    agreement = judge_agreement(scores, ratings) if len(scores) >= 2 else None
    comparisons = [c for s in judges.values() for c in s.comparisons()]
    return Ranking(
        runs=all_runs, val_loss=val_loss, loss_order=sorted(val_loss, key=val_loss.get),
        prompt_sets={name: len(ids) for name, ids in sets.items()}, judges=judges, agreement=agreement,
        bootstrap=BootstrapSettings(n_resamples=n_resamples, seed=seed, unit="prompt"),
        inference=inference, judge_files=judge_files, finding=study_finding(comparisons))


def leaderboard_rows(ranking: Ranking, runs: list[FinishedRun]) -> list[dict[str, Any]]:
    by_name = {r.name: r for r in runs}
    loss_rank = {name: i + 1 for i, name in enumerate(ranking.loss_order)}
    rows = []
    for name in ranking.runs:
        run = by_name.get(name)
        row: dict[str, Any] = {
            "name": name,
            "r": run.settings.r if run else None,
            "targets": run.settings.targets if run else None,
            "val_loss": run.val_loss if run else None,
            "loss_rank": loss_rank.get(name),
        }
        for judge, section in ranking.judges.items():
            entry = next((e for e in section.pointwise.entries if e.run == name), None) if section.pointwise else None
            row[f"{judge}_score"] = entry.mean if entry else None
            row[f"{judge}_rank"] = entry.rank if entry else None
        row["train_energy_kwh"] = run.energy.total.energy_kwh if run and run.energy else None
        inference = ranking.inference.get(name)
        row["inference_j_per_generated_token"] = inference.j_per_generated_token if inference else None
        rows.append(row)
    return rows


def write_ranking(paths: EvalPaths, ranking: Ranking, rows: list[dict[str, Any]]) -> None:
    write_record(paths.ranking, ranking)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["name"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(paths.leaderboard, buffer.getvalue())
