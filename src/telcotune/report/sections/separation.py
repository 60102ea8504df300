"""Telling the runs apart: per judge protocol that can discriminate, the tier of runs not
significantly worse than the best (paired differences on the same prompts), the separability,
each run's probability of being the best, the interval method, and a warning when the prompts
are too few for the intervals' nominal level to be trusted. Reads ranking.json's separations
(rank.paired); nothing is recomputed."""

from __future__ import annotations

from ... import fmt
from ...rank import Separation
from ...rank.interval import SMALL_SAMPLE_PROMPTS, small_sample_warning
from ...rank.paired import TIER_RULE
from ..blocks import Block, Note, Section, Subheading, Table, Text, not_available
from ..judges import JudgedProtocol, judged_protocols, kept, left_out_sentence
from .context import Context

TITLE = "Which runs can be told apart?"

METHODS = {"t": "t interval over prompts (per-prompt values, prompts as the units)",
           "t-scaled bootstrap": "prompt-bootstrap interval widened by the t quantile (t-scaled bootstrap)",
           "percentile": "percentile bootstrap over prompts"}


def interval_method(sep: Separation) -> str:
    """How this separation's intervals were computed (as recorded on its intervals)."""
    methods = {e.ci.method for e in sep.entries if e.ci is not None}
    methods |= {d.ci.method for d in sep.differences if d.ci is not None}
    return "; ".join(METHODS.get(m, m) for m in sorted(methods)) or "no interval could be computed"


def _summary(p: JudgedProtocol) -> str:
    s = p.separation
    share = "" if s.separability is None else (
        f" Separability: {fmt.pct(s.separability)} of the {len(s.differences)} run pairs have a paired "
        f"{fmt.pct(s.level)} interval that excludes 0 (by non-overlapping own intervals: "
        f"{fmt.pct(s.marginal_separability)}).")
    if s.discriminates:
        head = (f"Top tier: {len(s.tier)} of {s.n_runs} runs are not significantly worse than the best "
                f"({s.best}): {fmt.listing(list(s.tier))}.")
    else:
        head = (f"All {s.n_runs} runs are in the top tier: {p.label} cannot tell them apart on "
                f"{s.n_prompts} prompts.")
    return f"{head}{share} Intervals: {interval_method(s)}."


def _table(s: Separation) -> Table:
    rows = []
    for e in s.entries:
        ci = fmt.interval(e.ci.low, e.ci.high) if e.ci else "[no CI]"
        bound = "" if e.gap_lower_bound is None else f" (lower bound {fmt.num(e.gap_lower_bound, 2)})"
        rows.append((e.run, f"{fmt.num(e.estimate, 2)} {ci}", f"{fmt.num(e.gap_to_best, 2)}{bound}",
                     "yes" if e.in_tier else "no", fmt.pct(e.p_best), e.note))
    caption = (f"{s.statistic}, best first. Gap: the best minus this run, paired on the same prompts. Tier: "
               f"{TIER_RULE}. P(best): share of {fmt.integer(s.n_resamples)} prompt-bootstrap resamples in which "
               f"the run has the top estimate; it overstates the leader's chance with few prompts, so decide by "
               f"the tier.")
    if s.p_best_missing_reason:
        caption += f" P(best) missing: {s.p_best_missing_reason}."
    return Table(("run", f"estimate [{fmt.pct(s.level)} CI]", "gap to best", "in top tier", "P(best)", "why"),
                 tuple(rows), caption=caption, numeric=(False, True, True, False, True, False))


def _pairwise_graph(p: JudgedProtocol) -> list[Block]:
    blocks: list[Block] = []
    section = p.section
    if p.protocol == "pairwise" and section.components is not None and not section.components.connected:
        groups = "; ".join(", ".join(g) for g in section.components.groups)
        blocks.append(Note(f"{p.label}: the comparison graph falls into {len(section.components.groups)} groups "
                           f"that were never compared with each other ({groups}); runs in different groups are "
                           f"not ordered, so no tier is computed."))
    if p.protocol == "pairwise" and section.byes:
        byes = ", ".join(f"{run} {n}" for run, n in sorted(section.byes.items()))
        blocks.append(Text(f"{p.label}: Swiss rounds sat out (byes, counted as such): {byes}."))
    return blocks


def _small_sample(ctx: Context) -> list[Block]:
    finding = ctx.study.ranking.finding
    level = next((p.separation.level for p in kept(ctx.study.ranking) if p.separation), 0.95)
    warning = small_sample_warning(finding.n_prompts, level)
    if warning is None:
        return []
    return [Note(f"Warning: every interval here {warning} (at least {SMALL_SAMPLE_PROMPTS} are needed); "
                 f"treat the tiers as rough. See the planning section for how many prompts would be enough.")]


def build(ctx: Context) -> Section:
    ranking = ctx.study.ranking
    if ranking is None or not judged_protocols(ranking):
        reason = ctx.study.missing_reason("ranking") if ranking is None else "ranking.json has no judge sections"
        return Section("separation", TITLE, (not_available("paired comparisons", reason),))
    blocks: list[Block] = [
        Text(f"Every run answered the same {ranking.finding.n_prompts} prompts, so two runs are compared prompt by "
             f"prompt (paired), which cancels the prompts' difficulty. A judge's top tier holds the runs it cannot "
             f"tell from its best; only judges that can discriminate are shown."),
        *_small_sample(ctx)]
    excluded = left_out_sentence(ranking)
    if excluded:
        blocks.append(Note(excluded))
    for p in kept(ranking):
        graph = _pairwise_graph(p)
        blocks += [Subheading(p.label), *graph]
        if p.separation is not None:
            blocks += [Text(_summary(p)), _table(p.separation)]
        elif not graph:
            blocks.append(not_available(f"{p.label} paired comparison", "no separation in ranking.json"))
    if not kept(ranking):
        blocks.append(not_available("tiers", "no judge can discriminate, so no run can be told from another"))
    return Section("separation", TITLE, tuple(blocks))
