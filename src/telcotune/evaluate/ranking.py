"""From judgments to ranking.json and leaderboard.csv: per-judge rankings with bootstrap CIs
(overall and per prompt set), position bias, judge agreement, and loss versus judgement."""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

from ..fsio import write_json, write_text
from ..judge.base import Judgment
from ..paths import EvalPaths
from ..rank import (
    PairVerdict, ScoreRow, judge_agreement, loss_vs_judge, position_bias, rank_pairwise, rank_pointwise,
    ratings_from_rows,
)
from .runs import FinishedRun


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
                   val_loss: dict[str, float], n_resamples: int, seed: int) -> dict[str, Any]:
    rows, verdicts = score_rows(judgments), pair_verdicts(judgments)
    section: dict[str, Any] = {"counts": dict(Counter(f"{j.protocol}:{j.status}" for j in judgments))}
    unparseable = [j for j in judgments if j.status != "ok"]
    section["unparseable"] = len([j for j in unparseable if j.status == "unparseable"])
    section["errors"] = len([j for j in unparseable if j.status == "error"])
    if rows:
        section["pointwise"] = rank_pointwise(rows, n_resamples, seed, runs=runs).to_dict()
        section["pointwise_by_set"] = {
            name: rank_pointwise(score_rows(judgments, ids), n_resamples, seed, runs=runs).to_dict()
            for name, ids in sets.items() if score_rows(judgments, ids)}
        section["loss_vs_judge"] = loss_vs_judge(val_loss, rows, n_resamples, seed,
                                                 judge_name=judgments[0].judge).to_dict()
    if verdicts:
        section["pairwise"] = rank_pairwise(verdicts, n_resamples, seed, runs=runs).to_dict()
        section["position_bias"] = position_bias(verdicts).to_dict()
        section["loss_vs_judge_pairwise"] = loss_vs_judge(val_loss, verdicts, n_resamples, seed,
                                                          judge_name=f"{judgments[0].judge} (pairwise)").to_dict()
    return section


def build_ranking(judgments_by_judge: dict[str, list[Judgment]], runs: list[FinishedRun], all_runs: list[str],
                  sets: dict[str, set[str]], n_resamples: int, seed: int) -> dict[str, Any]:
    val_loss = {r.name: r.val_loss for r in runs if r.val_loss is not None}
    judges = {name: _judge_section(js, all_runs, sets, val_loss, n_resamples, seed)
              for name, js in judgments_by_judge.items() if js}
    orders = {name: s["pointwise"]["order"] for name, s in judges.items() if "pointwise" in s}
    ratings = ratings_from_rows({name: score_rows(js) for name, js in judgments_by_judge.items()})
    agreement = judge_agreement(orders, ratings).to_dict() if len(orders) >= 2 else None
    return {
        "runs": all_runs,
        "val_loss": val_loss,
        "loss_order": sorted(val_loss, key=val_loss.get),
        "prompt_sets": {name: len(ids) for name, ids in sets.items()},
        "judges": judges,
        "agreement": agreement,
        "bootstrap": {"n_resamples": n_resamples, "seed": seed, "unit": "prompt"},
    }


def leaderboard_rows(ranking: dict[str, Any], runs: list[FinishedRun], inference: dict[str, dict]) -> list[dict]:
    by_name = {r.name: r for r in runs}
    loss_rank = {name: i + 1 for i, name in enumerate(ranking["loss_order"])}
    rows = []
    for name in ranking["runs"]:
        run = by_name.get(name)
        row: dict[str, Any] = {
            "name": name,
            "r": run.settings.get("r") if run else None,
            "targets": run.settings.get("targets") if run else None,
            "val_loss": run.val_loss if run else None,
            "loss_rank": loss_rank.get(name),
        }
        for judge, section in ranking["judges"].items():
            entry = next((e for e in section.get("pointwise", {}).get("entries", []) if e["run"] == name), None)
            row[f"{judge}_score"] = entry["mean"] if entry else None
            row[f"{judge}_rank"] = entry["rank"] if entry else None
        train_energy = (run.energy or {}).get("total", {}).get("energy_kwh") if run else None
        row["train_energy_kwh"] = train_energy
        row["inference_j_per_token"] = inference.get(name, {}).get("j_per_token")
        rows.append(row)
    return rows


def write_ranking(paths: EvalPaths, ranking: dict[str, Any], rows: list[dict]) -> None:
    write_json(paths.ranking, ranking)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["name"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(paths.leaderboard, buffer.getvalue())
