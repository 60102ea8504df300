"""Knowledge and forgetting: multiple-choice accuracy of the base model and every adapter, with
95% intervals, per question category, and each adapter's paired difference to the base, so
"adapter X forgot" or "gained" is said only where the numbers support it.

Reads ranking.json's `knowledge` (knowledge.record.KnowledgeResult).
"""

from __future__ import annotations

from ... import fmt
from ...knowledge.record import KnowledgeResult, ModelKnowledge
from ..blocks import Block, Finding, Section, Table, Text, not_available
from .context import Context

TITLE = "Knowledge and forgetting"


def _points(x: float) -> str:
    return f"{100 * x:+.1f}"


def _accuracy(m: ModelKnowledge) -> str:
    a = m.accuracy
    return f"{fmt.pct(a.value, 1)} [{fmt.pct(a.low, 1)}, {fmt.pct(a.high, 1)}]"


def _versus(m: ModelKnowledge) -> tuple[str, str, str, str]:
    v = m.versus_base
    if v is None:
        return ("(reference)", "", "", "")
    d = v.difference
    return (f"{_points(d.diff)} [{_points(d.low)}, {_points(d.high)}]", f"{d.first_only} / {d.second_only}",
            f"{v.holm_p:.2f}", v.verdict)


def _models_table(result: KnowledgeResult) -> Table:
    rows = tuple((m.run, f"{m.accuracy.successes} / {m.accuracy.total}", _accuracy(m), *_versus(m))
                 for m in result.models)
    return Table(("model", "right", "accuracy [95% CI]", "vs base, points [95% CI]", "gained / lost",
                  "Holm p", "verdict"), rows,
                 caption=f"Accuracy by log-probability per option token; Wilson intervals; the difference to the base "
                         f"on the same questions with Newcombe's paired interval and an exact McNemar test (Holm over "
                         f"the adapters). {result.verdict_rule}",
                 numeric=(False, True, True, True, True, True, False))


def _categories_table(result: KnowledgeResult) -> Table | None:
    categories = list(result.categories)
    if len(categories) < 2:
        return None
    rows = []
    for m in result.models:
        cells = []
        for c in categories:
            p = m.categories.get(c)
            cells.append(fmt.NA if p is None else f"{fmt.pct(p.value, 0)} [{fmt.pct(p.low, 0)}, {fmt.pct(p.high, 0)}]")
        rows.append((m.run, *cells))
    return Table(("model", *(f"{c} ({result.categories[c]})" for c in categories)), tuple(rows),
                 caption="Accuracy per question category (questions in brackets), 95% Wilson intervals.")


def knowledge_sentence(result: KnowledgeResult) -> str:
    """The section's finding: base accuracy, and which adapters gained or forgot (paired verdicts)."""
    adapters = [m for m in result.models if m.versus_base is not None]
    gained = [m.run for m in adapters if m.versus_base.verdict == "gained"]
    forgot = [m.run for m in adapters if m.versus_base.verdict == "forgot"]
    base = result.models[0]
    text = (f"On {result.questions} questions (chance {fmt.pct(result.chance, 0)}), the base model answers "
            f"{_accuracy(base)} right. ")
    if not gained and not forgot:
        return text + (f"No adapter's accuracy differs from the base model's by more than these questions can "
                       f"show ({len(adapters)} adapters: no evidence either way).")
    parts = []
    if gained:
        parts.append(f"gained knowledge: {fmt.listing(gained)}")
    if forgot:
        parts.append(f"forgot what the base model knew: {fmt.listing(forgot)}")
    return text + "Supported by the paired comparison, " + "; ".join(parts) + "."


def build(ctx: Context) -> Section:
    ranking = ctx.study.ranking
    result = ranking.knowledge if ranking is not None else None
    if result is None:
        reason = ("the knowledge step did not run: enable it with `eval.knowledge: true` (or run `telcotune "
                  f"knowledge --workdir {ctx.study.root}`)")
        return Section("knowledge", TITLE, (not_available("knowledge questions", reason),))
    sources = ", ".join(f"{s.name} ({s.questions} of {s.available})" for s in result.sources)
    blocks: list[Block] = [
        Text(f"Multiple-choice questions scored by log-likelihood ({result.scoring}), on the base model and every "
             f"adapter swapped onto it. Sources: {sources}."),
        Finding(knowledge_sentence(result)),
        _models_table(result),
    ]
    categories = _categories_table(result)
    if categories is not None:
        blocks.append(categories)
    return Section("knowledge", TITLE, tuple(blocks))
