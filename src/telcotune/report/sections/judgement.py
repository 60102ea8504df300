"""3. Judgement: each judge's ranking with confidence intervals, agreement between judges,
position bias in pairwise judging, and replies that could not be used."""

from __future__ import annotations

from ... import fmt
from ...artifacts.ranking import Ranking
from ..blocks import Block, Section, Subheading, Table, Text, not_available
from ..figures import judge_intervals
from ..judges import RankedRun, judges, level_of, ranked
from .context import Context, figure_or_note

TITLE = "3. Judgement"


def _cell(r: RankedRun | None, digits: int = 2) -> str:
    if r is None or r.value is None:
        return fmt.NA
    ci = f" [{fmt.num(r.low, digits)}, {fmt.num(r.high, digits)}]" if r.low is not None else " [no CI]"
    return f"{fmt.num(r.value, digits)}{ci} #{r.rank}"


def _ranking_table(per_judge: dict[str, list[RankedRun]], order: list[str], caption: str) -> Table:
    lookup = {j: {r.run: r for r in rows} for j, rows in per_judge.items()}
    rows = tuple((run, *(_cell(lookup[j].get(run)) for j in per_judge)) for run in order)
    return Table(("run", *per_judge), rows, caption=caption)


def _order(per_judge: dict[str, list[RankedRun]]) -> list[str]:
    """The first judge's order (best first), then runs only other judges ranked."""
    order: list[str] = []
    for rows in per_judge.values():
        order += [r.run for r in rows if r.run not in order]
    return order


def _protocol(ctx: Context, ranking: Ranking, protocol: str) -> list[Block]:
    per_judge = {j: rows for j, s in judges(ranking).items() if (rows := ranked(s, protocol))}
    level = fmt.pct(level_of(ranking))
    if protocol == "pointwise":
        head, what, xlabel = "Pointwise scores", "mean score (1-10)", "mean score (1-10)"
    else:
        head, what = "Pairwise comparisons (Bradley-Terry)", "log-strength (mean 0)"
        xlabel = "Bradley-Terry log-strength"
    if not per_judge:
        reason = f"no judge produced {protocol} judgments (eval.protocol is {_protocols(ranking)})"
        return [Subheading(head), not_available(f"{protocol} rankings", reason)]
    order = _order(per_judge)
    path = judge_intervals(per_judge, order, xlabel, ctx.figure_path(f"judge_{protocol}"))
    caption = f"Each run's {what} per judge with its {level} bootstrap confidence interval over prompts."
    return [Subheading(head),
            figure_or_note(path, caption, f"{protocol} figure", "no run has a score"),
            _ranking_table(per_judge, order, f"{what} [{level} CI] #rank, per judge")]


def _protocols(ranking: Ranking) -> str:
    seen = {p for s in judges(ranking).values() for p in ("pointwise", "pairwise") if getattr(s, p) is not None}
    return " and ".join(sorted(seen)) or "unknown"


def _by_set(ranking: Ranking) -> list[Block]:
    sets = list(ranking.prompt_sets)
    blocks: list[Block] = []
    if "test_ood" not in sets:
        blocks.append(not_available("scores on out-of-distribution prompts (test_ood)",
                                    "this study did not evaluate a test_ood prompt set"))
    columns, cells = [], {}
    for judge, section in judges(ranking).items():
        for name, block in section.pointwise_by_set.items():
            columns.append(f"{judge}: {name}")
            cells[columns[-1]] = {e.run: e.mean for e in block.entries}
    if len(sets) > 1 and columns:
        runs = list(ranking.runs)
        rows = tuple((run, *(fmt.num(cells[c].get(run), 2) for c in columns)) for run in runs)
        blocks.append(Table(("run", *columns), rows, caption="Mean score per prompt set."))
    return blocks


def _agreement(ranking: Ranking) -> list[Block]:
    agreement = ranking.agreement
    head = Subheading("Judge agreement")
    if not agreement:
        return [head, not_available("judge agreement", "it needs at least two judges with pointwise rankings")]
    rows = []
    for p in agreement.pairs:
        corr, alpha = p.rank_correlation, p.krippendorff_alpha
        rows.append((f"{p.judge_a} vs {p.judge_b}", fmt.signed(corr.kendall_tau_b), fmt.signed(corr.spearman_rho),
                     fmt.signed(alpha.alpha), fmt.integer(alpha.n_items)))
    overall = agreement.overall_alpha
    text = (f"Krippendorff's alpha (interval) over all judges: {fmt.signed(overall.alpha)} on "
            f"{fmt.integer(overall.n_items)} answers scored by at least two judges (1 is perfect agreement, "
            f"0 agreement at chance level).")
    return [head, Table(("judges", "Kendall tau-b (run order)", "Spearman rho (run order)",
                         "Krippendorff alpha (scores)", "answers"), tuple(rows)), Text(text)]


def _position_bias(ranking: Ranking) -> list[Block]:
    head = Subheading("Position bias")
    rows = []
    for judge, section in judges(ranking).items():
        pb = section.position_bias
        if pb:
            rows.append((judge, fmt.integer(pb.n_pairs_both_orders), fmt.integer(pb.n_inconsistent_pairs),
                         fmt.pct(pb.inconsistency_rate), fmt.pct(pb.first_position_share),
                         fmt.integer(pb.n_decisive_verdicts), fmt.integer(pb.n_ties)))
    if not rows:
        return [head, not_available("position bias", "no pairwise judging in this study")]
    text = ("Each pair of answers was shown in both orders. Inconsistent pairs got different verdicts in the two "
            "orders (counted as ties in the Bradley-Terry ranking); a first-position share far from 50% means the "
            "judge prefers whichever answer it reads first (or second).")
    return [head, Text(text), Table(("judge", "pairs in both orders", "inconsistent", "inconsistency rate",
                                     "first-position wins", "decisive verdicts", "ties"), tuple(rows))]


def _unusable(ranking: Ranking) -> list[Block]:
    rows = []
    for judge, section in judges(ranking).items():
        counts = section.counts
        ok = sum(n for k, n in counts.items() if k.endswith(":ok"))
        total = sum(counts.values())
        detail = ", ".join(f"{k} {n}" for k, n in sorted(counts.items()))
        rows.append((judge, fmt.integer(total), fmt.integer(ok), fmt.integer(section.unparseable),
                     fmt.integer(section.errors), detail))
    return [Subheading("Unparseable replies"),
            Text("Replies that could not be parsed, and requests that failed, give no score; they are "
                 "counted here and left out of every ranking."),
            Table(("judge", "judgments", "usable", "unparseable", "errors", "by protocol and status"), tuple(rows),
                  numeric=(False, True, True, True, True, False))]


def build(ctx: Context) -> Section:
    study = ctx.study
    ranking = study.ranking
    if ranking is None or not judges(ranking):
        reason = study.missing_reason("ranking") if ranking is None else "ranking.json has no judge sections"
        return Section("judgement", TITLE, (not_available("judge rankings", reason),))
    sets = ranking.prompt_sets
    boot = ranking.bootstrap
    intro = (f"{len(judges(ranking))} judge(s): {', '.join(judges(ranking))}. Prompt sets: "
             f"{', '.join(f'{k} ({v} prompts)' for k, v in sets.items()) or 'n/a'}. Intervals: percentile bootstrap "
             f"over prompts, {fmt.integer(boot.n_resamples)} resamples (seed {boot.seed}).")
    blocks: list[Block] = [Text(intro), *_protocol(ctx, ranking, "pointwise"), *_by_set(ranking),
                           *_protocol(ctx, ranking, "pairwise"), *_agreement(ranking), *_position_bias(ranking),
                           *_unusable(ranking)]
    return Section("judgement", TITLE, tuple(blocks))
