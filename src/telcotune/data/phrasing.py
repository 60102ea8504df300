"""Turning glossary text (written for agents, in the third person) into chat phrasing."""

from __future__ import annotations

import re

_SECOND_PERSON = [
    (r"\b[Tt]ell the customer not to\b", "do not"),
    (r"\b[Tt]ell the customer to\b", ""),
    (r"\b[Aa]sk the customer to\b", ""),
    (r"\bthe customer's\b", "your"),
    (r"\bthe customer is\b", "you are"),
    (r"\bthe customer has\b", "you have"),
    (r"\bthe customer was\b", "you were"),
    (r"\bthe customer\b", "you"),
    (r"\bThe customer's\b", "Your"),
    (r"\bThe customer is\b", "You are"),
    (r"\bThe customer\b", "You"),
    (r"\btheir own\b", "your own"),
]
_FIRST_PERSON = [
    (r"\bThe customer is\b", "I am"),
    (r"\bthe customer is\b", "I am"),
    (r"\bThe customer\b", "I"),
    (r"\bthe customer's\b", "my"),
    (r"\btheir own\b", "my own"),
    (r"\btheir\b", "my"),
    (r"\buses\b", "use"),
]
_ACRONYM = re.compile(r"^[A-Z0-9]{2,}")


# After "the customer" became "you", its verb must agree: "you uses" -> "you use".
_AGREEMENT = [
    (r"\b([Yy]ou) (is)\b", r"\1 are"), (r"\b([Yy]ou) (was)\b", r"\1 were"),
    (r"\b([Yy]ou) (has)\b", r"\1 have"), (r"\b([Yy]ou) (does)\b", r"\1 do"),
    (r"\b([Yy]ou) (goes)\b", r"\1 go"), (r"\b([Yy]ou) (\w+[^s])s\b", r"\1 \2"),
]


def _apply(rules: list[tuple[str, str]], text: str) -> str:
    for pattern, repl in rules:
        text = re.sub(pattern, repl, text)
    return re.sub(r"\s{2,}", " ", text).strip()


def to_you(text: str) -> str:
    """Agent-facing text addressed to the customer: 'the customer's phone' -> 'your phone'."""
    out = _apply(_AGREEMENT, _apply(_SECOND_PERSON, text))
    if "customer" in text:  # 'their' referred to the customer
        out = re.sub(r"\btheir\b", "your", out)
    return capitalize(out)


def to_me(text: str) -> str:
    """A context description in the customer's voice: 'The customer is at home' -> 'I am at home'."""
    return capitalize(_apply(_FIRST_PERSON, text))


def lower_first(text: str) -> str:
    """Lower-case the first letter unless the first word is an acronym (APN, 5G, SIM)."""
    if not text or _ACRONYM.match(text) or text[:2] in ("I ", "I'"):
        return text
    return text[0].lower() + text[1:]


def term_in_sentence(term: str) -> str:
    """'Speed test' -> 'speed test' inside a sentence; 'APN', 'Wi-Fi Calling', 'eSIM' unchanged."""
    first = term.split()[0]
    if len(first) > 1 and first[0].isupper() and first[1:].isalpha() and first[1:].islower():
        return term[0].lower() + term[1:]
    return term


def capitalize(text: str) -> str:
    return text[:1].upper() + text[1:] if text else text


def sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def clause(text: str) -> str:
    """A sentence used inside another sentence: no final full stop, lower-case start."""
    return lower_first(text.strip().rstrip("."))
