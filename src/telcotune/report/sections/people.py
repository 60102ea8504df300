"""Judges against people: how far each LLM judge agrees with the people who rated the answers
(`telcotune rate`), how far the people agree with each other, people's own ranking of the runs,
and the study's question asked with people as the judge.

Reads ranking.json's `human_agreement` (rate.human.agreement_entry) and `judges.human`
(rate.human.judge_entry); a study without ratings gets a note saying how to start rating.
"""

from __future__ import annotations

from typing import Any

from .. import fmt
from ..blocks import Block, Bullets, Finding, Section, Subheading, Table, Text, not_available
from .context import Context

TITLE = "Judges against people"
HUMAN = "human"
LOSS_KEYS = {"pairwise": "loss_vs_judge_pairwise", "pointwise": "loss_vs_judge"}


def _estimate(e: dict[str, Any] | None, pct: bool = False) -> str:
    if not e or e.get("value") is None:
        return fmt.NA
    value = fmt.pct(e["value"]) if pct else fmt.signed(e["value"])
    ci = e.get("ci")
    if not ci:
        return f"{value} [no CI]"
    bounds = f"[{fmt.pct(ci['low'])}, {fmt.pct(ci['high'])}]" if pct else fmt.interval(ci["low"], ci["high"])
    return f"{value} {bounds}"


def _spearman(j: dict[str, Any]) -> str:
    rho = (j.get("rank_correlation") or {}).get("spearman_rho")
    ci = j.get("spearman_ci")
    return f"{fmt.signed(rho)} {fmt.interval(ci['low'], ci['high']) if ci else '[no CI]'}"


def _counts(a: dict[str, Any]) -> Text:
    inter = a.get("inter_rater") or {}
    people = f"{a['n_raters']} {'person' if a['n_raters'] == 1 else 'people'}"
    text = (f"{people} gave {fmt.plural(a['n_ratings'], 'rating')} of "
            f"{fmt.plural(a['n_items'], 'item')} from {fmt.plural(a['n_prompts'], 'prompt')}; "
            f"{fmt.integer(inter.get('n_items_multi'))} items were rated by two people or more.")
    if a["protocol"] == "pairwise":
        text += (f" {fmt.integer(a.get('n_both_bad'))} ratings found both answers bad (counted as ties); "
                 f"{fmt.integer(a.get('n_split_pairs'))} pairs had no majority and are left out of the judges' "
                 f"agreement. People chose the answer shown first in {fmt.pct(a.get('position_first_share'))} of "
                 "their decisive ratings.")
    return Text(text)


def _judges_table(a: dict[str, Any]) -> Table | Text:
    judges = a.get("judges") or []
    if not judges:
        return Text("No LLM judge's judgments were found to compare with.")
    rows = tuple((j["judge"], fmt.integer(j.get("n_pairs")), _estimate(j.get("kappa")),
                  _estimate(j.get("agreement_with_ties"), pct=True), _estimate(j.get("agreement_without_ties"), pct=True),
                  _spearman(j)) for j in judges)
    return Table(("judge", "pairs", "Cohen's kappa [CI]", "agreement [CI]", "agreement without ties [CI]",
                  "Spearman with people's ranking [CI]"), rows,
                 caption="Agreement is with the human majority on each pair of answers to a prompt (pointwise: the "
                         "higher mean score). Kappa corrects for agreement by chance (0 = chance, 1 = perfect); "
                         "'without ties' counts only pairs where both the judge and people preferred an answer. "
                         "Intervals: 95% bootstrap over prompts.")


def _inter_rater(a: dict[str, Any]) -> list[Block]:
    inter = a.get("inter_rater") or {}
    alpha = inter.get("alpha") or {}
    text = (f"Between raters: Krippendorff's alpha ({inter.get('alpha_level', 'n/a')}) {_estimate(alpha)} on "
            f"{fmt.integer(alpha.get('n_units'))} items rated by two people or more")
    if inter.get("ordinal_alpha"):
        text += f"; ordinal alpha {_estimate(inter['ordinal_alpha'])}"
    if alpha.get("missing_reason"):
        text += f" ({alpha['missing_reason']})"
    blocks: list[Block] = [Text(text + ".")]
    pairs = inter.get("rater_pairs") or []
    if pairs:
        weights = inter.get("kappa_weights", "none")
        label = "Cohen's kappa [CI]" if weights == "none" else f"Cohen's kappa, {weights} weights [CI]"
        blocks.append(Table(("raters", "items in common", label),
                            tuple((f"{p['rater_a']} and {p['rater_b']}", fmt.integer(p["kappa"].get("n_units")),
                                   _estimate(p["kappa"])) for p in pairs)))
    return blocks


def _ranking(ranking: dict[str, Any], protocol: str) -> Table | None:
    block = ((ranking.get("judges") or {}).get(HUMAN) or {}).get(protocol) or {}
    if not block.get("entries"):
        return None
    key = "mean" if protocol == "pointwise" else "strength"
    losses = ranking.get("val_loss") or {}
    loss_rank = {run: i + 1 for i, run in enumerate(sorted(losses, key=losses.get))}
    rows = []
    for e in block["entries"]:
        ci = e.get("ci")
        rows.append((e["run"], f"{fmt.num(e.get(key), 2)} {fmt.interval(ci['low'], ci['high']) if ci else '[no CI]'}",
                     fmt.integer(e.get("rank")), fmt.integer(loss_rank.get(e["run"])), fmt.integer(e.get("n_prompts"))))
    what = "mean overall score (1-10)" if protocol == "pointwise" else "Bradley-Terry log-strength"
    return Table(("run", f"{what} [CI]", "people's rank", "loss rank", "prompts"), tuple(rows),
                 caption="People's ranking of the runs, with 95% bootstrap intervals over prompts.")


def _needed(a: dict[str, Any]) -> list[Block]:
    open_ = [n for n in a.get("needed") or [] if n.get("more_ratings") != 0]
    if not open_:
        return [Text("Every statistic above has reached its target precision.")]
    items = []
    for n in open_:
        more = n.get("more_ratings")
        items.append(f"{n['statistic']}: " + (f"about {fmt.integer(more)} more ratings ({n['basis']})" if more
                                              else n["basis"]))
    return [Subheading("More ratings needed"), Bullets(tuple(items))]


def _protocol(ranking: dict[str, Any], protocol: str, a: dict[str, Any], titled: bool) -> list[Block]:
    blocks: list[Block] = [Subheading(f"{protocol.capitalize()} ratings")] if titled else []
    blocks.append(_counts(a))
    loss = ((ranking.get("judges") or {}).get(HUMAN) or {}).get(LOSS_KEYS[protocol]) or {}
    if loss.get("plain_finding"):
        blocks.append(Finding(loss["plain_finding"]))
    blocks += [_judges_table(a), *_inter_rater(a)]
    table = _ranking(ranking, protocol)
    if table is not None:
        blocks.append(table)
    return blocks + _needed(a)


def build(ctx: Context) -> Section:
    ranking = ctx.study.ranking or {}
    agreement = ranking.get("human_agreement") or {}
    if not agreement:
        reason = (f"nobody has rated answers yet; start a rating session with `telcotune rate --workdir "
                  f"{ctx.study.root}`, then rebuild the report")
        return Section("people", TITLE, (not_available("judges against people", reason),))
    blocks: list[Block] = [Text("The LLM judges were checked against people: a support team rated answers blind "
                                "(no run names, random order) in `telcotune rate`.")]
    for protocol, a in agreement.items():
        blocks += _protocol(ranking, protocol, a, titled=len(agreement) > 1)
    return Section("people", TITLE, tuple(blocks))
