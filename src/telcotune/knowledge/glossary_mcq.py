"""Multiple-choice questions built from a glossary: which term a definition describes, what an
abbreviation stands for, and which step helps with a symptom; seeded, options shuffled.

Wording: the question stems are written here, from the glossary's fields only, and share no
phrase with the training conversations' writer (data/template.py, phrasing.py, guidance.py are
deliberately not used), so a question tests what the model knows about a term rather than
whether it recognises a training sentence.

Distractors: for definitions and expansions, other terms of the same category first (the hard
confusions, e.g. RSRP vs Carrier aggregation), then other categories. For resolution steps,
only other categories' steps: a same-category step often also helps (two mobile-data terms
both say "restart the phone"), which would make the keyed answer one of two right ones; a step
whose words overlap the right term's steps is never a distractor either, and generic steps
(restart the phone, reset the router: alike across several categories) are neither right answers
nor distractors.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable

from ..data.glossary import Glossary, Term
from .mcq import Question

SOURCE = "glossary"
KINDS = ("definition", "expansion", "resolution")
BLANK = "___"
OVERLAP_LIMIT = 0.34
"""Largest word overlap (Jaccard) a distractor step may have with any of the right term's steps."""
GENERIC_OVERLAP = 0.2
GENERIC_CATEGORIES = 3
_STOPWORDS = frozenset("the a an and or of to in on for is it its that this with by from at as be are "
                       "if then into their them they your you not any".split())


def glossary_questions(glossary: Glossary, seed: int = 0, distractors: int = 3) -> list[Question]:
    """Questions of every kind for every term that supports it (expansion: terms with one), in
    glossary order and kind order. A term with no usable distractor gets no question."""
    generic = generic_steps(glossary)
    builders: dict[str, Callable[[Term, random.Random], Question | None]] = {
        "definition": lambda t, rng: _definition(glossary, t, rng, distractors),
        "expansion": lambda t, rng: _expansion(glossary, t, rng, distractors),
        "resolution": lambda t, rng: _resolution(glossary, t, rng, distractors, generic),
    }
    questions = []
    for kind in KINDS:
        for term in glossary.terms:
            # One generator per (seed, kind, term): a question does not change when others are
            # added or removed from the glossary.
            question = builders[kind](term, random.Random(f"{seed}/{kind}/{term.slug}"))
            if question is not None:
                questions.append(question)
    return questions


def _definition(glossary: Glossary, term: Term, rng: random.Random, n: int) -> Question | None:
    definition = mask_names(term.definition, term.names())
    # A term named inside the definition would be a giveaway distractor; leave those out.
    pool = [t for t in glossary.terms if t is not term and not _names_in(definition, t)]
    wrong = _pick(pool, term, rng, n, key=lambda t: t.term)
    stem = f"Which telecom term does this describe? {definition}\nReply with the term only."
    return _question("definition", term, stem, term.term, wrong, rng)


def _expansion(glossary: Glossary, term: Term, rng: random.Random, n: int) -> Question | None:
    if not term.expansion:
        return None
    pool = [t for t in glossary.terms if t is not term and t.expansion
            and t.expansion.lower() != term.expansion.lower()]
    wrong = _pick(pool, term, rng, n, key=lambda t: t.expansion)
    stem = f"In telecoms, what does {term.term} stand for?\nReply with the full name only."
    return _question("expansion", term, stem, term.expansion, wrong, rng)


def _resolution(glossary: Glossary, term: Term, rng: random.Random, n: int,
                generic: frozenset[str]) -> Question | None:
    symptom = rng.choice(term.symptoms)
    own = [_words(s) for s in term.resolution_steps]
    specific = [s for s in term.resolution_steps if s not in generic]
    if not specific:
        return None
    others = [t for t in glossary.terms if t.category != term.category]
    # The right step is the one closest to the symptom's wording, the most specific on a tie.
    symptom_words = _words(symptom)
    other_steps = _steps_of(others)
    right = max(specific, key=lambda s: (len(_words(s) & symptom_words), -_max_overlap(_words(s), other_steps)))
    order = others[:]
    rng.shuffle(order)
    wrong: list[str] = []
    for other in order:
        steps = [s for s in other.resolution_steps if s not in generic and s not in wrong
                 and _max_overlap(_words(s), own) < OVERLAP_LIMIT]
        if steps:
            wrong.append(rng.choice(steps))
        if len(wrong) == n:
            break
    stem = (f"A customer reports this problem: {symptom.rstrip('.')}.\n"
            "Name one step that helps fix it. Reply with the step only.")
    return _question("resolution", term, stem, right, wrong, rng)


def generic_steps(glossary: Glossary) -> frozenset[str]:
    """Steps that resemble (word overlap >= GENERIC_OVERLAP) steps of terms in at least
    GENERIC_CATEGORIES other categories, such as "Restart the router and the phone": they may help
    with almost any symptom, so they are neither a right answer nor a distractor."""
    steps = [(t.category, _words(s), s) for t in glossary.terms for s in t.resolution_steps]
    generic = set()
    for category, words, step in steps:
        near = {c for c, w, _ in steps if c != category and words | w
                and len(words & w) / len(words | w) >= GENERIC_OVERLAP}
        if len(near) >= GENERIC_CATEGORIES:
            generic.add(step)
    return frozenset(generic)


def _pick(pool: list[Term], term: Term, rng: random.Random, n: int, key: Callable[[Term], str]) -> list[str]:
    same = [t for t in pool if t.category == term.category]
    other = [t for t in pool if t.category != term.category]
    rng.shuffle(same)
    rng.shuffle(other)
    picked: list[str] = []
    for t in same + other:
        value = key(t)
        if value not in picked:
            picked.append(value)
        if len(picked) == n:
            break
    return picked


def _question(kind: str, term: Term, stem: str, right: str, wrong: list[str], rng: random.Random) -> Question | None:
    if not wrong:
        return None
    options = [right, *wrong]
    rng.shuffle(options)
    return Question(id=f"{kind}/{term.slug}", question=stem, options=tuple(options),
                    answer=options.index(right), category=kind, source=SOURCE)


def mask_names(text: str, names: list[str]) -> str:
    """`text` with every whole-word occurrence of any name (case-insensitive) replaced by a blank."""
    for name in sorted(names, key=len, reverse=True):  # longest first: "5G NR" before "5G"
        text = re.sub(rf"(?<!\w){re.escape(name)}(?!\w)", BLANK, text, flags=re.IGNORECASE)
    return text


def _names_in(text: str, term: Term) -> bool:
    return any(re.search(rf"(?<!\w){re.escape(name)}(?!\w)", text, flags=re.IGNORECASE) for name in term.names())


@functools.lru_cache(maxsize=4096)
def _words(text: str) -> frozenset[str]:
    return frozenset(w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in _STOPWORDS)


def _steps_of(terms: list[Term]) -> list[frozenset[str]]:
    return [_words(s) for t in terms for s in t.resolution_steps]


def _max_overlap(words: frozenset[str], others: list[frozenset[str]]) -> float:
    return max((len(words & o) / len(words | o) for o in others if words | o), default=0.0)
