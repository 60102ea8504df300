"""The study's answer in words, computed once: does a lower validation loss go with better judged
answers? Each comparison gets a verdict from its Spearman interval (entirely above 0 ->
`predicted`, entirely below -> `inverse`, spanning 0 -> `inconclusive`, no interval ->
`untested`) and one sentence; the study's headline joins them. Both are written into
ranking.json; the report and the summary print them and never re-derive them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..fmt import interval, listing, ordinal, signed

if TYPE_CHECKING:
    from .loss_vs_judge import LossJudgeComparison

Verdict = Literal["predicted", "inverse", "inconclusive", "untested"]
CLAUSES: dict[str, str] = {
    "predicted": "lower validation loss did predict better judged answers",
    "inverse": "lower validation loss went with worse judged answers",
    "inconclusive": "lower validation loss did not reliably predict better judged answers",
    "untested": "whether lower validation loss predicts better judged answers could not be tested",
}


def verdict_of(c: LossJudgeComparison) -> Verdict:
    ci = c.spearman_ci
    if c.correlation.spearman_rho is None or ci is None:
        return "untested"
    if ci.low > 0:
        return "predicted"
    if ci.high < 0:
        return "inverse"
    return "inconclusive"


# ---------------------------------------------------------------- one comparison


def _num(x: float) -> str:
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def _tied_with(c: LossJudgeComparison, run: str) -> int:
    """How many other runs share `run`'s judge rank."""
    return sum(r == c.judge_ranks[run] for other, r in c.judge_ranks.items() if other != run)


def _placement(c: LossJudgeComparison) -> str:
    tied = _tied_with(c, c.best_loss_run)
    tie = f" (tied with {tied} other run{'s' if tied > 1 else ''})" if tied else ""
    text = (f"The lowest-loss run ({c.best_loss_run}, loss {c.val_loss[c.best_loss_run]:.3f}) "
            f"ranked {ordinal(c.best_loss_judge_rank)}{tie} of {c.n_runs} by {c.judge_name}")
    # A run tied for first is as best-judged as any other: naming one of the tied runs "the
    # best-judged run" would contradict the sentence's own first half.
    if c.best_judged_run != c.best_loss_run and c.best_loss_judge_rank != 1:
        text += (f", while the best-judged run ({c.best_judged_run}) had the "
                 f"{ordinal(c.best_judged_loss_rank)}-lowest loss")
    return text


def _correlation(c: LossJudgeComparison) -> str:
    rho = c.correlation.spearman_rho
    if rho is None:
        return (f"the correlation between loss order and judged order could not be computed "
                f"({c.correlation.missing_reason})")
    text = f"the Spearman correlation between loss order and judged order is {_num(rho)}"
    ci = c.spearman_ci
    if ci is None:
        return (f"{text}, but without a confidence interval ({c.ci_missing_reason}) this cannot "
                f"show whether lower validation loss reliably predicts better judged answers")
    text += f" ({ci.level:.0%} CI {_num(ci.low)} to {_num(ci.high)})"
    return f"{text}, so {CLAUSES[verdict_of(c)]}"


def plain_finding(c: LossJudgeComparison) -> str:
    """One judge's (or protocol's) conclusion in one or two sentences."""
    if c.best_loss_run is None:
        return (f"No run has both a validation loss and a score from {c.judge_name}, so loss "
                f"and judged quality cannot be compared.")
    text = f"{_placement(c)}; {_correlation(c)}."
    if c.runs_without_judgment:
        text += (f" {len(c.runs_without_judgment)} run(s) without scores from {c.judge_name} "
                 f"were left out.")
    return text


# ---------------------------------------------------------------- the study


@dataclass(frozen=True)
class StudyFinding:
    verdicts: dict[str, Verdict]
    """Comparison label (judge, or `judge (pairwise)`) -> its verdict."""
    headline: str | None
    """None when no judge was compared with validation loss."""


def _rho(c: LossJudgeComparison) -> str:
    if c.correlation.spearman_rho is None:
        return f"{c.judge_name} not computed: {c.correlation.missing_reason or 'no reason recorded'}"
    ci = c.spearman_ci
    if ci is None:
        return f"{c.judge_name} {signed(c.correlation.spearman_rho)} without a CI: {c.ci_missing_reason}"
    return f"{c.judge_name} {signed(c.correlation.spearman_rho)} {interval(ci.low, ci.high)}"


def _verdicts(comparisons: list[LossJudgeComparison]) -> str:
    level = next((c.spearman_ci.level for c in comparisons if c.spearman_ci), 0.95)
    numbers = f"Spearman rho with {level:.0%} CI: {'; '.join(_rho(c) for c in comparisons)}"
    groups: dict[str, list[LossJudgeComparison]] = {}
    for c in comparisons:
        groups.setdefault(verdict_of(c), []).append(c)
    if len(comparisons) == 1:
        return f"for {comparisons[0].judge_name}, {CLAUSES[verdict_of(comparisons[0])]} ({numbers})"
    if len(groups) == 1:
        (name, _), = groups.items()
        return f"for all {len(comparisons)} judge rankings, {CLAUSES[name]} ({numbers})"
    parts = [f"for {listing([c.judge_name for c in cs])}, {CLAUSES[name]}" for name, cs in groups.items()]
    return f"{'; '.join(parts)} ({numbers})"


def _tied(c: LossJudgeComparison) -> bool:
    rank = c.best_loss_judge_rank
    return sum(r == rank for r in c.judge_ranks.values()) > 1


def _tail(usable: list[LossJudgeComparison]) -> str:
    firsts = [c for c in usable if c.best_loss_judge_rank == 1]
    choose = "so choosing by validation loss alone would"
    if len(firsts) == len(usable):
        if any(_tied(c) for c in firsts):
            return f"{choose} have chosen a run tied for the best judge score"
        return f"{choose} also have chosen the best-judged run"
    if not firsts:
        return f"{choose} have missed the best-judged run every time"
    return f"{choose} have chosen the best-judged run for {len(firsts)} of {len(usable)}"


def _best_loss(comparisons: list[LossJudgeComparison]) -> str:
    usable = [c for c in comparisons if c.best_loss_run and c.best_loss_judge_rank]
    if not usable:
        return ""
    runs = list(dict.fromkeys(c.best_loss_run for c in usable))

    def place(c: LossJudgeComparison) -> str:
        # Judges that scored different runs can disagree on which run has the lowest loss.
        which = "" if len(runs) == 1 else f"{c.best_loss_run} "
        tied = " (tied)" if _tied(c) else ""
        return f"{which}{ordinal(c.best_loss_judge_rank)} of {c.n_runs}{tied} by {c.judge_name}"

    subject = f"The lowest-loss run ({runs[0]})" if len(runs) == 1 else "The lowest-loss runs"
    return f" {subject} ranked {listing([place(c) for c in usable])}, {_tail(usable)}."


def study_finding(comparisons: list[LossJudgeComparison]) -> StudyFinding:
    verdicts = {c.judge_name: verdict_of(c) for c in comparisons}
    if not comparisons:
        return StudyFinding(verdicts, None)
    return StudyFinding(verdicts, f"This study found that {_verdicts(comparisons)}.{_best_loss(comparisons)}")
