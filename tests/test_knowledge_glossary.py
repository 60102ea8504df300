"""Questions built from the shipped glossary: seeded, three kinds, keyed to the right glossary
field, distractors from other terms (same category first where that is unambiguous), options
shuffled, no giveaway, and no wording taken from the training conversations' writer."""

import collections
import re
from pathlib import Path

from telcotune.config import DataConfig
from telcotune.data.glossary import load_glossary
from telcotune.knowledge.glossary_mcq import BLANK, KINDS, generic_steps, glossary_questions

GLOSSARY = load_glossary(DataConfig().glossary_path())
TERMS = {t.slug: t for t in GLOSSARY.terms}
WRITER = Path(__file__).resolve().parents[1] / "src" / "telcotune" / "data"


def by_kind(questions):
    return collections.defaultdict(list, {k: [q for q in questions if q.category == k] for k in KINDS})


def test_seeded_three_kinds_and_counts():
    questions = glossary_questions(GLOSSARY, seed=0)
    assert questions == glossary_questions(GLOSSARY, seed=0)
    other_seed = glossary_questions(GLOSSARY, seed=1)
    assert [q.options for q in other_seed] != [q.options for q in questions]
    kinds = by_kind(questions)
    assert len(kinds["definition"]) == len(GLOSSARY.terms)
    assert len(kinds["expansion"]) == sum(1 for t in GLOSSARY.terms if t.expansion)
    assert len(kinds["resolution"]) >= len(GLOSSARY.terms) - 3  # a term with only generic steps has none
    assert 100 <= len(questions) <= 200
    assert len({q.id for q in questions}) == len(questions)
    assert all(len(q.options) == 4 and len(set(q.options)) == 4 for q in questions)
    assert all(q.source == "glossary" for q in questions)


def test_answers_are_the_terms_own_fields_and_positions_are_shuffled():
    questions = glossary_questions(GLOSSARY, seed=0)
    for q in questions:
        kind, slug = q.id.split("/")
        term = TERMS[slug]
        right = q.options[q.answer]
        if kind == "definition":
            assert right == term.term
        elif kind == "expansion":
            assert right == term.expansion and term.term in q.question
        else:
            assert right in term.resolution_steps
            assert any(s.rstrip(".") in q.question for s in term.symptoms)
            assert not any(o in term.resolution_steps for i, o in enumerate(q.options) if i != q.answer)
    positions = collections.Counter(q.answer for q in questions)
    assert set(positions) == {0, 1, 2, 3} and min(positions.values()) > len(questions) / 8


def test_definitions_do_not_name_the_term_or_a_distractor():
    for q in by_kind(glossary_questions(GLOSSARY, seed=0))["definition"]:
        for option in q.options:
            names = next(t for t in GLOSSARY.terms if t.term == option).names()
            assert not any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", q.question, re.I) for n in names), (q.id, option)
    five_g = next(q for q in glossary_questions(GLOSSARY) if q.id == "definition/5g")
    assert f"({BLANK} New Radio)" in five_g.question


def test_distractors_come_from_the_same_category_first():
    categories = collections.Counter(t.category for t in GLOSSARY.terms)
    for q in by_kind(glossary_questions(GLOSSARY, seed=0))["definition"]:
        term = TERMS[q.id.split("/")[1]]
        wrong = [next(t for t in GLOSSARY.terms if t.term == o) for i, o in enumerate(q.options) if i != q.answer]
        same = sum(t.category == term.category for t in wrong)
        assert same >= min(3, categories[term.category] - 1 - _named_in_definition(term)), q.id


def _named_in_definition(term):
    return sum(1 for t in GLOSSARY.terms if t is not term and t.category == term.category
               and any(re.search(rf"(?<!\w){re.escape(n)}(?!\w)", term.definition, re.I) for n in t.names()))


def test_resolution_distractors_are_other_categories_specific_steps():
    generic = generic_steps(GLOSSARY)
    assert any("Restart the router and the phone" == s for s in generic)
    owner = {s: t for t in GLOSSARY.terms for s in t.resolution_steps}
    for q in by_kind(glossary_questions(GLOSSARY, seed=0))["resolution"]:
        term = TERMS[q.id.split("/")[1]]
        assert not any(o in generic for o in q.options)
        assert all(owner[o].category != term.category for i, o in enumerate(q.options) if i != q.answer)


def test_no_question_wording_comes_from_the_conversation_writer():
    writer = " ".join((WRITER / f).read_text(encoding="utf-8").lower() for f in ("template.py", "phrasing.py", "guidance.py"))
    fields = {s.lower() for t in GLOSSARY.terms for s in [t.definition, *t.symptoms, t.expansion or "", t.term]}
    for q in glossary_questions(GLOSSARY, seed=0):
        stem = q.question.lower()
        for field in sorted(fields, key=len, reverse=True):
            stem = stem.replace(field.rstrip("."), " ")
        for sentence in re.split(r"[.?\n]", stem):
            words = sentence.split()
            for start in range(max(0, len(words) - 4)):
                five = " ".join(words[start:start + 5])
                assert five not in writer, (q.id, five)
