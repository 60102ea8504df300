"""People as a judge: their ranking of the runs, how far they agree with each other, how far each
LLM judge agrees with them, and the study's question asked with people as the judge.

`human_judge_section(...)` computes everything for one protocol and returns a typed
`HumanJudgeSection`; it renders nothing. The evaluation puts the sections into ranking.json's
`human` (artifacts.ranking) and people, as the judge `human`, into its `judges` (so the report's
judgement and loss-versus-judge sections show people like any judge).

Conventions: "both bad" counts as a tie; as a ranking, a pair on a prompt that several people
rated is a win only when all of them chose the same answer (as for LLM judges across orders);
for agreement with a judge, the human majority decides (splits are left out, see outcomes.py).
"""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

from ..paths import EvalPaths, StudyPaths
from ..rank import (
    Interval, LossJudgeComparison, PairwiseRanking, PointwiseRanking, loss_vs_judge, position_bias, rank_pairwise,
    rank_pointwise,
)
from ..rank.correlation import Correlation
from .correlate import ranking_correlation, run_scores
from .needed import RatingsNeeded, ratings_needed
from .outcomes import (
    LABELS, MIRROR, both_orientations, human_pair_outcomes, human_score_rows, human_verdicts, judge_pair_outcomes,
    label_of,
)
from .pool import Protocol
from .records import StoredRating
from .reliability import MIN_PROMPTS, Estimate, KappaWeights, Level, cohen_kappa, krippendorff_alpha, raw_agreement
from .study import JudgeEvidence, load_answers, load_judgments, load_val_losses

HUMAN_JUDGE = "human"
"""The name people have as a judge in ranking.json."""


@dataclass(frozen=True)
class RaterPairAgreement:
    rater_a: str
    rater_b: str
    kappa: Estimate
    """Over the items both rated."""

    def to_dict(self) -> dict[str, Any]:
        return {"rater_a": self.rater_a, "rater_b": self.rater_b, "kappa": self.kappa.to_dict()}


@dataclass(frozen=True)
class InterRaterAgreement:
    n_items_multi: int
    """Items rated by two people or more."""
    n_ratings_multi: int
    alpha: Estimate
    alpha_level: Level
    """nominal for verdicts (first / second / tie), interval for scores."""
    ordinal_alpha: Estimate | None
    """Scores only."""
    kappa_weights: KappaWeights
    rater_pairs: tuple[RaterPairAgreement, ...]
    """Cohen's kappa of every two raters with an item in common."""

    def to_dict(self) -> dict[str, Any]:
        return {"n_items_multi": self.n_items_multi, "n_ratings_multi": self.n_ratings_multi,
                "alpha": self.alpha.to_dict(), "alpha_level": self.alpha_level,
                "ordinal_alpha": None if self.ordinal_alpha is None else self.ordinal_alpha.to_dict(),
                "kappa_weights": self.kappa_weights, "rater_pairs": [p.to_dict() for p in self.rater_pairs]}


@dataclass(frozen=True)
class JudgeVersusPeople:
    judge: str
    n_pairs: int
    """Pairs of answers with both a human majority and an outcome from this judge."""
    kappa: Estimate
    """Cohen's kappa between the judge and the human majority (first / second / tie)."""
    agreement_with_ties: Estimate
    agreement_without_ties: Estimate
    """Only pairs where both the judge and the human majority prefer an answer."""
    judge_ranking_kind: str
    rank_correlation: Correlation
    """Between the judge's run ranking and people's."""
    spearman_ci: Interval | None
    spearman_missing_reason: str | None

    def to_dict(self) -> dict[str, Any]:
        return {"judge": self.judge, "n_pairs": self.n_pairs, "kappa": self.kappa.to_dict(),
                "agreement_with_ties": self.agreement_with_ties.to_dict(),
                "agreement_without_ties": self.agreement_without_ties.to_dict(),
                "judge_ranking_kind": self.judge_ranking_kind, "rank_correlation": self.rank_correlation.to_dict(),
                "spearman_ci": None if self.spearman_ci is None else self.spearman_ci.to_dict(),
                "spearman_missing_reason": self.spearman_missing_reason}


@dataclass(frozen=True)
class HumanJudgeSection:
    protocol: Protocol
    n_raters: int
    n_ratings: int
    n_items: int
    n_prompts: int
    n_both_bad: int
    """Pairwise ratings that found neither answer acceptable (counted as ties)."""
    ranking: PairwiseRanking | PointwiseRanking
    loss_vs_people: LossJudgeComparison
    inter_rater: InterRaterAgreement
    n_split_pairs: int
    """Pairs without a human majority, left out of the judges' agreement."""
    judges: tuple[JudgeVersusPeople, ...]
    needed: tuple[RatingsNeeded, ...]
    position_first_share: float | None
    """Pairwise: share of decisive human verdicts that chose the answer shown as A."""

    def judge(self, name: str) -> JudgeVersusPeople:
        return next(j for j in self.judges if j.judge == name)

    def summary(self) -> dict[str, Any]:
        return {"protocol": self.protocol, "n_raters": self.n_raters, "n_ratings": self.n_ratings,
                "n_items": self.n_items, "n_prompts": self.n_prompts, "n_both_bad": self.n_both_bad,
                "n_split_pairs": self.n_split_pairs, "position_first_share": self.position_first_share}

    def to_dict(self) -> dict[str, Any]:
        return {**self.summary(), "ranking": self.ranking.to_dict(), "loss_vs_people": self.loss_vs_people.to_dict(),
                "inter_rater": self.inter_rater.to_dict(), "judges": [j.to_dict() for j in self.judges],
                "needed": [n.to_dict() for n in self.needed]}


# ---------------------------------------------------------------- inter-rater agreement


def _by_item(ratings: Sequence[StoredRating]) -> dict[int, list[StoredRating]]:
    out: dict[int, list[StoredRating]] = defaultdict(list)
    for r in ratings:
        out[r.item_id].append(r)
    return out


def _label(r: StoredRating) -> Any:
    """What raters agree on: the preferred run (pairwise) or the overall score (pointwise)."""
    if r.protocol == "pairwise":
        return label_of(r.winner, *r.pair)
    return r.overall


def _counted_once(found: Estimate, n_units: int) -> Estimate:
    return dataclasses.replace(found, n_units=n_units) if found.n_units else found


def _kappa(pairs: Sequence[tuple[str, Any, Any]], categories: Sequence[Any], weights: KappaWeights,
           n_resamples: int, seed: int) -> Estimate:
    """Cohen's kappa; verdict labels (`LABELS`) in both orientations (see outcomes.py), each
    pair counted once."""
    if tuple(categories) != LABELS:
        return cohen_kappa(pairs, categories, weights, n_resamples, seed)
    return _counted_once(cohen_kappa(both_orientations(pairs), categories, weights, n_resamples, seed), len(pairs))


def _rater_pairs(ratings: Sequence[StoredRating], categories: Sequence[Any], weights: KappaWeights,
                 n_resamples: int, seed: int) -> tuple[RaterPairAgreement, ...]:
    by_rater: dict[str, dict[int, StoredRating]] = defaultdict(dict)
    for r in ratings:
        by_rater[r.rater][r.item_id] = r
    out = []
    for a, b in combinations(sorted(by_rater), 2):
        common = sorted(set(by_rater[a]) & set(by_rater[b]))
        if common:
            pairs = [(by_rater[a][i].prompt_id, _label(by_rater[a][i]), _label(by_rater[b][i])) for i in common]
            out.append(RaterPairAgreement(a, b, _kappa(pairs, categories, weights, n_resamples, seed)))
    return tuple(out)


def inter_rater_agreement(ratings: Sequence[StoredRating], n_resamples: int = 1000, seed: int = 0) -> InterRaterAgreement:
    multi = [group for group in _by_item(ratings).values() if len(group) >= 2]
    units = [(group[0].prompt_id, [_label(r) for r in group]) for group in multi]
    pairwise = bool(ratings) and ratings[0].protocol == "pairwise"
    if pairwise:  # both orientations (see outcomes.py), counted once
        units += [(prompt, [MIRROR[label] for label in labels]) for prompt, labels in units]
    level: Level = "nominal" if pairwise else "interval"
    categories = LABELS if pairwise else sorted({_label(r) for r in ratings})
    weights: KappaWeights = "none" if pairwise else "quadratic"
    return InterRaterAgreement(
        n_items_multi=len(multi), n_ratings_multi=sum(len(g) for g in multi),
        alpha=_counted_once(krippendorff_alpha(units, level, n_resamples, seed), len(multi)), alpha_level=level,
        ordinal_alpha=None if pairwise else krippendorff_alpha(units, "ordinal", n_resamples, seed),
        kappa_weights=weights, rater_pairs=_rater_pairs(ratings, categories, weights, n_resamples, seed))


# ---------------------------------------------------------------- judges against people


def judge_versus_people(judge: JudgeEvidence, ratings: Sequence[StoredRating], n_resamples: int = 1000,
                        seed: int = 0) -> JudgeVersusPeople:
    people = human_pair_outcomes(ratings).outcomes
    theirs = judge_pair_outcomes(judge)
    pairs = [(key[0], people[key], theirs[key].label) for key in sorted(people) if key in theirs]
    human_scores = run_scores(human_verdicts(ratings), human_score_rows(ratings))
    pairwise = ratings[0].protocol == "pairwise"
    judge_scores = (run_scores(judge.verdicts, ()) if pairwise else run_scores((), judge.rows)) \
        or run_scores(judge.verdicts, judge.rows)
    if human_scores is None or judge_scores is None:
        corr, ci, reason, kind = Correlation(None, None, 0, "no run scores"), None, "no run scores", "none"
    else:
        found = ranking_correlation(human_scores, judge_scores, n_resamples, seed)
        corr, ci, reason, kind = found.correlation, found.spearman_ci, found.missing_reason, judge_scores.kind
    return JudgeVersusPeople(
        judge=judge.judge, n_pairs=len(pairs),
        kappa=_kappa(pairs, LABELS, "none", n_resamples, seed),
        agreement_with_ties=raw_agreement(pairs, LABELS, (), n_resamples, seed),
        agreement_without_ties=raw_agreement(pairs, LABELS, ("tie",), n_resamples, seed),
        judge_ranking_kind=kind, rank_correlation=corr, spearman_ci=ci, spearman_missing_reason=reason)


# ---------------------------------------------------------------- how many more ratings


def _ranking_needed(ranking: PairwiseRanking | PointwiseRanking, n_ratings: int, runs_per_rating: int) -> RatingsNeeded:
    """Ratings until every run has an interval: a run needs ratings on two prompts."""
    deficit = sum(max(0, 2 - e.n_prompts) for e in ranking.entries if e.ci is None)
    more = math.ceil(deficit / runs_per_rating)
    lacking = sum(e.ci is None for e in ranking.entries)
    basis = ("every run has an interval" if not lacking else
             f"{lacking} run(s) have no interval (a run needs ratings on 2 prompts); about {more} more ratings "
             f"that include them give each one")
    return RatingsNeeded("people's ranking: an interval for every run", n_ratings, None, None, more, basis)


def _needed(ranking: PairwiseRanking | PointwiseRanking, loss: LossJudgeComparison, inter: InterRaterAgreement,
            judges: Sequence[JudgeVersusPeople], n_ratings: int, n_prompts: int) -> tuple[RatingsNeeded, ...]:
    runs_per_rating = 2 if isinstance(ranking, PairwiseRanking) else 1
    out = [_ranking_needed(ranking, n_ratings, runs_per_rating),
           ratings_needed("lower validation loss against people's ranking (Spearman)", "spearman", n_ratings,
                          loss.spearman_ci, n_prompts, loss.ci_missing_reason),
           ratings_needed("agreement between raters (Krippendorff's alpha)", "alpha", inter.n_ratings_multi,
                          inter.alpha.ci, inter.alpha.n_prompts, inter.alpha.missing_reason, per_prompt=2)]
    for j in judges:
        out.append(ratings_needed(f"{j.judge} against people (Cohen's kappa)", "kappa", n_ratings, j.kappa.ci,
                                  j.kappa.n_prompts, j.kappa.missing_reason))
        out.append(ratings_needed(f"{j.judge} against people's ranking (Spearman)", "spearman", n_ratings,
                                  j.spearman_ci, n_prompts, j.spearman_missing_reason))
    return tuple(out)


# ---------------------------------------------------------------- the whole section


def human_judge_section(ratings: Sequence[StoredRating], judges: Sequence[JudgeEvidence],
                        val_loss: Mapping[str, float], *, runs: Sequence[str] = (), n_resamples: int = 1000,
                        seed: int = 0) -> HumanJudgeSection:
    """Statistics of one protocol's ratings (all of `ratings` must share it; at least one)."""
    if not ratings:
        raise ValueError("no ratings: nothing to compute")
    protocol = ratings[0].protocol
    if any(r.protocol != protocol for r in ratings):
        raise ValueError("ratings of both protocols: compute one section per protocol")
    pairwise = protocol == "pairwise"
    verdicts, rows = human_verdicts(ratings), human_score_rows(ratings)
    if pairwise:
        ranking = rank_pairwise(verdicts, n_resamples, seed, runs=runs)
        loss = loss_vs_judge(val_loss, verdicts, n_resamples, seed, judge_name=f"{HUMAN_JUDGE} (pairwise)")
    else:
        ranking = rank_pointwise(rows, n_resamples, seed, runs=runs)
        loss = loss_vs_judge(val_loss, rows, n_resamples, seed, judge_name=HUMAN_JUDGE)
    n_prompts = len({r.prompt_id for r in ratings})
    if n_prompts < MIN_PROMPTS and loss.spearman_ci is not None:
        # every resample of one prompt is that prompt: a zero-width interval that claims certainty
        loss = dataclasses.replace(loss, spearman_ci=None, kendall_ci=None, ci_missing_reason=(
            f"people rated {n_prompts} prompt(s); a prompt bootstrap needs {MIN_PROMPTS}"))
    inter = inter_rater_agreement(ratings, n_resamples, seed)
    versus = tuple(judge_versus_people(j, ratings, n_resamples, seed) for j in judges)
    bias = position_bias(verdicts) if pairwise else None
    return HumanJudgeSection(
        protocol=protocol, n_raters=len({r.rater for r in ratings}), n_ratings=len(ratings),
        n_items=len({r.item_id for r in ratings}), n_prompts=n_prompts,
        n_both_bad=sum(r.verdict == "both_bad" for r in ratings), ranking=ranking, loss_vs_people=loss,
        inter_rater=inter, n_split_pairs=human_pair_outcomes(ratings).n_split, judges=versus,
        needed=_needed(ranking, loss, inter, versus, len(ratings), n_prompts),
        position_first_share=None if bias is None else bias.first_position_share)


def load_ratings(eval_paths: EvalPaths) -> list[StoredRating]:
    """Every rating of the study (empty without a ratings file)."""
    from .store import read_ratings

    return read_ratings(eval_paths.ratings) if eval_paths.ratings.is_file() else []


def human_sections(eval_paths: EvalPaths, losses: Mapping[str, float], ratings: Sequence[StoredRating], *,
                   n_resamples: int = 1000, seed: int = 0) -> dict[str, HumanJudgeSection]:
    """Every rated protocol's statistics, from the evaluation folder's answers and judgments."""
    if not ratings:
        return {}
    runs = load_answers(eval_paths.root).runs
    judges = load_judgments(eval_paths.root)
    out = {}
    for protocol in ("pairwise", "pointwise"):
        mine = [r for r in ratings if r.protocol == protocol]
        if mine:
            out[protocol] = human_judge_section(mine, judges, losses, runs=runs, n_resamples=n_resamples, seed=seed)
    return out


def load_human_sections(study_root: Path, *, n_resamples: int = 1000, seed: int = 0) -> dict[str, HumanJudgeSection]:
    """Every protocol with ratings in `eval/ratings.sqlite`, computed; empty without ratings."""
    study = StudyPaths(Path(study_root))
    eval_paths = EvalPaths(study.eval)
    ratings = load_ratings(eval_paths)
    if not ratings:
        return {}
    losses = load_val_losses(study.root, load_answers(study.eval).runs)
    return human_sections(eval_paths, losses, ratings, n_resamples=n_resamples, seed=seed)
