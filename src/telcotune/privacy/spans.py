"""From recognizer matches to the spans to replace: allow-listed values and matches after a
word that rules them out are dropped, overlapping matches are merged into one span (their
union, so no digit of either survives) labelled by the best match: a context word before
it first, then the entity's priority, then the score, then the length."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import regex

from .recognizers import rule_for

CONTEXT_WORDS_BEFORE = 4
_WORDS = regex.compile(r"\w+")


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    entity: str


@dataclass(frozen=True)
class Match:
    """One recognizer's finding (a Presidio `RecognizerResult`, reduced to what is used)."""

    start: int
    end: int
    entity: str
    score: float


def _words_before(text: str, start: int, n: int) -> list[str]:
    return [w.lower() for w in _WORDS.findall(text[max(0, start - 60):start])][-n:]


def _has_context(text: str, match: Match) -> bool:
    words = _words_before(text, match.start, CONTEXT_WORDS_BEFORE)
    return any(w.startswith(c) for w in words for c in rule_for(match.entity).context)


def _ruled_out(text: str, match: Match) -> bool:
    not_after = rule_for(match.entity).not_after
    return bool(not_after) and any(w in not_after for w in _words_before(text, match.start, 2))


def _rank(text: str, match: Match) -> tuple:
    return (_has_context(text, match), rule_for(match.entity).priority, match.score, match.end - match.start)


def keep(text: str, matches: Iterable[Match], allow_list: frozenset[str]) -> list[Match]:
    """Matches that are not allow-listed values (compared case-insensitively) nor ruled out."""
    return [m for m in matches
            if text[m.start:m.end].strip().lower() not in allow_list and not _ruled_out(text, m)]


def resolve(text: str, matches: Iterable[Match], allow_list: frozenset[str]) -> list[Span]:
    """Non-overlapping spans in text order."""
    kept = sorted(keep(text, matches, allow_list), key=lambda m: (m.start, -m.end))
    spans: list[Span] = []
    group: list[Match] = []
    group_end = -1
    for m in kept:
        if group and m.start >= group_end:
            spans.append(_merge(text, group))
            group = []
        group.append(m)
        group_end = max(group_end, m.end) if len(group) > 1 else m.end
    if group:
        spans.append(_merge(text, group))
    return spans


def _merge(text: str, group: list[Match]) -> Span:
    best = max(group, key=lambda m: _rank(text, m))
    return Span(min(m.start for m in group), max(m.end for m in group), best.entity)
