"""1. Data: what the data set contains (generated, imported from real transcripts, or both), what
was redacted from imported conversations (counts only), what was rejected, and what it cost."""

from __future__ import annotations

from ... import fmt
from ...artifacts.data import DataStats, RedactionReport
from ...artifacts.energy import DataEnergy
from ..blocks import Block, Note, Section, Subheading, Table, Text, not_available
from ..figures import coverage_heatmap, data_distributions
from .context import Context, figure_or_note

TITLE = "1. Data"


def _overview(stats: DataStats) -> list[Block]:
    splits = stats.splits
    dup = stats.duplicates_removed
    imported = stats.imported
    rows = [
        ("scenarios (term x cause x context)", fmt.integer(stats.scenarios)),
        ("conversations read" if imported else "conversations planned", fmt.integer(stats.planned)),
        ("conversations kept", fmt.integer(stats.conversations)),
        ("rejected (validation and duplicates)", fmt.integer(stats.rejects.total)),
        ("duplicates removed (exact / near)", f"{fmt.integer(dup.get('exact'))} / {fmt.integer(dup.get('near'))}"),
        ("with a customer misconception", fmt.integer(stats.with_misconception)),
        *((f"split: {name}", fmt.integer(n)) for name, n in splits.items()),
    ]
    text = (f"{fmt.integer(stats.conversations)} conversations from {fmt.integer(stats.scenarios)} "
            f"scenarios, split by scenario so that no scenario appears in two splits." if imported is None
            else _imported_text(stats))
    blocks: list[Block] = [Text(text), Table(("quantity", "value"), tuple(rows))]
    if "test_ood" not in splits:
        blocks.append(not_available("out-of-distribution test split (test_ood)",
                                    "no terms were held out: data.ood_terms is empty"))
    return blocks


def _imported_text(stats: DataStats) -> str:
    imported = stats.imported
    files = fmt.listing([f"{f.file} ({f.format}, {fmt.plural(f.conversations, 'conversation')})"
                         for f in imported.files])
    text = (f"The data were imported from real support transcripts: {files}. "
            f"{fmt.integer(imported.kept)} of {fmt.integer(imported.read)} conversations were kept, from "
            f"{fmt.plural(imported.groups, 'group')} (ticket, customer or account), split by group so that "
            f"no group appears in two splits.")
    if stats.synthetic is not None:
        added = sum(stats.synthetic.added.values())
        text += (f" {fmt.integer(added)} synthetic conversations were mixed in (target share "
                 f"{fmt.pct(stats.synthetic.share)} of each split).")
    return text


def _redaction(stats: DataStats) -> list[Block]:
    report: RedactionReport | None = stats.redaction
    if stats.imported is None:
        return []
    blocks: list[Block] = [Subheading("Personal data redacted")]
    if report is None:
        return blocks + [not_available("redaction report", "stats.json has no redaction section")]
    blocks.append(Text(
        f"Every imported conversation was redacted on this machine before anything was written: "
        f"{fmt.integer(report.conversations_affected)} of {fmt.integer(report.conversations)} kept conversations "
        f"had personal data replaced by placeholders. Counts only; no value is kept."))
    splits = list(report.per_split)
    rows = tuple((entity, fmt.integer(report.entities.get(entity, 0)), fmt.integer(report.distinct_values.get(entity, 0)),
                  *(fmt.integer(report.per_split[s].entities.get(entity, 0)) for s in splits))
                 for entity in report.entities_checked)
    blocks.append(Table(("entity", "spans replaced", "distinct values", *splits), rows,
                        caption="Spans replaced per entity type, in total and per split (rejected conversations "
                                f"apart: {fmt.integer(sum(report.rejected.entities.values()))} spans)."))
    blocks += [Note(note[0].upper() + note[1:] + ".") for note in report.notes]
    blocks.append(Note("Imported conversations have no scenario: the judges' scenario-based criteria (the "
                       "rubric's term and steps, the semantic judge's steps, the LLM judges' reference "
                       "information) were skipped for their prompts."))
    return blocks


def _rejects(stats: DataStats) -> list[Block]:
    by_reason = stats.rejects.by_reason
    kind, base = ("imported", "read") if stats.imported else ("generated", "planned")
    if not by_reason:
        return [Subheading("Rejected conversations"), Text(f"No {kind} conversation was rejected.")]
    planned = stats.planned
    rows = tuple((reason, fmt.integer(n), fmt.pct(n / planned, 1) if planned else fmt.NA)
                 for reason, n in sorted(by_reason.items(), key=lambda kv: (-kv[1], kv[0])))
    return [Subheading("Rejected conversations"),
            Table(("reason", "conversations", f"share of {base}"), rows)]


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
        blocks = [*_overview(stats), *_redaction(stats), *_rejects(stats), *_coverage(ctx, stats),
                  *_distributions(ctx, stats)]
    blocks += _cost(stats, study.data_energy, study.missing_reason("data energy"))
    return Section("data", TITLE, tuple(blocks))
