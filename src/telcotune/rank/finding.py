"""One computed sentence that answers the study's question for one judge.

Every number and every verdict word comes from the comparison; the wording branches on the
interval: entirely above 0 -> "did predict", entirely below 0 -> "went with worse", spanning
0 -> "did not reliably predict", no interval -> says so instead of concluding.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .ranks import ordinal

if TYPE_CHECKING:
    from .loss_vs_judge import LossJudgeComparison


def _num(x: float) -> str:
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def _placement(c: LossJudgeComparison) -> str:
    text = (f"The lowest-loss run ({c.best_loss_run}, loss {c.val_loss[c.best_loss_run]:.3f}) "
            f"ranked {ordinal(c.best_loss_judge_rank)} of {c.n_runs} by {c.judge_name}")
    if c.best_judged_run != c.best_loss_run:
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
    if ci.low > 0:
        return f"{text}, so lower validation loss did predict better judged answers"
    if ci.high < 0:
        return f"{text}, so lower validation loss went with worse judged answers"
    return f"{text}, so lower validation loss did not reliably predict better judged answers"


def plain_finding(comparison: LossJudgeComparison) -> str:
    c = comparison
    if c.best_loss_run is None:
        return (f"No run has both a validation loss and a score from {c.judge_name}, so loss "
                f"and judged quality cannot be compared.")
    text = f"{_placement(c)}; {_correlation(c)}."
    if c.runs_without_judgment:
        text += (f" {len(c.runs_without_judgment)} run(s) without scores from {c.judge_name} "
                 f"were left out.")
    return text
