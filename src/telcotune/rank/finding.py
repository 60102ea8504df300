"""The study's answer in computed words, written once into ranking.json (the report and the
summary print it, never re-derive it): one sentence per loss-versus-judge comparison
(`plain_finding`), and the headline (`study_finding`): how many prompts, which judges could tell
the configurations apart, which were left out because they cannot discriminate (and why), what
each remaining judge says about validation loss, and where the lowest-loss run landed.

The loss verdict follows the Spearman interval: entirely above 0 -> `predicted`, entirely below
-> `inverse`, spanning 0 -> `no_evidence` ("no evidence either way"), no interval -> `untested`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..fmt import listing, ordinal
from .interval import SMALL_SAMPLE_PROMPTS

if TYPE_CHECKING:
    from .loss_vs_judge import LossJudgeComparison
    from .paired import Separation

LossVerdict = Literal["predicted", "inverse", "no_evidence", "untested"]
NO_EVIDENCE = "no evidence either way"


def _num(x: float) -> str:
    text = f"{x:.2f}"
    return "0.00" if text == "-0.00" else text


def loss_verdict(c: LossJudgeComparison) -> LossVerdict:
    ci = c.spearman_ci
    if c.correlation.spearman_rho is None or ci is None:
        return "untested"
    if ci.low > 0:
        return "predicted"
    if ci.high < 0:
        return "inverse"
    return "no_evidence"


# ---------------------------------------------------------------- one comparison


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
    verdict = loss_verdict(c)
    if verdict == "predicted":
        return f"{text}, so lower validation loss did predict better judged answers"
    if verdict == "inverse":
        return f"{text}, so lower validation loss went with worse judged answers"
    return f"{text}: {NO_EVIDENCE} whether lower validation loss predicts better judged answers"


def plain_finding(comparison: LossJudgeComparison) -> str:
    """One judge's (or protocol's) conclusion in one or two sentences."""
    c = comparison
    if c.best_loss_run is None:
        return (f"No run has both a validation loss and a score from {c.judge_name}, so loss "
                f"and judged quality cannot be compared.")
    text = f"{_placement(c)}; {_correlation(c)}."
    if c.runs_without_judgment:
        text += (f" {len(c.runs_without_judgment)} run(s) without scores from {c.judge_name} "
                 f"were left out.")
    return text


# ---------------------------------------------------------------- the headline


def _separation_sentence(n_prompts: int, separations: Mapping[str, Separation]) -> str:
    able = [j for j, s in separations.items() if s.discriminates]
    unable = [j for j, s in separations.items() if not s.discriminates]
    start = f"With {n_prompts} prompts"
    if not separations:
        return f"{start}, no judge that can discriminate compared the configurations."
    if not able:
        tail = "(none significantly worse than the best), so no configuration could be told apart."
        if len(unable) == 1:
            k = separations[unable[0]].n_runs
            return (f"{start}, the judge ({unable[0]}) could not tell the configurations apart: all "
                    f"{k} of {k} runs are in its top tier {tail}")
        tiers = listing([f"{j} ({separations[j].n_runs} of {separations[j].n_runs} runs)" for j in unable])
        return (f"{start}, no judge could tell the configurations apart: every run is in the top "
                f"tier of {tiers} {tail}")
    details = []
    for j in able:
        s = separations[j]
        sep = "" if s.separability is None else f", {s.separability:.0%} of run pairs separated"
        details.append(f"{j}: top tier {len(s.tier)} of {s.n_runs} runs{sep}")
    text = f"{start}, {listing(able)} could tell configurations apart ({'; '.join(details)})"
    return text + (f"; {listing(unable)} could not." if unable else ".")


def _excluded_sentence(excluded: Mapping[str, str]) -> str:
    if not excluded:
        return ""
    return (" Left out of every conclusion as unable to discriminate: "
            + "; ".join(f"{judge} ({reason})" for judge, reason in excluded.items()) + ".")


def _loss_clause(c: LossJudgeComparison) -> str:
    verdict = loss_verdict(c)
    if verdict == "untested":
        reason = c.correlation.missing_reason or c.ci_missing_reason or "no interval"
        return f"{c.judge_name}: not tested ({reason})"
    ci = c.spearman_ci
    numbers = (f"Spearman {_num(c.correlation.spearman_rho)}, {ci.level:.0%} CI {_num(ci.low)} to "
               f"{_num(ci.high)}")
    clause = {"predicted": "lower loss went with better judged answers",
              "inverse": "lower loss went with worse judged answers",
              "no_evidence": NO_EVIDENCE}[verdict]
    return f"{c.judge_name}: {clause} ({numbers})"


def _loss_sentence(comparisons: list[LossJudgeComparison]) -> str:
    if not comparisons:
        return ""
    return " Validation loss against judged quality: " + "; ".join(_loss_clause(c) for c in comparisons) + "."


def _tail(usable: list[LossJudgeComparison]) -> str:
    firsts = [c for c in usable if c.best_loss_judge_rank == 1]
    choose = "so choosing by validation loss alone would"
    if len(firsts) == len(usable):
        if any(_tied_with(c, c.best_loss_run) for c in firsts):
            return f"{choose} have chosen a run tied for the best judge score"
        return f"{choose} also have chosen the best-judged run"
    if not firsts:
        return f"{choose} have missed the best-judged run every time"
    return f"{choose} have chosen the best-judged run for {len(firsts)} of {len(usable)}"


def _best_loss_sentence(comparisons: list[LossJudgeComparison]) -> str:
    usable = [c for c in comparisons if c.best_loss_run and c.best_loss_judge_rank]
    if not usable:
        return ""
    runs = list(dict.fromkeys(c.best_loss_run for c in usable))

    def place(c: LossJudgeComparison) -> str:
        # Judges that scored different runs can disagree on which run has the lowest loss.
        which = "" if len(runs) == 1 else f"{c.best_loss_run} "
        tied = " (tied)" if _tied_with(c, c.best_loss_run) else ""
        return f"{which}{ordinal(c.best_loss_judge_rank)} of {c.n_runs}{tied} by {c.judge_name}"

    subject = f"The lowest-loss run ({runs[0]})" if len(runs) == 1 else "The lowest-loss runs"
    return f" {subject} ranked {listing([place(c) for c in usable])}, {_tail(usable)}."


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
    """Judges (or `judge (pairwise)`) for which some run is significantly worse than the best."""
    non_discriminating_judges: tuple[str, ...]
    """Judges kept in the study whose tier holds every run."""
    excluded_judges: dict[str, str]
    """Judges left out of every conclusion because they cannot discriminate -> why."""
    verdicts: dict[str, LossVerdict]
    """Comparison label -> loss verdict, for the judges kept."""
    small_sample: bool
    headline: str | None
    """None when nothing was judged."""

    @property
    def any_discriminates(self) -> bool:
        return bool(self.discriminating_judges)


def study_finding(n_prompts: int, separations: Mapping[str, Separation], comparisons: list[LossJudgeComparison],
                  excluded: Mapping[str, str] | None = None) -> StudyFinding:
    """`separations` are keyed by the label to print (a judge, or `judge (pairwise)`), of the
    judges kept; `comparisons` the kept judges' loss-versus-judge comparisons; `excluded` the
    judges that cannot discriminate, with the reason."""
    excluded = dict(excluded or {})
    if not separations and not comparisons and not excluded:
        return StudyFinding(n_prompts, (), (), {}, {}, n_prompts < SMALL_SAMPLE_PROMPTS, None)
    text = (_separation_sentence(n_prompts, separations) + _excluded_sentence(excluded)
            + _loss_sentence(comparisons) + _best_loss_sentence(comparisons) + _small_sample_sentence(n_prompts))
    return StudyFinding(
        n_prompts=n_prompts,
        discriminating_judges=tuple(j for j, s in separations.items() if s.discriminates),
        non_discriminating_judges=tuple(j for j, s in separations.items() if not s.discriminates),
        excluded_judges=excluded,
        verdicts={c.judge_name: loss_verdict(c) for c in comparisons},
        small_sample=n_prompts < SMALL_SAMPLE_PROMPTS, headline=text)
