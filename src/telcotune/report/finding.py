"""The study's answer in words, computed from ranking.json: does a lower validation loss go
with better judged answers? Every number and verdict comes from the comparisons; the verdict
of each judge follows its Spearman interval (above 0, below 0, or spanning 0), the same rule
as each judge's own `plain_finding`."""

from __future__ import annotations

from .fmt import interval, listing, ordinal, signed
from .judges import Comparison

CLAUSES = {
    "predicted": "lower validation loss did predict better judged answers",
    "inverse": "lower validation loss went with worse judged answers",
    "inconclusive": "lower validation loss did not reliably predict better judged answers",
    "untested": "whether lower validation loss predicts better judged answers could not be tested",
}


def verdict(c: Comparison) -> str:
    ci = c.spearman_ci
    if c.rho is None or not ci:
        return "untested"
    if ci["low"] > 0:
        return "predicted"
    if ci["high"] < 0:
        return "inverse"
    return "inconclusive"


def _rho(c: Comparison) -> str:
    if c.rho is None:
        reason = (c.data.get("correlation") or {}).get("missing_reason") or "no reason recorded"
        return f"{c.label} not computed: {reason}"
    ci = c.spearman_ci
    if not ci:
        return f"{c.label} {signed(c.rho)} without a CI: {c.data.get('ci_missing_reason') or 'no reason recorded'}"
    return f"{c.label} {signed(c.rho)} {interval(ci.get('low'), ci.get('high'))}"


def _numbers(comparisons: list[Comparison]) -> str:
    level = next((c.spearman_ci.get("level", 0.95) for c in comparisons if c.spearman_ci), 0.95)
    return f"Spearman rho with {level:.0%} CI: {'; '.join(_rho(c) for c in comparisons)}"


def _verdicts(comparisons: list[Comparison]) -> str:
    groups: dict[str, list[Comparison]] = {}
    for c in comparisons:
        groups.setdefault(verdict(c), []).append(c)
    numbers = _numbers(comparisons)
    if len(comparisons) == 1:
        return f"for {comparisons[0].label}, {CLAUSES[verdict(comparisons[0])]} ({numbers})"
    if len(groups) == 1:
        (name, _), = groups.items()
        return f"for all {len(comparisons)} judge rankings, {CLAUSES[name]} ({numbers})"
    parts = [f"for {listing([c.label for c in cs])}, {CLAUSES[name]}" for name, cs in groups.items()]
    return f"{'; '.join(parts)} ({numbers})"


def _tied(c: Comparison) -> bool:
    rank = c.data["best_loss_judge_rank"]
    return sum(r == rank for r in (c.data.get("judge_ranks") or {}).values()) > 1


def _tail(usable: list[Comparison]) -> str:
    firsts = [c for c in usable if c.data["best_loss_judge_rank"] == 1]
    choose = "so choosing by validation loss alone would"
    if len(firsts) == len(usable):
        if any(_tied(c) for c in firsts):
            return f"{choose} have chosen a run tied for the best judge score"
        return f"{choose} also have chosen the best-judged run"
    if not firsts:
        return f"{choose} have missed the best-judged run every time"
    return f"{choose} have chosen the best-judged run for {len(firsts)} of {len(usable)}"


def _best_loss(comparisons: list[Comparison]) -> str:
    usable = [c for c in comparisons if c.data.get("best_loss_run") and c.data.get("best_loss_judge_rank")]
    if not usable:
        return ""
    runs = list(dict.fromkeys(c.data["best_loss_run"] for c in usable))

    def place(c: Comparison) -> str:
        # Judges that scored different runs can disagree on which run has the lowest loss.
        which = "" if len(runs) == 1 else f"{c.data['best_loss_run']} "
        tied = " (tied)" if _tied(c) else ""
        return f"{which}{ordinal(c.data['best_loss_judge_rank'])} of {c.data.get('n_runs')}{tied} by {c.label}"

    subject = f"The lowest-loss run ({runs[0]})" if len(runs) == 1 else "The lowest-loss runs"
    return f" {subject} ranked {listing([place(c) for c in usable])}, {_tail(usable)}."


def headline(comparisons: list[Comparison]) -> str | None:
    """One or two sentences; None when no judge was compared with validation loss."""
    if not comparisons:
        return None
    return f"This study found that {_verdicts(comparisons)}.{_best_loss(comparisons)}"
