"""Consistent placeholders within one conversation: the first phone number is `<PHONE_1>`
wherever it appears (in any format: 07700 900123, +44 7700 900123 and 447700900123 are one
number), a second one `<PHONE_2>`; two different values never share a placeholder.
Placeholders already present in the source text are never reused for another value."""

from __future__ import annotations

from collections.abc import Iterable

import phonenumbers
import regex

from .checksums import digits_of

PLACEHOLDER = regex.compile(r"<([A-Z][A-Z0-9_]*)_(\d+)>")
_NUMERIC = regex.compile(r"[\d\s\-./()+]+")


def canonical(entity: str, value: str, regions: Iterable[str] = ()) -> str:
    """One key per real-world value, whatever its formatting."""
    if entity == "PHONE":
        number = _phone(value, regions)
        if number is not None:
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    if _NUMERIC.fullmatch(value) and any(ch.isdigit() for ch in value):
        return digits_of(value)
    return "".join(value.split()).casefold()


def _phone(value: str, regions: Iterable[str]) -> phonenumbers.PhoneNumber | None:
    """The number as parsed in the first region where it is valid, else where it is possible."""
    international = value if value.lstrip().startswith("+") else "+" + value.strip()
    candidates = []
    for text, region in ((international, None), *((value, r) for r in regions)):
        try:
            candidates.append(phonenumbers.parse(text, region))
        except phonenumbers.NumberParseException:
            continue
    for check in (phonenumbers.is_valid_number, phonenumbers.is_possible_number):
        for number in candidates:
            if check(number):
                return number
    return None


class Pseudonyms:
    """The placeholder of every value seen so far in one conversation."""

    def __init__(self, source_texts: Iterable[str] = (), regions: Iterable[str] = ()):
        self._regions = tuple(regions)
        self._by_key: dict[str, str] = {}
        self._next: dict[str, int] = {}
        for text in source_texts:  # placeholders the source already holds stay unique
            for entity, n in PLACEHOLDER.findall(text):
                self._next[entity] = max(self._next.get(entity, 1), int(n) + 1)

    def assign(self, entity: str, value: str) -> str:
        """The value's placeholder: the one it already has, else the next of `entity`."""
        key = canonical(entity, value, self._regions)
        if key not in self._by_key:
            n = self._next.get(entity, 1)
            self._next[entity] = n + 1
            self._by_key[key] = f"<{entity}_{n}>"
        return self._by_key[key]

    def placeholder(self, entity: str, value: str) -> str:
        """The placeholder `assign` gave this value."""
        return self._by_key[canonical(entity, value, self._regions)]

    @property
    def distinct(self) -> dict[str, int]:
        """Distinct values per entity (the entity of the placeholder each got)."""
        counts: dict[str, int] = {}
        for placeholder in self._by_key.values():
            entity = PLACEHOLDER.fullmatch(placeholder).group(1)
            counts[entity] = counts.get(entity, 0) + 1
        return counts
