"""The `semantic` judge: offline, deterministic and independent of the data generator's wording:
it compares meanings with sentence embeddings (all-MiniLM-L6-v2, `embedder.py`), not words.

Per answer, four parts, each 0-1, then a penalty:

==============  ======  ====================================================================
part            weight  what earns 1
==============  ======  ====================================================================
steps           0.40    every resolution step of the scenario matched by some sentence of the
                        answer: the best cosine per step, credit rising linearly from
                        MATCH_FLOOR to MATCH_FULL, averaged over the steps
escalation      0.10    the escalation condition matched by a sentence (same thresholds)
reference       0.30    the whole answer close to the held-out reference reply (cosine from
                        REFERENCE_FLOOR to REFERENCE_FULL)
relevance       0.20    the answer close to the customer's last turn (RELEVANCE_FLOOR to
                        RELEVANCE_FULL)
==============  ======  ====================================================================

score = 1 + 9 x (weighted mean of the parts that apply) - REPETITION_COST x (repetition -
REPETITION_FREE), clamped to 1-10 (`text.repetition`: repeated 4-grams, duplicate sentences). A
part without its text (no scenario, no reference) is left out and the weights renormalised; an
empty answer scores 1.

A step is matched against each sentence of the answer and, where a sentence strings several
steps together, each of its clauses. Thresholds, from the shipped glossary's data (300
single-turn training conversations) and hand-written paraphrases: a resolution step against its
own conversation's reply has a best cosine of 0.79-0.99 (5th-95th percentile), against a reply
about another term 0.18-0.61 (median 0.37: replies share generic steps such as restarting);
hand paraphrases in other words land at 0.5-0.8, a generic "restart and contact us" answer at
0-0.3 and an unrelated one below 0.15. So MATCH_FULL = 0.60 gives a paraphrase full credit and
MATCH_FLOOR = 0.30 gives a generic answer none. The customer's turn against its own reply:
median 0.54, against another term's 0.32; the reference against a paraphrase 0.65, a generic
answer 0.52, an unrelated one 0.10.

Pairwise verdicts come from the two answers' scores (a tie within TIE_MARGIN), so its position
bias is zero by construction. Answers are embedded in batches and every text once (`Embedder`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import re

import numpy as np

from .base import Judgment, JudgeContext, PairItem, PointwiseItem, winner_of
from .embedder import Embedder
from .text import normalise, repetition, sentences

SEMANTIC = "semantic"
VERSION = "semantic-v1"
WEIGHTS = {"steps": 0.40, "escalation": 0.10, "reference": 0.30, "relevance": 0.20}
MATCH_FLOOR, MATCH_FULL = 0.30, 0.60
REFERENCE_FLOOR, REFERENCE_FULL = 0.30, 0.75
RELEVANCE_FLOOR, RELEVANCE_FULL = 0.25, 0.55
REPETITION_FREE, REPETITION_COST = 0.15, 12.0
TIE_MARGIN = 0.25
MAX_SENTENCES = 40
"""Sentences of an answer compared with the steps (a looping answer's tail adds nothing)."""
_CLAUSE = re.compile(r",\s*(?:and\s+)?(?:then|next|after that|finally)\b|\b(?:and\s+)?then\b|;|,?\s+and\s+", re.I)
"""Where a sentence that strings several steps together ("check X, then reset Y and restart Z")
is cut into clauses: one step is compared with one clause, not with the whole list."""


@dataclass(frozen=True)
class SemanticScore:
    parts: dict[str, float]
    """Part -> 0-1, only the parts that apply."""
    step_similarity: tuple[float, ...]
    """Best cosine per resolution step."""
    repetition: float
    overall: float
    rationale: str

    def to_dict(self) -> dict[str, Any]:
        return {"parts": dict(self.parts), "step_similarity": list(self.step_similarity),
                "repetition": self.repetition, "overall": self.overall, "rationale": self.rationale}


def _lin(x: float, lo: float, hi: float) -> float:
    return min(1.0, max(0.0, (x - lo) / (hi - lo)))


def _last_customer_turn(context: JudgeContext) -> str:
    turns = [m["content"] for m in context.messages if m["role"] == "user"]
    return turns[-1] if turns else ""


class SemanticJudge:
    """Scores answers by embedding similarity; see the module doc."""

    name = SEMANTIC

    def __init__(self, embedder: Embedder | None = None):
        self.embedder = embedder or Embedder()

    def score_many(self, items: Sequence[tuple[str, JudgeContext]]) -> list[SemanticScore]:
        """(answer, context) pairs -> scores, with every text embedded once, in one batched pass."""
        texts: set[str] = set()
        plans = []
        for answer, context in items:
            plan = _Plan.of(answer, context)
            plans.append(plan)
            texts.update(plan.texts())
        ordered = sorted(texts)
        vectors = dict(zip(ordered, self.embedder.embed(ordered)))
        return [plan.score(vectors) for plan in plans]

    def pointwise(self, items: list[PointwiseItem]) -> list[Judgment]:
        scores = self.score_many([(i.answer, i.context) for i in items])
        return [Judgment(judge=self.name, protocol="pointwise", prompt_id=i.context.prompt_id, runs=[i.run],
                         status="ok", scores={k: round(1 + 9 * v, 2) for k, v in s.parts.items()},
                         overall=s.overall, rationale=s.rationale, prompt_version=VERSION, method="embedding")
                for i, s in zip(items, scores)]

    def pairwise(self, items: list[PairItem]) -> list[Judgment]:
        scores = self.score_many([(a, i.context) for i in items for a in (i.answer_a, i.answer_b)])
        out = []
        for k, item in enumerate(items):
            a, b = scores[2 * k], scores[2 * k + 1]
            diff = a.overall - b.overall
            verdict = "tie" if abs(diff) < TIE_MARGIN else "A" if diff > 0 else "B"
            out.append(Judgment(judge=self.name, protocol="pairwise", prompt_id=item.context.prompt_id,
                                runs=[item.run_a, item.run_b], order=item.order, status="ok", verdict=verdict,
                                winner=winner_of(verdict, item.run_a, item.run_b),
                                rationale=f"semantic overall {a.overall:.2f} vs {b.overall:.2f}",
                                prompt_version=VERSION, method="embedding"))
        return out


def _with_clauses(sents: Sequence[str]) -> list[str]:
    """Each sentence, and its clauses where it has several."""
    out = []
    for sentence in sents:
        out.append(sentence)
        clauses = [c.strip(" ,.") for c in _CLAUSE.split(sentence)]
        clauses = [c for c in clauses if len(c.split()) >= 2]
        if len(clauses) > 1:
            out.extend(clauses)
    return out


@dataclass(frozen=True)
class _Plan:
    """What one answer is compared with, before any embedding."""

    answer: str
    sentences: tuple[str, ...]
    """The answer's sentences and their clauses: the units a step is matched against."""
    steps: tuple[str, ...]
    escalation: str
    reference: str
    customer: str
    repetition: float

    @classmethod
    def of(cls, answer: str, context: JudgeContext) -> "_Plan":
        scenario: Mapping[str, Any] = context.scenario or {}
        sents = sentences(answer)
        rep = repetition(normalise(answer).split(), [normalise(s) for s in sents])
        unique = tuple(dict.fromkeys(sents))[:MAX_SENTENCES]
        return cls(answer.strip(), tuple(dict.fromkeys(_with_clauses(unique))), tuple(s for s in scenario.get("resolution_steps") or [] if s.strip()),
                   str(scenario.get("escalate_when") or "").strip(), (context.reference or "").strip(),
                   _last_customer_turn(context).strip(), rep)

    def texts(self) -> list[str]:
        if not self.answer:
            return []
        return [t for t in (self.answer, *self.sentences, *self.steps, self.escalation, self.reference, self.customer)
                if t]

    def score(self, vectors: Mapping[str, np.ndarray]) -> SemanticScore:
        if not self.answer:
            return SemanticScore({}, (), 0.0, 1.0, "empty answer")
        whole = vectors[self.answer]
        sent = np.stack([vectors[s] for s in self.sentences]) if self.sentences else whole[None]
        parts: dict[str, float] = {}
        step_sims: tuple[float, ...] = ()
        notes = []
        if self.steps:
            step_sims = tuple(float((sent @ vectors[s]).max()) for s in self.steps)
            parts["steps"] = float(np.mean([_lin(x, MATCH_FLOOR, MATCH_FULL) for x in step_sims]))
            covered = sum(x >= MATCH_FULL for x in step_sims)
            notes.append(f"covers {covered}/{len(self.steps)} steps")
        if self.escalation:
            parts["escalation"] = _lin(float((sent @ vectors[self.escalation]).max()), MATCH_FLOOR, MATCH_FULL)
            notes.append("names the escalation condition" if parts["escalation"] >= 1 else "escalation unclear")
        if self.reference:
            similarity = float(whole @ vectors[self.reference])
            parts["reference"] = _lin(similarity, REFERENCE_FLOOR, REFERENCE_FULL)
            notes.append(f"reference similarity {similarity:.2f}")
        if self.customer:
            similarity = float(whole @ vectors[self.customer])
            parts["relevance"] = _lin(similarity, RELEVANCE_FLOOR, RELEVANCE_FULL)
            notes.append(f"relevance {similarity:.2f}")
        total = sum(WEIGHTS[p] for p in parts)
        quality = sum(WEIGHTS[p] * v for p, v in parts.items()) / total if total else 0.0
        penalty = REPETITION_COST * max(0.0, self.repetition - REPETITION_FREE)
        if penalty:
            notes.append(f"repetitive ({self.repetition:.0%} repeated)")
        overall = round(min(10.0, max(1.0, 1 + 9 * quality - penalty)), 2)
        return SemanticScore(parts, step_sims, self.repetition, overall, "; ".join(notes))
