"""From judgments to ranking.json and leaderboard.csv: per-judge rankings with bootstrap CIs
(overall and per prompt set), position bias, judge agreement, and loss versus judgement."""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass
from typing import Any

from ..artifacts.io import write_record
from ..artifacts.ranking import BootstrapSettings, InferenceSummary, JudgeSection, Ranking
from ..artifacts.run import FinishedRun
from ..fsio import write_text
from ..judge.base import Judgment
from ..judge.evidence import pair_verdicts, score_rows
from ..paths import EvalPaths
from ..judge.pairs import comparison_components
from ..rank import (
    PairVerdict, ScoreRow, judge_agreement, loss_vs_judge, position_bias, rank_pairwise, rank_pointwise,
    ratings_from_rows, separate_pairwise, separate_pointwise,
)
from ..rank.diagnostics import JudgeDiagnostics, diagnose_pairwise, diagnose_pointwise
from ..rank.finding import StudyFinding, study_finding
from ..rank.length import answer_lengths, length_adjusted_pointwise, length_controlled_pairwise
from ..rate.human import HUMAN_JUDGE, HumanJudgeSection
from ..rate.outcomes import human_score_rows, human_verdicts
from ..rate.records import StoredRating
from ..knowledge.record import KnowledgeResult
from ..knowledge.results import KNOWLEDGE_COLUMNS, leaderboard_columns
from .judging import JudgeRun


@dataclass(frozen=True)
class RankingInputs:
    """What the statistics are computed from, shared by every judge."""

    runs: list[FinishedRun]
    all_runs: list[str]
    """Every answering run (the base model included), in evaluation order."""
    sets: dict[str, set[str]]
    """Prompt set -> its prompt ids."""
    lengths: dict[tuple[str, str], float]
    """(run, prompt id) -> answer length in characters."""
    n_resamples: int
    seed: int

    @property
    def val_loss(self) -> dict[str, float]:
        return {r.name: r.val_loss for r in self.runs if r.val_loss is not None}


def _pointwise_parts(name: str, judgments: list[Judgment], inputs: RankingInputs) -> dict[str, Any]:
    rows = score_rows(judgments)
    n, seed = inputs.n_resamples, inputs.seed
    if not rows:
        return {}
    return {
        "pointwise": rank_pointwise(rows, n, seed, runs=inputs.all_runs),
        "pointwise_by_set": {set_name: rank_pointwise(score_rows(judgments, ids), n, seed, runs=inputs.all_runs)
                             for set_name, ids in inputs.sets.items() if score_rows(judgments, ids)},
        "loss_vs_judge": loss_vs_judge(inputs.val_loss, rows, n, seed, judge_name=name),
        "separation": separate_pointwise(rows, n, seed),
        "length_adjusted": length_adjusted_pointwise(rows, inputs.lengths, n, seed),
    }


def _pairwise_parts(name: str, judgments: list[Judgment], inputs: RankingInputs) -> dict[str, Any]:
    verdicts = pair_verdicts(judgments)
    n, seed = inputs.n_resamples, inputs.seed
    if not verdicts:
        return {}
    compared = {v.run_a for v in verdicts} | {v.run_b for v in verdicts}
    components = comparison_components(sorted(compared), [(v.run_a, v.run_b) for v in verdicts])
    parts: dict[str, Any] = {
        "pairwise": rank_pairwise(verdicts, n, seed, runs=inputs.all_runs),
        "components": components,
        "position_bias": position_bias(verdicts),
        "length_controlled": length_controlled_pairwise(verdicts, inputs.lengths, n, seed),
    }
    # Runs in different groups were never compared, directly or through others: ordering them
    # against each other would be the prior's doing, so nothing across groups is concluded.
    if components.connected:
        parts["separation_pairwise"] = separate_pairwise(verdicts, n, seed)
        parts["loss_vs_judge_pairwise"] = loss_vs_judge(inputs.val_loss, verdicts, n, seed,
                                                        judge_name=f"{name} (pairwise)")
    return parts


def _diagnostics(name: str, judgments: list[Judgment], inputs: RankingInputs) -> JudgeDiagnostics:
    n_point = sum(j.protocol == "pointwise" for j in judgments)
    n_pair = sum(j.protocol == "pairwise" for j in judgments)
    kw = dict(n_resamples=inputs.n_resamples, seed=inputs.seed)
    return JudgeDiagnostics(
        judge=name,
        pointwise=diagnose_pointwise(score_rows(judgments), n_point, inputs.lengths, **kw) if n_point else None,
        pairwise=diagnose_pairwise(pair_verdicts(judgments), n_pair, inputs.lengths, **kw) if n_pair else None)


def _judge_section(name: str, judgments: list[Judgment], inputs: RankingInputs, byes: dict[str, int]) -> JudgeSection:
    return JudgeSection(counts=dict(Counter(f"{j.protocol}:{j.status}" for j in judgments)),
                        unparseable=sum(j.status == "unparseable" for j in judgments),
                        errors=sum(j.status == "error" for j in judgments),
                        methods=dict(Counter(j.method for j in judgments if j.status == "ok" and j.method)),
                        diagnostics=_diagnostics(name, judgments, inputs), byes=byes,
                        **_pointwise_parts(name, judgments, inputs), **_pairwise_parts(name, judgments, inputs))


def human_judge(sections: dict[str, HumanJudgeSection], ratings: list[StoredRating],
                inputs: RankingInputs) -> JudgeSection:
    """People as the judge `human`: their rankings and loss comparison from the rating
    statistics, their diagnostics and paired separation by the same rules as any judge's."""
    rows, verdicts = human_score_rows(ratings), human_verdicts(ratings)
    kw = dict(n_resamples=inputs.n_resamples, seed=inputs.seed)
    point, pair = sections.get("pointwise"), sections.get("pairwise")
    diagnostics = JudgeDiagnostics(
        judge=HUMAN_JUDGE,
        pointwise=diagnose_pointwise(rows, len(rows), inputs.lengths or None, **kw) if rows else None,
        pairwise=diagnose_pairwise(verdicts, len(verdicts), inputs.lengths or None, **kw) if verdicts else None)
    return JudgeSection(
        counts={f"{protocol}:ok": s.n_ratings for protocol, s in sections.items()}, unparseable=0, errors=0,
        methods={"human": len(ratings)}, diagnostics=diagnostics,
        pointwise=point.ranking if point else None, loss_vs_judge=point.loss_vs_people if point else None,
        separation=separate_pointwise(rows, inputs.n_resamples, inputs.seed) if rows else None,
        pairwise=pair.ranking if pair else None, loss_vs_judge_pairwise=pair.loss_vs_people if pair else None,
        separation_pairwise=separate_pairwise(verdicts, inputs.n_resamples, inputs.seed) if verdicts else None,
        position_bias=position_bias(verdicts) if verdicts else None)


def finding_of(judges: dict[str, JudgeSection], n_prompts: int) -> StudyFinding:
    """The headline over the protocols that can discriminate; the others are named with why."""
    separations, comparisons, excluded = {}, [], {}
    for name, section in judges.items():
        for label, protocol, separation, comparison in section.protocols(name):
            if not section.discriminates(protocol):
                excluded[label] = "; ".join(section.reasons(protocol))
                continue
            if separation is not None:
                separations[label] = separation
            if comparison is not None:
                comparisons.append(comparison)
    return study_finding(n_prompts, separations, comparisons, excluded)


def build_ranking(runs: list[FinishedRun], all_runs: list[str], judge_runs: dict[str, JudgeRun],
                  sets: dict[str, set[str]], answers: dict[str, dict[str, str]], n_resamples: int, seed: int,
                  inference: dict[str, InferenceSummary], judge_files: dict[str, str],
                  human: dict[str, HumanJudgeSection] | None = None,
                  ratings: list[StoredRating] | None = None, knowledge: KnowledgeResult | None = None) -> Ranking:
    """`human`, `ratings`: people's rating statistics per protocol and the ratings themselves
    (`telcotune rate`); people then appear as the judge `human` too. `knowledge`: the knowledge
    step's result (eval.knowledge)."""
    inputs = RankingInputs(runs, all_runs, sets, answer_lengths(answers), n_resamples, seed)
    judges = {name: _judge_section(name, jr.judgments, inputs, jr.byes)
              for name, jr in judge_runs.items() if jr.judgments}
    if human:
        judges[HUMAN_JUDGE] = human_judge(human, ratings or [], inputs)
    excluded = {name: "; ".join(s.reasons("pointwise")) for name, s in judges.items()
                if s.pointwise is not None and not s.discriminates("pointwise")}
    scores = {name: s.pointwise.scores() for name, s in judges.items() if s.pointwise is not None}
    ratings = ratings_from_rows({name: score_rows(jr.judgments) for name, jr in judge_runs.items()})
    agreement = judge_agreement(scores, ratings, excluded=excluded) if len(scores) >= 2 else None
    val_loss = inputs.val_loss
    return Ranking(
        runs=all_runs, val_loss=val_loss, loss_order=sorted(val_loss, key=val_loss.get),
        prompt_sets={name: len(ids) for name, ids in sets.items()}, judges=judges, agreement=agreement,
        bootstrap=BootstrapSettings(n_resamples=n_resamples, seed=seed, unit="prompt"),
        inference=inference, judge_files=judge_files, human=human or {}, knowledge=knowledge,
        finding=finding_of(judges, sum(len(ids) for ids in sets.values())))


def leaderboard_rows(ranking: Ranking, runs: list[FinishedRun]) -> list[dict[str, Any]]:
    by_name = {r.name: r for r in runs}
    loss_rank = {name: i + 1 for i, name in enumerate(ranking.loss_order)}
    knowledge_columns = leaderboard_columns(ranking.knowledge) if ranking.knowledge is not None else {}
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
        if ranking.knowledge is not None:
            row.update(knowledge_columns.get(name, dict.fromkeys(KNOWLEDGE_COLUMNS)))
        rows.append(row)
    return rows


def write_ranking(paths: EvalPaths, ranking: Ranking, rows: list[dict[str, Any]]) -> None:
    write_record(paths.ranking, ranking)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]) if rows else ["name"])
    writer.writeheader()
    writer.writerows(rows)
    write_text(paths.leaderboard, buffer.getvalue())
