"""1. Data: what the synthetic data set contains, what was rejected, and what it cost."""

from __future__ import annotations

from typing import Any

from .. import fmt
from ..blocks import Block, Note, Section, Subheading, Table, Text, not_available
from ..figures import coverage_heatmap, data_distributions
from .context import Context, figure_or_note

TITLE = "1. Data"


def _overview(stats: dict[str, Any]) -> list[Block]:
    splits = stats.get("splits") or {}
    dup = stats.get("duplicates_removed") or {}
    rows = [
        ("scenarios (term x cause x context)", fmt.integer(stats.get("scenarios"))),
        ("conversations planned", fmt.integer(stats.get("planned"))),
        ("conversations kept", fmt.integer(stats.get("conversations"))),
        ("rejected (validation and duplicates)", fmt.integer((stats.get("rejects") or {}).get("total"))),
        ("duplicates removed (exact / near)", f"{fmt.integer(dup.get('exact'))} / {fmt.integer(dup.get('near'))}"),
        ("with a customer misconception", fmt.integer(stats.get("with_misconception"))),
        *((f"split: {name}", fmt.integer(n)) for name, n in splits.items()),
    ]
    text = (f"{fmt.integer(stats.get('conversations'))} conversations from {fmt.integer(stats.get('scenarios'))} "
            f"scenarios, split by scenario so that no scenario appears in two splits.")
    blocks: list[Block] = [Text(text), Table(("quantity", "value"), tuple(rows))]
    if "test_ood" not in splits:
        blocks.append(not_available("out-of-distribution test split (test_ood)",
                                    "no terms were held out: data.ood_terms is empty"))
    return blocks


def _rejects(stats: dict[str, Any]) -> list[Block]:
    rejects = stats.get("rejects") or {}
    by_reason = rejects.get("by_reason") or {}
    if not by_reason:
        return [Subheading("Rejected conversations"), Text("No generated conversation was rejected.")]
    planned = stats.get("planned") or 0
    rows = tuple((reason, fmt.integer(n), fmt.pct(n / planned, 1) if planned else fmt.NA)
                 for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    return [Subheading("Rejected conversations"),
            Table(("reason", "conversations", "share of planned"), rows)]


def _coverage(ctx: Context, stats: dict[str, Any]) -> list[Block]:
    path = coverage_heatmap(stats.get("per_cell") or {}, ctx.figure_path("data_coverage"))
    caption = ("Conversations per term and failure cause (all splits). White cells have none: the "
               "glossary excludes the combination, or every conversation for it was rejected.")
    return [Subheading("Coverage"),
            figure_or_note(path, caption, "coverage heatmap", "stats.json has no per_cell counts")]


def _distributions(ctx: Context, stats: dict[str, Any]) -> list[Block]:
    lengths = stats.get("length_approx_tokens") or {}
    path = data_distributions(stats.get("customer_turns") or {}, lengths.get("histogram"),
                              ctx.figure_path("data_distributions"))
    blocks: list[Block] = [Subheading("Turns and length"),
                           figure_or_note(path, "Customer turns per conversation, and conversation length.",
                                          "turn and length distributions", "stats.json has neither")]
    if lengths.get("count"):
        blocks.append(Text(
            f"Length in approximate tokens (words and punctuation): mean {fmt.num(lengths.get('mean'), 1)}, "
            f"median {fmt.num(lengths.get('p50'), 0)}, 90th percentile {fmt.num(lengths.get('p90'), 0)}, "
            f"range {fmt.integer(lengths.get('min'))} to {fmt.integer(lengths.get('max'))}."))
    return blocks


def _cost(stats: dict[str, Any] | None, energy: dict[str, Any] | None, missing: str) -> list[Block]:
    blocks: list[Block] = [Subheading("Generator cost and energy")]
    backends = (stats or {}).get("backend") or {}
    if backends:
        rows = tuple((spec, fmt.integer(s.get("calls")), fmt.integer(s.get("cache_hits")),
                      fmt.integer(s.get("retries")), fmt.integer(s.get("prompt_tokens")),
                      fmt.integer(s.get("completion_tokens")),
                      "n/a (unpriced)" if s.get("cost_usd") is None else f"${s['cost_usd']:.2f}",
                      fmt.duration(s.get("duration_s"))) for spec, s in backends.items())
        blocks.append(Table(("generator", "calls", "cache hits", "retries", "prompt tokens", "completion tokens",
                             "cost (USD)", "duration"), rows))
    else:
        blocks.append(not_available("generator statistics", "stats.json has no backend section"))
    if energy is None:
        blocks.append(not_available("generation energy", missing))
        return blocks
    total = energy.get("total") or {}
    per = energy.get("j_per_token")
    label = energy.get("token_label") or "token"
    text = (f"Generation energy: {fmt.energy(total.get('energy_j'))} over {fmt.duration(total.get('duration_s'))} "
            f"({energy.get('method')}), {fmt.energy(per)} per {label.rstrip('s')}.")
    blocks.append(Text(text))
    if energy.get("method") == "missing":
        blocks.append(Note(f"The generation energy was not metered: {energy.get('missing_reason')}."))
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
