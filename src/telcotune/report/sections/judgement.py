"""Judgement: whether each judge can discriminate (its diagnostics, and which judges are left
out of every conclusion and why), how its judgments were produced (probability-weighted or
parsed), each judge's ranking with confidence intervals, raw against length-controlled rankings,
agreement between judges, position bias in pairwise judging, and replies that could not be used."""

from __future__ import annotations

from ... import fmt
from ...artifacts.ranking import JudgeSection, Ranking
from ...rank.diagnostics import MIN_SPREAD, MIN_USABLE_SHARE, Estimate, ProtocolDiagnostics
from ...rank.krippendorff import KrippendorffAlpha
from ...rank.ranks import competition_ranks
from ..blocks import Block, Bullets, Finding, Section, Subheading, Table, Text, not_available
from ..figures import judge_intervals
from ..judges import RankedRun, judged_protocols, judges, level_of, ranked
from .context import Context, figure_or_note
from .separation import interval_method

TITLE = "Judgement"


def _cell(r: RankedRun | None, digits: int = 2) -> str:
    if r is None or r.value is None:
        return fmt.NA
    ci = f" [{fmt.num(r.low, digits)}, {fmt.num(r.high, digits)}]" if r.low is not None else " [no CI]"
    return f"{fmt.num(r.value, digits)}{ci} #{r.rank}"


def _name(judge: str, section: JudgeSection, protocol: str) -> str:
    """A judge's column name; one that cannot discriminate is marked, as it is left out."""
    return judge if section.discriminates(protocol) else f"{judge} (left out)"


def _estimate(e: Estimate) -> str:
    if e.value is None:
        return f"undefined ({e.missing_reason})"
    return f"{fmt.signed(e.value)} {fmt.interval(e.ci.low, e.ci.high) if e.ci else '[no CI]'}"


def _diagnosis_row(judge: str, d: ProtocolDiagnostics) -> tuple[str, ...]:
    verdict = "discriminates" if d.discriminates else "left out: " + "; ".join(d.reasons)
    return (judge, d.protocol, f"{fmt.integer(d.n_usable)} of {fmt.integer(d.n_judgments)} "
            f"({fmt.pct(d.usable_share)})", fmt.num(d.spread, 2), _estimate(d.reliability),
            _estimate(d.length_correlation), verdict, "; ".join(d.warnings))


def _diagnostics(ranking: Ranking) -> list[Block]:
    head = Subheading("Can each judge tell the runs apart?")
    rows = [_diagnosis_row(j, d) for j, s in judges(ranking).items() if s.diagnostics
            for d in s.diagnostics.protocols]
    if not rows:
        return [head, not_available("judge diagnostics", "ranking.json records none")]
    text = (f"A judge protocol cannot discriminate when fewer than {fmt.pct(MIN_USABLE_SHARE)} of its judgments "
            f"were usable, when its run scores have no spread (standard deviation below {MIN_SPREAD:g}), or when "
            f"the split-half reliability of its run ranking (prompts split in two random halves, Spearman-Brown "
            f"corrected, bootstrap interval) is undefined or its interval includes 0. Such a judge is shown here "
            f"but left out of the combined score, the target-module and energy sections, the recommendations "
            f"and the finding. Length correlation and position bias are warnings, not disqualifying.")
    blocks: list[Block] = [head, Text(text),
                           Table(("judge", "protocol", "usable", "spread", "split-half reliability [CI]",
                                  "length correlation [CI]", "verdict", "warnings"), tuple(rows),
                                 numeric=(False, False, True, True, True, True, False, False))]
    excluded = ranking.finding.excluded_judges
    if excluded:
        blocks.append(Finding("Left out of every conclusion as unable to discriminate: "
                              + "; ".join(f"{j} ({why})" for j, why in excluded.items()) + "."))
    else:
        blocks.append(Text("Every judge passed these checks."))
    return blocks


METHOD_WORDS = {
    "logprob": "probability-weighted (G-Eval style: the expectation over the score tokens 1-10, or the "
               "normalised probabilities of A, B and tie, from one forward pass)",
    "text": "parsed from the reply text (the backend gives no token probabilities)",
    "rule": "rule-based (the rubric's own criteria)",
    "embedding": "sentence embeddings (the semantic judge)",
    "human": "people's ratings",
}


def _methods(ranking: Ranking) -> list[Block]:
    items = []
    for judge, section in judges(ranking).items():
        if section.methods:
            parts = [f"{fmt.integer(n)} {METHOD_WORDS.get(m, m)}" for m, n in sorted(section.methods.items())]
            items.append(f"{judge}: " + "; ".join(parts) + ".")
    if not items:
        return []
    return [Subheading("How the judgments were produced"), Bullets(tuple(items))]


def _tracks(label: str, what: str, coef: float, ci, tracks: bool, missing: str | None) -> str:
    bounds = fmt.interval(ci.low, ci.high) if ci else "[no CI]"
    verdict = "its preferences track length" if tracks else "no evidence that its preferences track length"
    return f"{label}: {what} {fmt.signed(coef)} {bounds}: {verdict}{f' ({missing})' if missing else ''}."


def _side_by_side(label: str, entries, raw, controlled, show) -> list[tuple[str, ...]]:
    """Rows of raw value and rank beside the length-controlled value and rank."""
    raw_rank = competition_ranks({e.run: raw(e) for e in entries}, higher_is_better=True)
    return [(label, e.run, show(raw(e)), fmt.integer(raw_rank[e.run]), show(controlled(e)), fmt.integer(e.rank))
            for e in entries]


def _length_rows(ranking: Ranking) -> tuple[list[tuple[str, ...]], list[str]]:
    rows, sentences = [], []
    for judge, section in judges(ranking).items():
        if (a := section.length_adjusted) is not None:
            rows += _side_by_side(judge, a.entries, lambda e: e.raw_mean, lambda e: e.adjusted_mean,
                                  lambda v: fmt.num(v, 2))
            sentences.append(_tracks(judge, "score change per sd of answer length", a.length_slope,
                                     a.length_slope_ci, a.tracks_length, a.missing_reason))
        if (c := section.length_controlled) is not None:
            label = f"{judge} (pairwise)"
            rows += _side_by_side(label, c.entries, lambda e: e.raw_win_rate, lambda e: e.win_rate, fmt.pct)
            sentences.append(_tracks(label, "log-odds of winning per unit of length difference",
                                     c.length_coefficient, c.length_coefficient_ci, c.tracks_length,
                                     c.missing_reason))
    return rows, sentences


def _length_control(ranking: Ranking) -> list[Block]:
    head = Subheading("Length control: raw and length-controlled rankings")
    rows, sentences = _length_rows(ranking)
    if not rows:
        return [head, not_available("length control", "ranking.json records no length-controlled ranking")]
    return [head,
            Text("Pointwise: mean scores as recorded and adjusted to the average answer length (least squares on "
                 "run, prompt and standardised length). Pairwise: raw win rates and length-controlled ones (AlpacaEval "
                 "2's approach, a logistic model with a term in the answers' length difference, read at zero "
                 "difference)."),
            Bullets(tuple(sentences)),
            Table(("judge", "run", "raw (mean or win rate)", "raw rank", "length-controlled", "controlled rank"),
                  tuple(rows), numeric=(False, False, True, True, True, True))]


def _intervals(ranking: Ranking) -> str:
    methods = sorted({interval_method(p.separation) for p in judged_protocols(ranking) if p.separation})
    return "; ".join(methods) if methods else "as recorded in ranking.json"


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
    per_judge = {_name(j, s, protocol): rows for j, s in judges(ranking).items() if (rows := ranked(s, protocol))}
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
    caption = f"Each run's {what} per judge with its {level} confidence interval over prompts."
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


def _alpha(a: KrippendorffAlpha) -> str:
    return fmt.signed(a.alpha) if a.alpha is not None else f"undefined ({a.missing_reason})"


def _agreement(ranking: Ranking) -> list[Block]:
    agreement = ranking.agreement
    head = Subheading("Judge agreement")
    if not agreement:
        return [head, not_available("judge agreement", "it needs at least two judges with pointwise rankings")]
    rows = []
    for p in agreement.pairs:
        corr = p.rank_correlation
        undefined = f"undefined ({corr.missing_reason})"
        rows.append((f"{p.judge_a} vs {p.judge_b}",
                     fmt.signed(corr.kendall_tau_b) if corr.kendall_tau_b is not None else undefined,
                     fmt.signed(corr.spearman_rho) if corr.spearman_rho is not None else undefined,
                     _alpha(p.krippendorff_alpha), _alpha(p.krippendorff_alpha_ordinal),
                     fmt.integer(p.krippendorff_alpha.n_items)))
    overall, ordinal = agreement.overall_alpha, agreement.overall_alpha_ordinal
    text = (f"Krippendorff's alpha over the judges that can discriminate: {_alpha(overall)} (interval), "
            f"{_alpha(ordinal)} (ordinal) on {fmt.integer(overall.n_items)} answers scored by at least two judges "
            f"(1 is perfect agreement, 0 agreement at chance level). Correlations come from the judges' per-run "
            f"scores with ties kept, so a judge that scores every run alike has an undefined correlation, not a "
            f"number; a judge that cannot discriminate gets no agreement figure.")
    return [head, Table(("judges", "Kendall tau-b (run scores)", "Spearman rho (run scores)",
                         "Krippendorff alpha, interval", "Krippendorff alpha, ordinal", "answers"), tuple(rows),
                        numeric=(False, True, True, True, True, True)), Text(text)]


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
             f"{', '.join(f'{k} ({v} prompts)' for k, v in sets.items()) or 'n/a'}. Intervals: {_intervals(ranking)}; "
             f"{fmt.integer(boot.n_resamples)} resamples over {boot.unit}s (seed {boot.seed}).")
    blocks: list[Block] = [Text(intro), *_diagnostics(ranking), *_methods(ranking),
                           *_protocol(ctx, ranking, "pointwise"), *_by_set(ranking),
                           *_protocol(ctx, ranking, "pairwise"), *_length_control(ranking), *_agreement(ranking),
                           *_position_bias(ranking), *_unusable(ranking)]
    return Section("judgement", TITLE, tuple(blocks))
