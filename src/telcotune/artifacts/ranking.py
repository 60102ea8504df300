"""eval/ranking.json: per-judge rankings with intervals, position bias, judge agreement, loss
versus judge, and the study's finding. The statistics' own result types (`telcotune.rank`) are
the records: they are written and read through pydantic as they are, defined once."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

from ..judge.pairs import Components
from ..rank import (
    JudgeAgreement, LossJudgeComparison, PairwiseRanking, PointwiseRanking, PositionBias, Separation,
)
from ..rank.diagnostics import JudgeDiagnostics, ProtocolDiagnostics
from ..rank.finding import StudyFinding
from ..rank.length import LengthAdjustedPointwise, LengthControlledRanking
from ..knowledge.record import KnowledgeResult
from ..rate.human import HumanJudgeSection
from .io import Record

Protocol = Literal["pointwise", "pairwise"]


class JudgeSection(Record):
    """One judge's results: usable counts, whether it can discriminate (diagnostics), rankings
    per protocol with paired separation and length control, loss versus judge."""

    counts: dict[str, int]
    """`protocol:status` -> judgments (status ok, unparseable or error)."""
    unparseable: int
    errors: int
    methods: dict[str, int] = {}
    """How the usable judgments were produced (`logprob`, `text`, `rule`, `embedding`) -> count."""
    diagnostics: JudgeDiagnostics | None = None
    pointwise: PointwiseRanking | None = None
    pointwise_by_set: dict[str, PointwiseRanking] = {}
    separation: Separation | None = None
    """Paired comparison of the pointwise means: tier, separability, P(best)."""
    length_adjusted: LengthAdjustedPointwise | None = None
    loss_vs_judge: LossJudgeComparison | None = None
    pairwise: PairwiseRanking | None = None
    components: Components | None = None
    """The pairwise comparison graph's groups; runs in different groups are never ordered."""
    byes: dict[str, int] = {}
    """Swiss rounds each run sat out."""
    position_bias: PositionBias | None = None
    separation_pairwise: Separation | None = None
    length_controlled: LengthControlledRanking | None = None
    loss_vs_judge_pairwise: LossJudgeComparison | None = None

    def comparisons(self) -> list[LossJudgeComparison]:
        return [c for c in (self.loss_vs_judge, self.loss_vs_judge_pairwise) if c is not None]

    def diagnosis(self, protocol: Protocol) -> ProtocolDiagnostics | None:
        return getattr(self.diagnostics, protocol) if self.diagnostics is not None else None

    def discriminates(self, protocol: Protocol) -> bool:
        """Passes the documented thresholds (rank.diagnostics); only such a protocol's numbers
        enter combined scores, recommendations and the finding."""
        diagnosis = self.diagnosis(protocol)
        return diagnosis is not None and diagnosis.discriminates

    def reasons(self, protocol: Protocol) -> tuple[str, ...]:
        diagnosis = self.diagnosis(protocol)
        return diagnosis.reasons if diagnosis is not None else ("no diagnostics",)

    def protocols(self, judge: str) -> Iterator[tuple[str, Protocol, Separation | None, LossJudgeComparison | None]]:
        """(label, protocol, separation, loss comparison) for each protocol this judge ran."""
        if self.pointwise is not None:
            yield judge, "pointwise", self.separation, self.loss_vs_judge
        if self.pairwise is not None:
            yield f"{judge} (pairwise)", "pairwise", self.separation_pairwise, self.loss_vs_judge_pairwise


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
    knowledge: KnowledgeResult | None = None
    """The knowledge step (eval.knowledge): accuracy of the base model and every adapter with
    intervals, and each adapter's paired difference to the base with its verdict."""
    human: dict[str, HumanJudgeSection] = {}
    """People's ratings (`telcotune rate`) per protocol: their ranking, agreement between people,
    each LLM judge against people, and how many more ratings each statistic needs. People also
    appear in `judges` as the judge `human`."""
    finding: StudyFinding
    """The study's answer, computed once (rank.finding) for the report and the summary."""

    def comparisons(self) -> list[LossJudgeComparison]:
        return [c for section in self.judges.values() for c in section.comparisons()]
