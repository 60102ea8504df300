"""Judges against people: how far each LLM judge agrees with the people who rated the answers
(`telcotune rate`), how far the people agree with each other, people's own ranking of the runs,
and the study's question asked with people as the judge.

Reads ranking.json's `human` (rate.human.HumanJudgeSection per protocol); people also appear in
the judgement and loss-versus-judge sections as the judge `human`. A study without ratings gets
a note saying how to start rating.
"""

from __future__ import annotations

from ... import fmt
from ...artifacts.ranking import Ranking
from ...rank import Interval
from ...rate.human import HumanJudgeSection, JudgeVersusPeople
from ...rate.reliability import Estimate
from ..blocks import Block, Bullets, Finding, Section, Subheading, Table, Text, not_available
from .context import Context

TITLE = "Judges against people"


def _bounds(ci: Interval, pct: bool) -> str:
    return f"[{fmt.pct(ci.low)}, {fmt.pct(ci.high)}]" if pct else fmt.interval(ci.low, ci.high)


def _estimate(e: Estimate | None, pct: bool = False) -> str:
    if e is None or e.value is None:
        return fmt.NA
    value = fmt.pct(e.value) if pct else fmt.signed(e.value)
    return f"{value} {_bounds(e.ci, pct)}" if e.ci else f"{value} [no CI]"


def _spearman(j: JudgeVersusPeople) -> str:
    ci = j.spearman_ci
    return f"{fmt.signed(j.rank_correlation.spearman_rho)} {fmt.interval(ci.low, ci.high) if ci else '[no CI]'}"


def _counts(a: HumanJudgeSection) -> Text:
    people = f"{a.n_raters} {'person' if a.n_raters == 1 else 'people'}"
    text = (f"{people} gave {fmt.plural(a.n_ratings, 'rating')} of {fmt.plural(a.n_items, 'item')} from "
            f"{fmt.plural(a.n_prompts, 'prompt')}; {fmt.integer(a.inter_rater.n_items_multi)} items were rated by "
            f"two people or more.")
    if a.protocol == "pairwise":
        text += (f" {fmt.integer(a.n_both_bad)} ratings found both answers bad (counted as ties); "
                 f"{fmt.integer(a.n_split_pairs)} pairs had no majority and are left out of the judges' agreement. "
                 f"People chose the answer shown first in {fmt.pct(a.position_first_share)} of their decisive ratings.")
    return Text(text)


def _judges_table(a: HumanJudgeSection) -> Table | Text:
    if not a.judges:
        return Text("No LLM judge's judgments were found to compare with.")
    rows = tuple((j.judge, fmt.integer(j.n_pairs), _estimate(j.kappa), _estimate(j.agreement_with_ties, pct=True),
                  _estimate(j.agreement_without_ties, pct=True), _spearman(j)) for j in a.judges)
    return Table(("judge", "pairs", "Cohen's kappa [CI]", "agreement [CI]", "agreement without ties [CI]",
                  "Spearman with people's ranking [CI]"), rows,
                 caption="Agreement is with the human majority on each pair of answers to a prompt (pointwise: the "
                         "higher mean score). Kappa corrects for agreement by chance (0 = chance, 1 = perfect); "
                         "'without ties' counts only pairs where both the judge and people preferred an answer. "
                         "Intervals: 95% bootstrap over prompts.")


def _inter_rater(a: HumanJudgeSection) -> list[Block]:
    inter = a.inter_rater
    text = (f"Between raters: Krippendorff's alpha ({inter.alpha_level}) {_estimate(inter.alpha)} on "
            f"{fmt.integer(inter.alpha.n_units)} items rated by two people or more")
    if inter.ordinal_alpha is not None:
        text += f"; ordinal alpha {_estimate(inter.ordinal_alpha)}"
    if inter.alpha.missing_reason:
        text += f" ({inter.alpha.missing_reason})"
    blocks: list[Block] = [Text(text + ".")]
    if inter.rater_pairs:
        weights = inter.kappa_weights
        label = "Cohen's kappa [CI]" if weights == "none" else f"Cohen's kappa, {weights} weights [CI]"
        blocks.append(Table(("raters", "items in common", label),
                            tuple((f"{p.rater_a} and {p.rater_b}", fmt.integer(p.kappa.n_units), _estimate(p.kappa))
                                  for p in inter.rater_pairs)))
    return blocks


def _ranking(ranking: Ranking, a: HumanJudgeSection) -> Table | None:
    if not a.ranking.entries:
        return None
    pointwise = a.protocol == "pointwise"
    loss_rank = {run: i + 1 for i, run in enumerate(ranking.loss_order)}
    rows = []
    for e in a.ranking.entries:
        value = e.mean if pointwise else e.strength
        ci = f"{fmt.interval(e.ci.low, e.ci.high)}" if e.ci else "[no CI]"
        rows.append((e.run, f"{fmt.num(value, 2)} {ci}", fmt.integer(e.rank), fmt.integer(loss_rank.get(e.run)),
                     fmt.integer(e.n_prompts)))
    what = "mean overall score (1-10)" if pointwise else "Bradley-Terry log-strength"
    return Table(("run", f"{what} [CI]", "people's rank", "loss rank", "prompts"), tuple(rows),
                 caption="People's ranking of the runs, with 95% intervals over prompts.")


def _needed(a: HumanJudgeSection) -> list[Block]:
    still = [n for n in a.needed if n.more_ratings != 0]
    if not still:
        return [Text("Every statistic above has reached its target precision.")]
    items = [f"{n.statistic}: " + (f"about {fmt.integer(n.more_ratings)} more ratings ({n.basis})" if n.more_ratings
                                   else n.basis) for n in still]
    return [Subheading("More ratings needed"), Bullets(tuple(items))]


def _protocol(ranking: Ranking, a: HumanJudgeSection, titled: bool) -> list[Block]:
    blocks: list[Block] = [Subheading(f"{a.protocol.capitalize()} ratings")] if titled else []
    blocks.append(_counts(a))
    if a.loss_vs_people.finding:
        blocks.append(Finding(a.loss_vs_people.finding))
    blocks += [_judges_table(a), *_inter_rater(a)]
    table = _ranking(ranking, a)
    if table is not None:
        blocks.append(table)
    return blocks + _needed(a)


def build(ctx: Context) -> Section:
    ranking = ctx.study.ranking
    if ranking is None or not ranking.human:
        reason = (f"nobody has rated answers yet; start a rating session with `telcotune rate --workdir "
                  f"{ctx.study.root}`, then run `telcotune run` (or `evaluate`) again to add the ratings")
        return Section("people", TITLE, (not_available("judges against people", reason),))
    blocks: list[Block] = [Text("The LLM judges were checked against people: a support team rated answers blind "
                                "(no run names, random order) in `telcotune rate`.")]
    for a in ranking.human.values():
        blocks += _protocol(ranking, a, titled=len(ranking.human) > 1)
    return Section("people", TITLE, tuple(blocks))
