"""1. Data: what the synthetic data set contains, what was rejected, and what it cost."""

from __future__ import annotations

from ... import fmt
from ...artifacts.data import DataStats
from ...artifacts.energy import DataEnergy
from ..blocks import Block, Note, Section, Subheading, Table, Text, not_available
from ..figures import coverage_heatmap, data_distributions
from .context import Context, figure_or_note

TITLE = "1. Data"


def _overview(stats: DataStats) -> list[Block]:
    splits = stats.splits
    dup = stats.duplicates_removed
    rows = [
        ("scenarios (term x cause x context)", fmt.integer(stats.scenarios)),
        ("conversations planned", fmt.integer(stats.planned)),
        ("conversations kept", fmt.integer(stats.conversations)),
        ("rejected (validation and duplicates)", fmt.integer(stats.rejects.total)),
        ("duplicates removed (exact / near)", f"{fmt.integer(dup.get('exact'))} / {fmt.integer(dup.get('near'))}"),
        ("with a customer misconception", fmt.integer(stats.with_misconception)),
        *((f"split: {name}", fmt.integer(n)) for name, n in splits.items()),
    ]
    text = (f"{fmt.integer(stats.conversations)} conversations from {fmt.integer(stats.scenarios)} "
            f"scenarios, split by scenario so that no scenario appears in two splits.")
    blocks: list[Block] = [Text(text), Table(("quantity", "value"), tuple(rows))]
    if "test_ood" not in splits:
        blocks.append(not_available("out-of-distribution test split (test_ood)",
                                    "no terms were held out: data.ood_terms is empty"))
    return blocks


def _rejects(stats: DataStats) -> list[Block]:
    by_reason = stats.rejects.by_reason
    if not by_reason:
        return [Subheading("Rejected conversations"), Text("No generated conversation was rejected.")]
    planned = stats.planned
    rows = tuple((reason, fmt.integer(n), fmt.pct(n / planned, 1) if planned else fmt.NA)
                 for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    return [Subheading("Rejected conversations"),
            Table(("reason", "conversations", "share of planned"), rows)]


def _coverage(ctx: Context, stats: DataStats) -> list[Block]:
    path = coverage_heatmap(stats.per_cell, ctx.figure_path("data_coverage"))
    caption = ("Conversations per term and failure cause (all splits). White cells have none: the "
               "glossary excludes the combination, or every conversation for it was rejected.")
    return [Subheading("Coverage"),
            figure_or_note(path, caption, "coverage heatmap", "stats.json has no per_cell counts")]


def _distributions(ctx: Context, stats: DataStats) -> list[Block]:
    lengths = stats.length_approx_tokens
    histogram = lengths.histogram.model_dump() if lengths.histogram else None
    path = data_distributions({str(k): v for k, v in stats.customer_turns.items()}, histogram,
                              ctx.figure_path("data_distributions"))
    blocks: list[Block] = [Subheading("Turns and length"),
                           figure_or_note(path, "Customer turns per conversation, and conversation length.",
                                          "turn and length distributions", "stats.json has neither")]
    if lengths.count:
        blocks.append(Text(
            f"Length in approximate tokens (words and punctuation): mean {fmt.num(lengths.mean, 1)}, "
            f"median {fmt.num(lengths.p50, 0)}, 90th percentile {fmt.num(lengths.p90, 0)}, "
            f"range {fmt.integer(lengths.min)} to {fmt.integer(lengths.max)}."))
    return blocks


def _cost(stats: DataStats | None, energy: DataEnergy | None, missing: str) -> list[Block]:
    blocks: list[Block] = [Subheading("Generator cost and energy")]
    backends = stats.backend if stats else {}
    if backends:
        rows = tuple((spec, fmt.integer(s.calls), fmt.integer(s.cache_hits), fmt.integer(s.retries),
                      fmt.integer(s.prompt_tokens), fmt.integer(s.completion_tokens),
                      "n/a (unpriced)" if s.cost_usd is None else f"${s.cost_usd:.2f}",
                      fmt.duration(s.duration_s)) for spec, s in backends.items())
        blocks.append(Table(("generator", "calls", "cache hits", "retries", "prompt tokens", "completion tokens",
                             "cost (USD)", "duration"), rows))
    else:
        blocks.append(not_available("generator statistics", "stats.json has no backend section"))
    if energy is None:
        blocks.append(not_available("generation energy", missing))
        return blocks
    text = (f"Generation energy: {fmt.energy(energy.total.energy_j)} over {fmt.duration(energy.total.duration_s)} "
            f"({energy.method}), {fmt.energy(energy.j_per_conversation)} per conversation.")
    blocks.append(Text(text))
    if energy.method == "missing":
        blocks.append(Note(f"The generation energy was not metered: {energy.missing_reason}."))
    return blocks


def build(ctx: Context) -> Section:
    study = ctx.study
    stats = study.stats
    if stats is None:
        blocks: list[Block] = [not_available("data statistics", study.missing_reason("stats"))]
    else:
        blocks = [*_overview(stats), *_rejects(stats), *_coverage(ctx, stats), *_distributions(ctx, stats)]
    blocks += _cost(stats, study.data_energy, study.missing_reason("data energy"))
    return Section("data", TITLE, tuple(blocks))
