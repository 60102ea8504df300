"""eval/ranking.json: per-judge rankings with intervals, position bias, judge agreement, loss
versus judge, and the study's finding. The statistics' own result types (`telcotune.rank`) are
the records: they are written and read through pydantic as they are, defined once."""

from __future__ import annotations

from ..rank import (
    JudgeAgreement, LossJudgeComparison, PairwiseRanking, PointwiseRanking, PositionBias,
)
from ..rank.finding import StudyFinding
from .io import Record


class JudgeSection(Record):
    """One judge's results: usable counts, rankings per protocol, loss versus judge."""

    counts: dict[str, int]
    """`protocol:status` -> judgments (status ok, unparseable or error)."""
    unparseable: int
    errors: int
    pointwise: PointwiseRanking | None = None
    pointwise_by_set: dict[str, PointwiseRanking] = {}
    loss_vs_judge: LossJudgeComparison | None = None
    pairwise: PairwiseRanking | None = None
    position_bias: PositionBias | None = None
    loss_vs_judge_pairwise: LossJudgeComparison | None = None

    def comparisons(self) -> list[LossJudgeComparison]:
        return [c for c in (self.loss_vs_judge, self.loss_vs_judge_pairwise) if c is not None]


class InferenceSummary(Record):
    """One run's answers: how many, how long, and their energy."""

    run: str
    answers: int
    new_tokens: int
    j_per_generated_token: float | None
    energy_method: str | None
    energy_j: float | None
    duration_s: float | None
    tokens_per_s: float | None


class BootstrapSettings(Record):
    n_resamples: int
    seed: int
    unit: str = "prompt"


class Ranking(Record):
    runs: list[str]
    """Every answering run (the base model included), in evaluation order."""
    val_loss: dict[str, float]
    """Best validation loss of each trained run."""
    loss_order: list[str]
    """Trained runs, lowest loss first."""
    prompt_sets: dict[str, int]
    """Prompt set -> prompts evaluated."""
    judges: dict[str, JudgeSection]
    """By judge spec, in panel order."""
    agreement: JudgeAgreement | None
    bootstrap: BootstrapSettings
    inference: dict[str, InferenceSummary] = {}
    judge_files: dict[str, str] = {}
    """Judge spec -> its judgments file name under eval/judgments/."""
    finding: StudyFinding
    """The study's answer, computed once (rank.finding) for the report and the summary."""

    def comparisons(self) -> list[LossJudgeComparison]:
        return [c for section in self.judges.values() for c in section.comparisons()]
