"""Redacting one conversation: every turn's spans are found, each distinct value gets its
placeholder in order of first appearance (`pseudonymize.Pseudonyms`), and Presidio's
anonymizer replaces the spans with them."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from presidio_anonymizer import AnonymizerEngine
from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

from .engine import PrivacyEngine
from .pseudonymize import PLACEHOLDER, Pseudonyms
from .spans import Span


@dataclass(frozen=True)
class RedactedConversation:
    texts: tuple[str, ...]
    """The turns with every span replaced by its placeholder."""
    occurrences: dict[str, int] = field(default_factory=dict)
    """Replaced spans per entity (by the placeholder's entity)."""
    distinct: dict[str, int] = field(default_factory=dict)
    """Distinct values per entity."""

    @property
    def affected(self) -> bool:
        return bool(self.occurrences)


class Redactor:
    """Redacts conversations with one engine; keeps no value between conversations."""

    def __init__(self, engine: PrivacyEngine):
        self.engine = engine
        self._anonymizer = AnonymizerEngine()

    def redact(self, texts: Sequence[str]) -> RedactedConversation:
        pseudonyms = Pseudonyms(texts, self.engine.config.phone_regions)
        spans_per_text = [self.engine.spans(text) for text in texts]
        occurrences: Counter[str] = Counter()
        for text, spans in zip(texts, spans_per_text):
            for span in spans:  # first appearance numbers the placeholders
                placeholder = pseudonyms.assign(span.entity, text[span.start:span.end])
                occurrences[PLACEHOLDER.fullmatch(placeholder).group(1)] += 1
        redacted = tuple(self._replace(text, spans, pseudonyms) for text, spans in zip(texts, spans_per_text))
        return RedactedConversation(redacted, dict(occurrences), pseudonyms.distinct)

    def _replace(self, text: str, spans: list[Span], pseudonyms: Pseudonyms) -> str:
        if not spans:
            return text
        operators = {entity: OperatorConfig("custom", {"lambda": lambda value, e=entity: pseudonyms.placeholder(e, value)})
                     for entity in {s.entity for s in spans}}
        results = [RecognizerResult(s.entity, s.start, s.end, 1.0) for s in spans]
        return self._anonymizer.anonymize(text, results, operators, merge_entities_with_spaces=False).text
