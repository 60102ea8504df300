"""The redaction report for `stats.json` (`artifacts.data.RedactionReport`): what was found, per
entity and per split, and how many conversations it touched. It holds counts only, never a value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping

from ..artifacts.data import RedactionCounts, RedactionReport
from .redact import RedactedConversation

NAMES_NOT_CHECKED = ("names of people were not checked: no NER model is enabled "
                     "(set privacy.ner_model to an installed spaCy model)")


def _counts(conversations: Iterable[RedactedConversation]) -> RedactionCounts:
    conversations = list(conversations)
    occurrences: Counter = Counter()
    distinct: Counter = Counter()
    for conversation in conversations:
        occurrences.update(conversation.occurrences)
        distinct.update(conversation.distinct)
    return RedactionCounts(conversations=len(conversations),
                           conversations_affected=sum(c.affected for c in conversations),
                           entities=dict(sorted(occurrences.items())), distinct_values=dict(sorted(distinct.items())))


def redaction_report(by_split: Mapping[str, Iterable[RedactedConversation]], *, entities: list[str],
                     ner_model: str | None, rejected: Iterable[RedactedConversation] = ()) -> RedactionReport:
    """Totals and per-split counts of redacted spans (and distinct values) per entity type.
    `rejected` conversations were redacted too (their rejects hold no text) and are counted
    apart."""
    splits = {name: list(conversations) for name, conversations in by_split.items()}
    total = _counts(c for conversations in splits.values() for c in conversations)
    return RedactionReport(
        **total.model_dump(),
        per_split={name: _counts(conversations) for name, conversations in splits.items()},
        rejected=_counts(rejected), entities_checked=entities, names_checked=ner_model is not None,
        ner_model=ner_model, notes=[] if ner_model is not None else [NAMES_NOT_CHECKED])


def format_report(report: RedactionReport) -> str:
    """The report as a few lines of text (for `telcotune import --check-only`)."""
    lines = [f"redaction: {report.conversations_affected} of {report.conversations} conversations "
             "had personal data replaced"]
    splits = list(report.per_split)
    lines.append(f"  {'entity':<12}{'total':>8}" + "".join(f"{s:>8}" for s in splits))
    for entity in report.entities_checked:
        row = [report.entities.get(entity, 0)] + [report.per_split[s].entities.get(entity, 0) for s in splits]
        lines.append(f"  {entity:<12}" + "".join(f"{n:>8}" for n in row))
    if report.rejected.conversations:
        lines.append(f"  ({report.rejected.conversations} rejected conversations, "
                     f"{sum(report.rejected.entities.values())} spans, are not in these columns)")
    lines += [f"  note: {note}" for note in report.notes]
    return "\n".join(lines)
