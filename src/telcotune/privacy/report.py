"""The redaction report for `stats.json`: what was found, per entity and per split, and how
many conversations it touched. It holds counts only, never a value."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .redact import RedactedConversation

NAMES_NOT_CHECKED = ("names of people were not checked: no NER model is enabled "
                     "(set privacy.ner_model to an installed spaCy model)")


@dataclass
class SplitCounts:
    conversations: int = 0
    affected: int = 0
    occurrences: Counter = field(default_factory=Counter)
    distinct: Counter = field(default_factory=Counter)

    def add(self, conversation: RedactedConversation) -> None:
        self.conversations += 1
        self.affected += conversation.affected
        self.occurrences.update(conversation.occurrences)
        self.distinct.update(conversation.distinct)

    def to_dict(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "conversations_affected": self.affected,
                "entities": dict(sorted(self.occurrences.items())),
                "distinct_values": dict(sorted(self.distinct.items()))}


def redaction_report(by_split: Mapping[str, Iterable[RedactedConversation]], *, entities: list[str],
                     ner_model: str | None, rejected: Iterable[RedactedConversation] = ()) -> dict[str, Any]:
    """Totals and per-split counts of redacted spans (and distinct values) per entity type.
    `rejected` conversations were redacted too (their rejects hold no text) and are counted
    apart."""
    total, splits = SplitCounts(), {}
    for name, conversations in by_split.items():
        splits[name] = SplitCounts()
        for conversation in conversations:
            splits[name].add(conversation)
            total.add(conversation)
    rejected_counts = SplitCounts()
    for conversation in rejected:
        rejected_counts.add(conversation)
    return {
        **total.to_dict(),
        "per_split": {name: counts.to_dict() for name, counts in splits.items()},
        "rejected": rejected_counts.to_dict(),
        "entities_checked": entities,
        "names_checked": ner_model is not None,
        "ner_model": ner_model,
        "notes": [] if ner_model is not None else [NAMES_NOT_CHECKED],
    }


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a few lines of text (for `telcotune import --check-only`)."""
    lines = [f"redaction: {report['conversations_affected']} of {report['conversations']} conversations "
             "had personal data replaced"]
    splits = list(report["per_split"])
    header = f"  {'entity':<12}{'total':>8}" + "".join(f"{s:>8}" for s in splits)
    lines.append(header)
    for entity in report["entities_checked"]:
        row = [report["entities"].get(entity, 0)] + [report["per_split"][s]["entities"].get(entity, 0) for s in splits]
        lines.append(f"  {entity:<12}" + "".join(f"{n:>8}" for n in row))
    if report["rejected"]["conversations"]:
        lines.append(f"  ({report['rejected']['conversations']} rejected conversations, "
                     f"{sum(report['rejected']['entities'].values())} spans, are not in these columns)")
    lines += [f"  note: {note}" for note in report["notes"]]
    return "\n".join(lines)
