"""One judge score per run, for the sections that set quality against cost (target modules,
energy versus quality, samples).

Pointwise judges all score 1-10, so the panel score is the mean of the judges' mean scores,
over the judges with pointwise rankings that can discriminate (a judge that cannot, e.g. one
scoring every answer 1.0, would only flatten the scale); a run is scored only if every such
judge scored it (a run missing one judge would be compared on a different panel). Without
such pointwise judging, the panel score is the mean Bradley-Terry probability of beating an
average run, over the pairwise judges that can discriminate.

Knowledge accuracy (ranking.knowledge) is shown beside the judge score where runs are compared.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..artifacts.ranking import Ranking
from ..fmt import listing
from .judges import judges, left_out_sentence


@dataclass(frozen=True)
class PanelScore:
    label: str
    """What the score is and whose it is, for sentences."""
    axis_label: str
    """Short: for figure axes."""
    scores: dict[str, float]
    """run -> score, higher is better."""
    judges: tuple[str, ...]
    unscored: tuple[str, ...]
    """Runs some judge did not score (left out)."""

    def best(self, runs: list[str] | None = None) -> str | None:
        pool = {r: s for r, s in self.scores.items() if runs is None or r in runs}
        return min(pool, key=lambda r: (-pool[r], r)) if pool else None


def _pointwise(ranking: Ranking | None) -> dict[str, dict[str, float]]:
    return {judge: values for judge, section in judges(ranking).items()
            if section.pointwise and section.discriminates("pointwise") and (values := section.pointwise.scores())}


def _pairwise(ranking: Ranking | None) -> dict[str, dict[str, float]]:
    return {judge: values for judge, section in judges(ranking).items()
            if section.pairwise and section.discriminates("pairwise")
            and (values := {e.run: e.win_prob_vs_average for e in section.pairwise.entries
                            if e.win_prob_vs_average is not None})}


def _panel(per_judge: dict[str, dict[str, float]], what: str, axis: str) -> PanelScore:
    names = list(per_judge)
    all_runs = sorted({r for values in per_judge.values() for r in values})
    common = [r for r in all_runs if all(r in per_judge[j] for j in names)]
    scores = {r: sum(per_judge[j][r] for j in names) / len(names) for r in common}
    who = f"from {names[0]}" if len(names) == 1 else f"averaged over {listing(names)}"
    return PanelScore(f"{what}, {who}", axis, scores, tuple(names), tuple(r for r in all_runs if r not in common))


def panel_score(ranking: Ranking | None) -> PanelScore | None:
    """None when no judge produced a per-run score."""
    pointwise = _pointwise(ranking)
    if pointwise:
        return _panel(pointwise, "mean pointwise judge score (1-10)", "judge score (1-10)")
    pairwise = _pairwise(ranking)
    if pairwise:
        return _panel(pairwise, "Bradley-Terry probability of beating an average run", "P(beats an average run)")
    return None


def no_panel_reason(ranking: Ranking | None) -> str:
    """Why `panel_score` is None."""
    if not judges(ranking):
        return "no judge ranking in eval/ranking.json"
    return left_out_sentence(ranking) or "no judge produced a per-run score"


def knowledge_accuracy(ranking: Ranking | None) -> dict[str, float]:
    """run -> multiple-choice accuracy (0-1), empty without the knowledge step."""
    result = ranking.knowledge if ranking is not None else None
    return {m.run: m.accuracy.value for m in result.models} if result is not None else {}
