"""The `rubric` judge: offline, deterministic, reference-guided scoring of a support answer.

It reads the scenario row (`Scenario.to_row()`: term, aliases, definition, resolution steps,
escalation condition, related terms ...) and, when given, the conversation row (its `messages`
and `misconception`), and scores one answer on seven criteria, each 1-10. No model, no
randomness: the same inputs always give the same `RubricScore`.

Criteria and weights (`CRITERIA`); `overall` is the weighted mean of the criteria that apply,
the weights renormalised over them:

==============  ======  =======================================================================
criterion       weight  what earns a 10
==============  ======  =======================================================================
term            0.15    names the term (term, expansion or alias, word boundary): 6; uses it
                        correctly, i.e. DEFINITION_FULL of the definition's content words
                        present: up to +4. Not named: at most 4. Explaining another glossary
                        term instead of this one: at most DRIFT_CAP.
steps           0.30    every expected resolution step covered (`step_match` >= STEP_COVERED);
                        a step matched between STEP_PARTIAL and STEP_COVERED earns up to half.
                        1 + 9 x share covered.
escalation      0.10    an escalation cue (escalate, technician, specialist, engineer, "technical
                        team", hand over ...): 6, plus up to 4 for naming the condition
                        (`escalate_when` content words, CONDITION_FLOOR..CONDITION_FULL). A
                        weak cue ("contact us", "let us know"): 4 + up to 3. None: 5 when the
                        steps are well covered (>= STEPS_WELL_COVERED) or not expected, else 2;
                        plus up to 1 for the condition. Rewarded, not required.
misconception   0.15    only when the conversation has one: 1, + 5 for a correction (a cue such
                        as "not the same", "no need", "mix-up", "actually" in a sentence about
                        the mistaken thing; + 2 only if the cue is elsewhere, or a sentence
                        about it merely negates) + 2 for naming the mistaken thing + 2 for
                        grounding it (>= 40 % of the definition for confuses-related /
                        wrong-meaning, of the real cause for wrong-blame; a covered step for
                        wrong-fix).
tone            0.10    5 + 2 per kind of politeness cue (apology, thanks, offer of help,
                        please, empathy), at most 10; -3 per rude or blaming phrase, -3 for
                        SHOUTING (3+ all-caps words that are not acronyms, or > 20 %), -1 per
                        "!!" / "?!" (at most -2).
conciseness     0.10    length: 10 for 30-250 words, 6-10 for 15-30, 2-6 under 15, falling to 4
                        at 500, 3 beyond (SHORT/GOOD/LONG/VERY_LONG_WORDS); minus
                        REPETITION_COST x (repetition - REPETITION_FREE) for looping text
                        (repeated 4-grams or duplicate sentences).
invented_terms  0.10    10 - INVENTED_COST per glossary term that is unrelated to the scenario
                        (not its term or a related term, not in the scenario's texts or the
                        conversation) - MARKER_COST per kind of
                        hallucination marker (AI disclaimer, placeholder, special token, URL,
                        phone number, role tag).
==============  ======  =======================================================================

Conversation awareness (when `conversation["messages"]` is given, the history is the turns up
to the last customer turn, see `prompt_of`):

* steps already covered by earlier assistant turns are not expected again; when none are
  left, `steps` does not apply;
* when the last customer turn says the problem is fixed, `steps` instead scores whether the
  answer acknowledges that (10) or not (3);
* `term` does not apply when an earlier assistant turn already named the term, unless the last
  customer turn asks about it, or the answer explains another glossary term instead;
* `misconception` applies only when the conversation has one and no earlier assistant turn
  already corrected it;
* terms the customer or earlier turns used are never "invented".

Not-applicable criteria are left out of `criteria`, listed in `skipped` and named in the
rationale. Unreadable answers (too few English or scenario words: another language,
gibberish) get every criterion capped at UNREADABLE_CAP; an answer that copies the conversation
(ECHO_SHARE of its 4-grams, e.g. the system prompt) or loops (LOOP_SHARE repetition) gets every
criterion capped at DEGENERATE_CAP; an empty answer gets 1 everywhere.

The rubric stands on its own: it scores against the glossary entry (the scenario row), the
conversation and its own criteria, cue lists and synonyms, and imports nothing of the data
generator.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from .text import (STOPWORDS, Cues, NameMatcher, content_of_tokens, content_words, has_name,
                   normalise, recall, repetition, sentences, split_words)

# ---------------------------------------------------------------------------------- the rubric

CRITERIA: dict[str, float] = {
    "term": 0.15,
    "steps": 0.30,
    "escalation": 0.10,
    "misconception": 0.15,
    "tone": 0.10,
    "conciseness": 0.10,
    "invented_terms": 0.10,
}
"""Criterion -> weight in `overall` (renormalised over the criteria that apply)."""

TIE_MARGIN = 0.25
"""`compare` calls a tie when the two overall scores differ by less than this."""
STEP_COVERED, STEP_PARTIAL = 0.6, 0.35
"""A step counts as covered when `step_match` reaches STEP_COVERED; between STEP_PARTIAL and
STEP_COVERED it earns up to half a step (linear)."""
FUZZY_DISCOUNT = 0.25
"""Subtracted from rapidfuzz `partial_ratio`/100 in `step_match`: unrelated text aligns at
~0.5, so only close paraphrases of a step reach STEP_COVERED this way."""
DEFINITION_FULL = 0.5
"""Share of the definition's content words that earns full `term` credit."""
CONDITION_FLOOR, CONDITION_FULL = 0.15, 0.5
"""Share of `escalate_when` content words present: chance overlap up to CONDITION_FLOOR earns
nothing, CONDITION_FULL or more earns full credit (linear in between)."""
STEPS_WELL_COVERED = 8.0
"""A `steps` score from which a missing escalation costs little (rewarded, not required)."""
SHORT_WORDS, GOOD_WORDS, LONG_WORDS, VERY_LONG_WORDS = 15, 30, 250, 500
REPETITION_FREE, REPETITION_COST = 0.15, 12.0
"""Repetition (0-1, see `text.repetition`) tolerated, and the cost per unit above it: one
sentence repeated 20 times (~0.95) drops `conciseness` to 1."""
INVENTED_COST, MARKER_COST = 2.5, 3.0
READABLE_SHARE, READABLE_MIN_CHARS = 0.3, 12
"""Share of the answer's letters that must be in English function words, scenario words or
common support words for an answer of READABLE_MIN_CHARS letters or more to count as readable
(another language, gibberish or a non-Latin script falls below it)."""
READABLE_SAMPLE = 150
"""Readability is judged on the first READABLE_SAMPLE words."""
UNREADABLE_CAP = 2.0
ECHO_SHARE = 0.5
"""An answer whose word 4-grams are at least this share copied from the conversation (its system
prompt, the customer's turns) is an echo, not an answer."""
LOOP_SHARE = 0.5
"""An answer repeating itself this much (`text.repetition`) is a loop, not an answer."""
DEGENERATE_CAP = 2.0
"""Every criterion at most, for an echo or a loop."""
DRIFT_CAP = 2.0
"""`term` at most, when the answer explains another glossary term and not the scenario's."""
MISCONCEPTION_ADDRESSED = 6.0
"""Earlier assistant turns scoring this on `misconception` already corrected it."""


@dataclass(frozen=True)
class RubricScore:
    criteria: dict[str, float]
    """Criterion -> score 1-10, only the criteria that apply."""
    overall: float
    """Weighted mean of `criteria` (weights from `CRITERIA`, renormalised), 1-10."""
    rationale: str
    skipped: tuple[str, ...] = field(default=())
    """Criteria that did not apply to this answer and conversation."""

    def to_dict(self) -> dict[str, Any]:
        return {"criteria": dict(self.criteria), "overall": self.overall,
                "rationale": self.rationale, "skipped": list(self.skipped)}


@dataclass(frozen=True)
class RubricComparison:
    verdict: str
    """"A", "B" or "tie" (|overall A - overall B| < TIE_MARGIN)."""
    a: RubricScore
    b: RubricScore

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "a": self.a.to_dict(), "b": self.b.to_dict()}


# ---------------------------------------------------------------------------------- cue lists

ESCALATION_STRONG = Cues(
    "escalat*", "technician*", "specialist*", "engineer*", "technical team", "support team",
    "network team", "fraud team", "security team", "billing team", "repair team", "porting team",
    "technical department", "hand it over", "hand this over", "hand over", "handover", "pass it on",
    "pass this on", "pass it to", "pass this to", "pass you to", "pass the case", "refer it",
    "refer this", "refer you", "raise a ticket", "raise a fault", "raise a case", "raise a complaint",
    "open a ticket", "open a case", "log a fault", "log a ticket", "book a visit", "book a repair",
    "second line", "level 2", "bring in")
ESCALATION_WEAK = Cues(
    "contact us", "get in touch", "call us", "reach out", "let us know", "our team", "we'll look into",
    "we will look into", "investigat*", "further help", "visit a store", "visit our store", "repair*")
POLITE: dict[str, Cues] = {
    "apology": Cues("sorry", "apologi*"),
    "thanks": Cues("thank*", "appreciat*", "grateful"),
    "help": Cues("happy to help", "glad to help", "here to help", "i can help", "i'll help", "let's get",
                 "let's fix", "let's sort", "let's go", "let's try", "let's look", "let's check",
                 "together", "glad", "happy to hear", "great news"),
    "please": Cues("please", "could you", "would you"),
    "empathy": Cues("i understand", "understandab*", "i know how", "i know this", "frustrating",
                    "don't worry", "no worries", "no problem", "of course", "certainly", "no rush",
                    "i hope"),
}
RUDE = Cues(
    "stupid", "idiot*", "dumb", "obviously", "your fault", "your own fault", "you should have",
    "calm down", "as i said", "as i already said", "i already told you", "read the manual", "rtfm",
    "not my problem", "shut up", "ridiculous", "you people", "clearly you", "you broke",
    "you did it wrong", "you did something wrong", "deal with it", "how hard can it be",
    "figure it out yourself", "stop complaining", "stop whining", "not our fault")
CORRECTION = Cues(
    "not the same", "isn't the same", "aren't the same", "not quite the same", "are different",
    "is different", "different thing*", "different from", "related but", "related, but", "no need",
    "don't need", "do not need", "needn't", "not necessary", "isn't necessary", "unnecessary",
    "mix-up", "mixup*", "mixed up", "misunderst*", "misconception*", "confus*", "clear up",
    "clear that up", "clear this up", "not quite right", "points somewhere", "points elsewhere",
    "somewhere else", "not caused by", "isn't caused by", "not down to", "isn't down to", "unlikely",
    "doesn't mean", "does not mean", "without replacing", "before replacing", "before buying",
    "before getting", "before changing", "i understand why", "easy to confuse", "easy to mix",
    "common mistake", "common belief", "common assumption", "actually", "in fact", "not really",
    "not exactly", "not just", "rather than", "not yet", "won't need", "shouldn't need")
NEGATION = Cues("isn't", "is not", "aren't", "are not", "not", "no", "never", "doesn't", "does not",
                "instead", "different")
RESOLVED = Cues("fixed it", "that fixed", "it's fixed", "works now", "working again", "working now",
                "sorted it", "that sorted", "all working", "problem solved", "is resolved",
                "it's resolved", "that did it", "that worked", "it worked")
STILL = Cues("still", "not", "isn't", "doesn't", "didn't", "no change", "same problem")
ACKNOWLEDGE = Cues("glad", "great news", "good news", "happy to hear", "good to hear", "pleased",
                   "perfect", "brilliant", "wonderful", "great", "excellent", "fantastic")
ASKS_ABOUT = re.compile(r"\bwhat\b[^.!]*\?|\bmeans?\b|\bexplain\b|\bwhat'?s\b", re.I)
"""A customer turn that names the term and matches this asks about it: `term` applies again."""
MARKERS: dict[str, tuple[Any, re.Pattern[str]]] = {
    # label: (cheap pre-check on the analysed answer, the pattern searched in the original text)
    "AI disclaimer": (lambda a: " ai " in a.padded or " language model" in a.padded or " browse" in a.padded,
                      re.compile(r"\bas an ai\b|\blanguage model\b|\bi am an ai\b|\bi'?m an ai\b|"
                                 r"\bi (?:cannot|can'?t) (?:browse|access the internet)\b", re.I)),
    "placeholder": (lambda a: "[" in a.raw or "{" in a.raw or "<" in a.raw or " lorem " in a.padded
                    or " xxx" in a.padded, re.compile(
                        r"\[(?:insert|your|name|phone|number|link|url|company|operator|date)[^\]]*\]|"
                        r"\{\{?\s*\w+\s*\}?\}|<(?:insert|name|number)[^>]*>|lorem ipsum|\bxxx+\b", re.I)),
    "special token": (lambda a: "<" in a.raw or "[" in a.raw or "###" in a.raw,
                      re.compile(r"<\|[^|>]*\|>|</?s>|\[/?INST\]|<unk>|<pad>|###")),
    "URL": (lambda a: "http" in a.lower or "www." in a.lower, re.compile(r"https?://|\bwww\.\S+", re.I)),
    "phone number": (lambda a: any(len(w) >= 3 and w.isdigit() for w in a.words),
                     re.compile(r"(?<![\w.])\+?\d[\d ()-]{6,}\d(?![\w.])")),
    "role tag": (lambda a: any(f" {r} " in a.padded for r in ("user", "assistant", "customer", "agent",
                                                                "system", "human")) and ":" in a.raw,
                 re.compile(r"(?im)^\s*(?:user|assistant|customer|agent|system|human)\s*:")),
}
_DEFINES = re.compile(r"^(?:[^:,]{0,60}[:,]\s*)?(?:the |a |an |your )?([^():,]{1,60}?)(?:\s*\([^)]*\))?"
                      r"\s+(?:is|are|means|refers to|stands for)\s", re.I)
"""'Some background: mesh Wi-Fi (...) is ...' -> 'mesh Wi-Fi': the thing a sentence explains."""
_FIX_OBJECT = re.compile(r"\b(?:need|fix is|get|buy|replace|swap)\b[^.!?]{0,30}?\b(new (?:phone|router|sim card|sim|"
                         r"contract|device|modem|handset|line|plan))\b")
_BLAME = re.compile(r"(?:down to|must be|caused by|blame[sd]?(?: it on)?) ([^.!?]{4,80})")

_GENERAL_VOCAB = frozenset(normalise("""
help fix fixed problem issue issues working work works service network phone device settings setting
account call calls data internet connection router sim restart reset try again sorry thanks thank
happy glad understand hello hi dear customer support team technician specialist escalate contact
check steps step first next finally then signal app update software line broadband mobile wifi wi-fi
home travel business plan bill charge charges payment number message messages text texts test tested
minutes seconds hours day days option options menu turn on off switch open tap go select choose
know sure good great right wrong new old same different fine okay ok yes
""").split())


# ---------------------------------------------------------------------------------- helpers

@lru_cache(maxsize=65536)
def _norm(text: str) -> str:
    return normalise(text)


def _clamp(x: float) -> float:
    return round(min(10.0, max(1.0, x)), 2)


def _lin(x: float, lo: float, hi: float) -> float:
    """0 at or below `lo`, 1 at or above `hi`, linear in between."""
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def _names(scenario: Mapping[str, Any]) -> list[str]:
    names = [scenario.get("term") or "", scenario.get("expansion") or "", *(scenario.get("aliases") or [])]
    return [n for n in names if n and n.strip()]


def _named(norm_text: str, names: Sequence[str]) -> str | None:
    return next((n for n in names if has_name(norm_text, _norm(n))), None)


@dataclass(frozen=True)
class _Text:
    """One analysed text (an answer or a conversation history)."""

    raw: str
    lower: str
    words: list[str]
    """`split_words`: case kept."""
    norm: str
    padded: str
    """" " + norm + " ", for `Cues`."""
    content: frozenset[str]
    sentences: list[tuple[str, str]]
    """(raw sentence, padded normalised sentence)."""
    chunks: tuple[frozenset[str], ...]
    """Content words of each sentence (or list item) and of each pair of adjacent ones."""


def _analyse(text: str) -> _Text:
    sents, words = [], []
    for sent in sentences(text):  # sentences split on white space only, so no word is cut
        ws = split_words(sent)
        words.extend(ws)
        sents.append((sent, " " + " ".join(ws).lower() + " "))
    norm = " ".join(words).lower()
    per_sentence = [content_of_tokens(p.split()) for _, p in sents]
    pairs = [a | b for a, b in zip(per_sentence, per_sentence[1:])]
    return _Text(text, text.lower(), words, norm, " " + norm + " ", frozenset().union(*per_sentence),
                 sents, tuple(per_sentence + pairs))


_analyse_history = lru_cache(maxsize=4096)(_analyse)
"""`_analyse` for conversation histories, which repeat across the answers judged on them."""


def step_match(step: str, text: _Text) -> float:
    """How well a text covers one resolution step, 0-1: the larger of the step's best
    content-word recall within one sentence (or two adjacent ones) and its fuzzy
    `partial_ratio` against the whole text minus FUZZY_DISCOUNT."""
    wanted = content_words(step)
    if not wanted or not text.norm:
        return 0.0
    kw = max((len(wanted & c) for c in text.chunks), default=0) / len(wanted)
    if kw >= STEP_COVERED:
        return kw
    return max(kw, fuzz.partial_ratio(_norm(step), text.norm) / 100 - FUZZY_DISCOUNT, 0.0)


@dataclass(frozen=True)
class _History:
    earlier: str
    """Every assistant turn before the answer, joined."""
    customer: str
    """Every customer turn, joined."""
    last_customer: str
    misconception: str | None
    misconception_other: str | None

    @property
    def resolved(self) -> bool:
        """The last customer turn says the problem is fixed (after some help)."""
        if not self.earlier:
            return False
        padded = " " + _norm(self.last_customer) + " "
        return RESOLVED.first(padded) is not None and STILL.first(padded) is None


def _history(conversation: Mapping[str, Any] | None) -> _History:
    if not conversation:
        return _History("", "", "", None, None)
    messages = list(conversation.get("messages") or [])
    users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
    turns = messages[: users[-1] + 1] if users else []
    earlier = "\n".join(m.get("content") or "" for m in turns if m.get("role") == "assistant")
    customer = "\n".join(m.get("content") or "" for m in turns if m.get("role") == "user")
    last = (turns[-1].get("content") or "") if turns else ""
    raw = conversation.get("misconception")
    kind, other = (raw.get("kind"), raw.get("other")) if isinstance(raw, Mapping) else (raw, None)
    return _History(earlier, customer, last, kind or None, other or None)


@lru_cache(maxsize=4096)
def _scenario_text(key: tuple[str, ...]) -> str:
    return "\n".join(key)


def _scenario_blob(scenario: Mapping[str, Any]) -> str:
    """Every text field of the scenario, joined (cached on their values)."""
    return _scenario_text(tuple(str(scenario.get(k) or "") for k in (
        "term", "expansion", "aliases", "definition", "symptoms", "resolution_steps", "escalate_when",
        "related", "cause_description", "context_description")))


@lru_cache(maxsize=4096)
def _vocabulary(blob: str) -> frozenset[str]:
    return frozenset(normalise(blob).split()) | _GENERAL_VOCAB


def _grams(toks: list[str], n: int = 4) -> set[tuple[str, ...]]:
    return set(zip(*(toks[i:] for i in range(n))))


def _degenerate(ans: _Text, conversation: Mapping[str, Any] | None) -> str | None:
    """"copies the conversation" or "loops" when the answer is one of those, else None."""
    toks = ans.norm.split()
    rep = repetition(toks, [p for _, p in ans.sentences])
    if rep >= LOOP_SHARE:
        return f"loops ({rep:.0%} repeated)"
    grams = _grams(toks)
    if conversation and grams:
        messages = list(conversation.get("messages") or [])
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        prompt = " ".join(m.get("content") or "" for m in messages[: users[-1] + 1 if users else 0]
                          if m.get("role") in ("system", "user"))
        copied = len(grams & _grams(_norm(prompt).split())) / len(grams)
        if copied >= ECHO_SHARE:
            return f"copies the conversation ({copied:.0%} of its phrases)"
    return None


def overall(criteria: Mapping[str, float]) -> float:
    """The weighted mean of the criteria given (weights from CRITERIA, renormalised)."""
    total = sum(CRITERIA[c] for c in criteria)
    if not total:
        return 1.0
    return _clamp(sum(CRITERIA[c] * v for c, v in criteria.items()) / total)


# ---------------------------------------------------------------------------------- the judge

class RubricJudge:
    """Scores answers against a scenario with the rubric in CRITERIA (see the module doc).

    `glossary_terms` are the telecom names that count as "invented" when an answer uses them
    outside this scenario: either a flat list of names (every term, expansion and alias) or a
    list of groups, one per glossary term (its term, expansion and aliases), which lets the
    aliases of related terms count as related too; `from_glossary` builds the groups. Without
    them, `invented_terms` checks hallucination markers only and off-topic explanations are
    not detected."""

    name = "rubric"

    def __init__(self, glossary_terms: Sequence[str | Sequence[str]] | None = None):
        self._groups: list[list[str]] = [
            [item] if isinstance(item, str) else [n for n in item if n] for item in glossary_terms or []]
        self._matcher = NameMatcher(self._groups)
        self._acronyms = frozenset(n for g in self._groups for n in g if n.isupper())
        self._grounded = lru_cache(maxsize=4096)(self._find_names)
        self._own_groups = lru_cache(maxsize=4096)(self._find_own_groups)

    @classmethod
    def from_glossary(cls, glossary: Any = None) -> "RubricJudge":
        """A judge knowing every term of `glossary`: a `Glossary`, a path to a glossary file, or
        None for the shipped telecom glossary."""
        if glossary is None or isinstance(glossary, (str, Path)):
            from ..data.glossary import load_glossary

            glossary = load_glossary(glossary or Path(__file__).resolve().parents[1] / "glossaries" / "telecom.yaml")
        return cls([t.names() for t in glossary.terms])

    # ------------------------------------------------------------------------------ public API

    def score(self, answer: str, scenario: Mapping[str, Any],
              conversation: Mapping[str, Any] | None = None) -> RubricScore:
        """Score one answer to the scenario (a `Scenario.to_row()` dict, or a `Scenario`) given
        the conversation row (its `messages` up to or past the last customer turn, and its
        `misconception`: None, a kind string, or a dict with `kind` and `other`)."""
        if hasattr(scenario, "to_row"):
            scenario = scenario.to_row()
        scenario = scenario or {}
        answer = answer or ""
        hist = _history(conversation)
        names = _names(scenario)
        if not answer.strip():
            applies = self._applicability(scenario, hist, names)
            crit = {c: 1.0 for c in CRITERIA if c in applies}
            return RubricScore(crit, 1.0, "empty answer", tuple(c for c in CRITERIA if c not in crit))
        ans = _analyse(answer)
        found = self._matcher.find(ans.words) if self._groups else {}
        own = self._own_groups(tuple(_norm(n) for n in [*names, *(scenario.get("related") or [])]))
        mine = self._own_groups(tuple(_norm(n) for n in names))
        applies = self._applicability(scenario, hist, names)

        crit: dict[str, float] = {}
        notes: list[str] = []
        drift = self._explains_other(ans, names, found, mine)
        if "term" in applies or drift:
            crit["term"], note = self._term(ans, scenario, names)
            if drift:
                crit["term"] = min(crit["term"], DRIFT_CAP)
                note = f"explains {drift} instead of {scenario.get('term') or 'the term'}"
            notes.append(note)
        elif names:
            notes.append("term introduced earlier")
        steps, note = self._steps(ans, scenario, hist)
        if steps is not None:
            crit["steps"] = steps
        notes.append(note)
        crit["escalation"], note = self._escalation(ans, scenario, steps if not hist.resolved else None)
        notes.append(note)
        if "misconception" in applies:
            crit["misconception"], note = self._misconception(ans, scenario, hist, names)
        else:
            note = "misconception already corrected" if hist.misconception else "no misconception"
        notes.append(note)
        crit["tone"], note = self._tone(ans, scenario)
        notes.append(note)
        crit["conciseness"], note = self._conciseness(ans)
        notes.append(note)
        crit["invented_terms"], note = self._invented(ans, scenario, hist, found, own)
        notes.append(note)

        if not self._readable(ans, scenario):
            crit = {c: min(v, UNREADABLE_CAP) for c, v in crit.items()}
            notes.insert(0, "not readable English")
        degenerate = _degenerate(ans, conversation)
        if degenerate:
            crit = {c: min(v, DEGENERATE_CAP) for c, v in crit.items()}
            notes.insert(0, degenerate)
        skipped = tuple(c for c in CRITERIA if c not in crit)
        return RubricScore(crit, overall(crit), "; ".join(n for n in notes if n), skipped)

    def compare(self, answer_a: str, answer_b: str, scenario: Mapping[str, Any],
                conversation: Mapping[str, Any] | None = None) -> RubricComparison:
        """Pairwise verdict from the two overall scores: "A", "B", or "tie" within TIE_MARGIN."""
        a = self.score(answer_a, scenario, conversation)
        b = self.score(answer_b, scenario, conversation)
        diff = a.overall - b.overall
        verdict = "tie" if abs(diff) < TIE_MARGIN else "A" if diff > 0 else "B"
        return RubricComparison(verdict, a, b)

    # ------------------------------------------------------------------------------ applicability

    def _find_names(self, text: str) -> frozenset[str]:
        return frozenset(self._matcher.find(text))

    def _find_own_groups(self, own: tuple[str, ...]) -> frozenset[int]:
        """The glossary groups of the scenario's term and its related terms."""
        wanted = set(own)
        return frozenset(gi for gi, group in enumerate(self._groups) if any(_norm(n) in wanted for n in group))

    def _applicability(self, scenario: Mapping[str, Any], hist: _History, names: list[str]) -> set[str]:
        applies = set(CRITERIA)
        asks = _named(_norm(hist.last_customer), names) and ASKS_ABOUT.search(hist.last_customer)
        if not names or (hist.earlier and _named(_norm(hist.earlier), names) and not asks):
            applies.discard("term")
        if not hist.misconception:
            applies.discard("misconception")
        elif hist.earlier:
            earlier = _analyse_history(hist.earlier)
            if self._misconception(earlier, scenario, hist, names)[0] >= MISCONCEPTION_ADDRESSED:
                applies.discard("misconception")
        if not hist.resolved and not self._expected_steps(scenario, hist):
            applies.discard("steps")
        return applies

    def _expected_steps(self, scenario: Mapping[str, Any], hist: _History) -> list[str]:
        steps = [s for s in scenario.get("resolution_steps") or [] if s and s.strip()]
        if not hist.earlier:
            return steps
        earlier = _analyse_history(hist.earlier)
        return [s for s in steps if step_match(s, earlier) < STEP_COVERED]

    # ------------------------------------------------------------------------------ criteria

    def _explains_other(self, ans: _Text, names: list[str], found: dict[str, frozenset[int]],
                        own: frozenset[int]) -> str | None:
        """The glossary term the answer explains ("X is ...", "X (expansion) means ...") when it
        is not the scenario's term (`own`: its glossary groups) and the scenario's term is not
        explained too."""
        if not any(not gis & own for gis in found.values()):
            return None
        own_names = {_norm(n) for n in names}
        other = None
        for sent, _ in ans.sentences:
            m = _DEFINES.match(sent)
            if not m:
                continue
            subject = _norm(m.group(1))
            if subject in own_names:
                return None
            for name, gis in self._matcher.find(m.group(1)).items():
                if _norm(name) == subject and not gis & own and other is None:
                    other = name
        return other

    def _term(self, ans: _Text, scenario: Mapping[str, Any], names: list[str]) -> tuple[float, str]:
        name_words = frozenset().union(*(content_words(n) for n in names))
        definition = content_words(scenario.get("definition") or "") - name_words
        used = _lin(recall(definition, ans.content), 0.0, DEFINITION_FULL) if definition else 0.0
        label = scenario.get("term") or "the term"
        if _named(ans.norm, names):
            return _clamp(6 + 4 * used), f"names {label}" + (" and explains it" if used >= 1 else "")
        return _clamp(1 + 3 * used), f"does not name {label}"

    def _steps(self, ans: _Text, scenario: Mapping[str, Any], hist: _History) -> tuple[float | None, str]:
        if hist.resolved:
            if ACKNOWLEDGE.first(ans.padded):
                return 10.0, "acknowledges the fix"
            return 3.0, "ignores that the customer says it is fixed"
        expected = self._expected_steps(scenario, hist)
        if not expected:
            return None, "all steps given earlier" if scenario.get("resolution_steps") else "no steps to check"
        matches = [step_match(s, ans) for s in expected]
        covered = sum(m >= STEP_COVERED for m in matches)
        partial = sum(0.5 * _lin(m, STEP_PARTIAL, STEP_COVERED) for m in matches if m < STEP_COVERED)
        left = " remaining" if len(expected) < len(scenario.get("resolution_steps") or []) else ""
        return _clamp(1 + 9 * (covered + partial) / len(expected)), f"covers {covered}/{len(expected)}{left} steps"

    def _escalation(self, ans: _Text, scenario: Mapping[str, Any], steps: float | None) -> tuple[float, str]:
        condition = content_words(scenario.get("escalate_when") or "")
        r = _lin(recall(condition, ans.content), CONDITION_FLOOR, CONDITION_FULL) if condition else 1.0
        if ESCALATION_STRONG.first(ans.padded):
            return _clamp(6 + 4 * r), "says when to escalate" if r >= 1 else "escalates, condition vague"
        if ESCALATION_WEAK.first(ans.padded):
            return _clamp(4 + 3 * r), "offers further contact, no clear escalation"
        well = steps is None or steps >= STEPS_WELL_COVERED
        return _clamp((5 if well else 2) + r), "no escalation"

    def _misconception(self, ans: _Text, scenario: Mapping[str, Any], hist: _History,
                       names: list[str]) -> tuple[float, str]:
        kind = hist.misconception or ""
        subjects = [_norm(s) for s in self._misconception_subjects(kind, scenario, hist, names)]
        subjects = [s for s in subjects if s]
        correct = 0.0
        for _, padded in ans.sentences:
            cue = CORRECTION.first(padded) is not None
            about = any(f" {s} " in padded for s in subjects)
            if cue and about:
                correct = 1.0
                break
            if cue or (about and NEGATION.first(padded)):
                correct = 0.4
        mentions = any(f" {s} " in ans.padded for s in subjects)
        if kind in ("confuses-related", "wrong-meaning"):
            grounded = recall(content_words(scenario.get("definition") or ""), ans.content) >= 0.4
        elif kind == "wrong-blame":
            grounded = recall(content_words(scenario.get("cause_description") or ""), ans.content) >= 0.4
        else:  # wrong-fix: the real checks come first
            grounded = any(step_match(s, ans) >= STEP_COVERED for s in scenario.get("resolution_steps") or [])
        score = _clamp(1 + 5 * correct + 2 * mentions + 2 * grounded)
        label = kind or "misconception"
        if correct >= 1:
            return score, f"corrects the misconception ({label})"
        if correct > 0:
            return score, f"hints at the misconception ({label})"
        return score, f"ignores the misconception ({label})"

    @staticmethod
    def _misconception_subjects(kind: str, scenario: Mapping[str, Any], hist: _History,
                                names: list[str]) -> list[str]:
        """What a correction should be about: the related term, the wrong fix, the wrong blame,
        or (wrong-meaning) the term itself."""
        if kind == "wrong-meaning":
            return names
        if hist.misconception_other:
            return [hist.misconception_other]
        customer = hist.customer
        if kind == "confuses-related":
            related = [r for r in scenario.get("related") or [] if has_name(_norm(customer), _norm(r))]
            return related or list(scenario.get("related") or [])
        if kind == "wrong-fix":
            return [m.group(1) for m in _FIX_OBJECT.finditer(customer.lower())][:1]
        if kind == "wrong-blame":
            return [m.group(1).strip() for m in _BLAME.finditer(customer.lower())][:1]
        return []

    def _tone(self, ans: _Text, scenario: Mapping[str, Any]) -> tuple[float, str]:
        polite = sum(1 for cues in POLITE.values() if cues.first(ans.padded))
        rude = len(RUDE.found(ans.padded))
        caps = [w for w in ans.words if len(w) >= 4 and w.isupper() and w.isalpha()
                and w not in self._acronyms and w not in _scenario_blob(scenario)]
        n_words = max(1, len(ans.words))
        shouting = len(caps) >= 3 or (n_words >= 5 and len(caps) / n_words > 0.2)
        exclaims = ans.raw.count("!!") + ans.raw.count("?!")
        score = 5 + min(5.0, 2.0 * polite) - 3 * rude - 3 * shouting - min(2, exclaims)
        if rude:
            note = "rude or blaming"
        elif shouting:
            note = "shouting"
        else:
            note = "polite" if polite >= 2 else "courteous" if polite else "neutral tone"
        return _clamp(score), note

    @staticmethod
    def _conciseness(ans: _Text) -> tuple[float, str]:
        n = len(ans.words)
        if n < SHORT_WORDS:
            length, note = 2 + 4 * n / SHORT_WORDS, f"too short ({n} words)"
        elif n < GOOD_WORDS:
            length, note = 6 + 4 * (n - SHORT_WORDS) / (GOOD_WORDS - SHORT_WORDS), f"brief ({n} words)"
        elif n <= LONG_WORDS:
            length, note = 10.0, f"{n} words"
        elif n <= VERY_LONG_WORDS:
            length = 10 - 6 * (n - LONG_WORDS) / (VERY_LONG_WORDS - LONG_WORDS)
            note = f"long ({n} words)"
        else:
            length, note = 3.0, f"far too long ({n} words)"
        rep = repetition(ans.norm.split(), [p for _, p in ans.sentences])
        if rep > REPETITION_FREE:
            note += f", repetitive ({rep:.0%} repeated)"
        return _clamp(length - REPETITION_COST * max(0.0, rep - REPETITION_FREE)), note

    def _invented(self, ans: _Text, scenario: Mapping[str, Any], hist: _History,
                  found: dict[str, frozenset[int]], own: frozenset[int]) -> tuple[float, str]:
        invented: list[str] = []
        candidates = {name: gis for name, gis in found.items() if not gis & own}
        if candidates:
            grounding = "\n".join([_scenario_blob(scenario), hist.earlier, hist.customer])
            grounded = self._grounded(grounding)
            seen: set[int] = set()
            for name, gis in candidates.items():
                if name in grounded or gis <= seen:
                    continue
                seen |= gis
                invented.append(name)
        markers = [label for label, (maybe, rx) in MARKERS.items() if maybe(ans) and rx.search(ans.raw)]
        score = _clamp(10 - INVENTED_COST * len(invented) - MARKER_COST * len(markers))
        notes = []
        if invented:
            notes.append("unrelated terms: " + ", ".join(invented[:4]) + (" ..." if len(invented) > 4 else ""))
        if markers:
            notes.append("hallucination markers: " + ", ".join(markers))
        return score, "; ".join(notes) or "no invented terms"

    @staticmethod
    def _readable(ans: _Text, scenario: Mapping[str, Any]) -> bool:
        """At least READABLE_SHARE of the answer's letters are in English function words, the
        scenario's own words or common support words (checked from READABLE_MIN_CHARS on)."""
        toks = ans.norm.split()[:READABLE_SAMPLE]
        total = sum(map(len, toks))
        if total < READABLE_MIN_CHARS:
            return True
        vocab = _vocabulary(_scenario_blob(scenario))
        known = sum(len(t) for t in toks if t in STOPWORDS or t in vocab or t.isdigit())
        return known / total >= READABLE_SHARE
