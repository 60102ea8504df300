"""The study's findings in computed words: one sentence per judge on loss versus judgement
(`plain_finding`), and the headline (`study_finding`): how many prompts, which judges could
tell the configurations apart, and what each judge says about validation loss.

Every number and every verdict word comes from the comparisons. The loss verdict follows the
Spearman interval: entirely above 0 -> "did predict", entirely below 0 -> "went with worse",
spanning 0 -> "no evidence either way", no interval -> says so instead of concluding.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from .interval import SMALL_SAMPLE_PROMPTS
from .ranks import ordinal

if TYPE_CHECKING:
    from .loss_vs_judge import LossJudgeComparison
    from .paired import Separation

LossVerdict = Literal["predicted", "inverse", "no_evidence", "untested"]
NO_EVIDENCE = "no evidence either way"


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
    return (f"{text}: {NO_EVIDENCE} whether lower validation loss predicts better judged "
            f"answers")


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


def loss_verdict(c: LossJudgeComparison) -> LossVerdict:
    ci = c.spearman_ci
    if c.correlation.spearman_rho is None or ci is None:
        return "untested"
    if ci.low > 0:
        return "predicted"
    if ci.high < 0:
        return "inverse"
    return "no_evidence"


def _listing(items: list[str]) -> str:
    if len(items) <= 2:
        return " and ".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def _separation_sentence(n_prompts: int, separations: Mapping[str, Separation]) -> str:
    able = [j for j, s in separations.items() if s.discriminates]
    unable = [j for j, s in separations.items() if not s.discriminates]
    start = f"With {n_prompts} prompts"
    if not separations:
        return f"{start}, no judge compared the configurations."
    if not able:
        tail = "(none significantly worse than the best), so no configuration could be told apart."
        if len(unable) == 1:
            k = separations[unable[0]].n_runs
            return (f"{start}, the judge ({unable[0]}) could not tell the configurations apart: all "
                    f"{k} of {k} runs are in its top tier {tail}")
        tiers = _listing([f"{j} ({separations[j].n_runs} of {separations[j].n_runs} runs)" for j in unable])
        return (f"{start}, no judge could tell the configurations apart: every run is in the top "
                f"tier of {tiers} {tail}")
    details = []
    for j in able:
        s = separations[j]
        sep = "" if s.separability is None else f", {s.separability:.0%} of run pairs separated"
        details.append(f"{j}: top tier {len(s.tier)} of {s.n_runs} runs{sep}")
    text = f"{start}, {_listing(able)} could tell configurations apart ({'; '.join(details)})"
    return text + (f"; {_listing(unable)} could not." if unable else ".")


def _loss_clause(name: str, c: LossJudgeComparison) -> str:
    verdict = loss_verdict(c)
    if verdict == "untested":
        reason = c.correlation.missing_reason or c.ci_missing_reason or "no interval"
        return f"{name}: not tested ({reason})"
    ci = c.spearman_ci
    numbers = (f"Spearman {_num(c.correlation.spearman_rho)}, {ci.level:.0%} CI {_num(ci.low)} to "
               f"{_num(ci.high)}")
    clause = {"predicted": "lower loss went with better judged answers",
              "inverse": "lower loss went with worse judged answers",
              "no_evidence": NO_EVIDENCE}[verdict]
    return f"{name}: {clause} ({numbers})"


def _loss_sentence(comparisons: Mapping[str, LossJudgeComparison]) -> str:
    if not comparisons:
        return ""
    return " Validation loss against judged quality: " + "; ".join(
        _loss_clause(name, c) for name, c in comparisons.items()) + "."


def _small_sample_sentence(n_prompts: int) -> str:
    if n_prompts >= SMALL_SAMPLE_PROMPTS:
        return ""
    return (f" {n_prompts} prompts are fewer than {SMALL_SAMPLE_PROMPTS}, so the intervals' "
            f"nominal level is not assured; `telcotune plan` estimates how many would be needed.")


@dataclass(frozen=True)
class StudyFinding:
    """The headline: what the study could and could not tell."""

    n_prompts: int
    discriminating_judges: tuple[str, ...]
    """Judges for which some run is significantly worse than the best."""
    non_discriminating_judges: tuple[str, ...]
    loss_verdicts: dict[str, LossVerdict]
    small_sample: bool
    text: str

    @property
    def any_discriminates(self) -> bool:
        return bool(self.discriminating_judges)

    def to_dict(self) -> dict[str, Any]:
        return {"n_prompts": self.n_prompts, "discriminating_judges": list(self.discriminating_judges),
                "non_discriminating_judges": list(self.non_discriminating_judges),
                "any_discriminates": self.any_discriminates, "loss_verdicts": dict(self.loss_verdicts),
                "small_sample": self.small_sample, "text": self.text}


def study_finding(n_prompts: int, separations: Mapping[str, Separation],
                  comparisons: Mapping[str, LossJudgeComparison]) -> StudyFinding:
    """`separations` and `comparisons` are keyed by the label to print (a judge, or e.g.
    "rubric (pairwise)"); `n_prompts` is the study's evaluation prompt count."""
    text = (_separation_sentence(n_prompts, separations) + _loss_sentence(comparisons)
            + _small_sample_sentence(n_prompts))
    return StudyFinding(
        n_prompts=n_prompts,
        discriminating_judges=tuple(j for j, s in separations.items() if s.discriminates),
        non_discriminating_judges=tuple(j for j, s in separations.items() if not s.discriminates),
        loss_verdicts={name: loss_verdict(c) for name, c in comparisons.items()},
        small_sample=n_prompts < SMALL_SAMPLE_PROMPTS, text=text)
