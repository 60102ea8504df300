"""Which evaluation answers people rate, most informative first.

Pairwise items are (prompt, two runs). Their order of priority:

1. the LLM judges name different outcomes for the pair on this prompt (one says A, another B
   or tie): people settle a real disagreement;
2. a judge contradicts itself across the two presentation orders (position bias);
3. then by how close the judges place the two runs overall (mean absolute difference of the
   runs' ranks over judges): close runs are where a ranking is least certain.

A seeded hash breaks the remaining ties, so the pool is the same on every start. Pointwise items
are (prompt, run); prompts whose answers the judges score most differently come first, and a
prompt's answers stay together so people rate several runs on the same prompt (which makes
their scores comparable within a prompt).

Every item gets a presentation order (which answer is A) from the same seeded hash, stored with
the item. Items come from the evaluation's answers only.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from statistics import fmean
from typing import Literal

from ..rank.judge_source import judge_scores
from ..rank.ranks import competition_ranks
from .outcomes import judge_pair_outcomes
from .study import AnswerBook, JudgeEvidence

Protocol = Literal["pairwise", "pointwise"]
PROTOCOLS: tuple[Protocol, ...] = ("pairwise", "pointwise")


@dataclass(frozen=True)
class Candidate:
    protocol: Protocol
    prompt_id: str
    runs: tuple[str, ...]
    """In presentation order: (shown as A, shown as B), or (run,) for pointwise."""
    priority: int
    """0 is the most informative item."""
    reason: str
    content_sha: str
    """Hash of what a rater sees (conversation and answers): a rating belongs to that text."""


def stable_int(*parts: object) -> int:
    """A hash that is the same in every process (Python's hash() is salted per process)."""
    digest = hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def content_sha(book: AnswerBook, prompt_id: str, runs: Sequence[str]) -> str:
    answers = [book.get(prompt_id, run) for run in runs]
    shown = {"messages": list(answers[0].messages), "answers": sorted((a.run, a.text) for a in answers)}
    return hashlib.sha256(json.dumps(shown, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _run_ranks(judge: JudgeEvidence) -> dict[str, int]:
    source = judge_scores(list(judge.verdicts) or list(judge.rows))
    return competition_ranks(source.scores, higher_is_better=True) if source.scores else {}


def _presentation(seed: int, prompt_id: str, a: str, b: str) -> tuple[str, str]:
    return (a, b) if stable_int(seed, "order", prompt_id, a, b) % 2 == 0 else (b, a)


def pairwise_candidates(book: AnswerBook, judges: Sequence[JudgeEvidence], seed: int) -> list[Candidate]:
    outcomes = [judge_pair_outcomes(j) for j in judges]
    ranks = [_run_ranks(j) for j in judges]
    keyed = []
    for prompt_id, answers in book.by_prompt.items():
        for a, b in combinations(sorted(answers), 2):
            known = [o[(prompt_id, a, b)] for o in outcomes if (prompt_id, a, b) in o]
            gaps = [abs(r[a] - r[b]) for r in ranks if a in r and b in r]
            if len({o.label for o in known}) > 1:
                level, reason = 0, "the LLM judges disagree on this pair"
            elif any(not o.consistent for o in known):
                level, reason = 1, "a judge's verdict flips with the presentation order"
            elif gaps:
                level, reason = 2, f"judges place these runs {fmean(gaps):.1f} ranks apart"
            else:
                level, reason = 3, "no judgment of these runs"
            gap = fmean(gaps) if gaps else math.inf
            keyed.append(((level, gap, stable_int(seed, "pair", prompt_id, a, b)), prompt_id, a, b, reason))
    keyed.sort(key=lambda k: k[0])
    return [Candidate("pairwise", prompt_id, _presentation(seed, prompt_id, a, b), i, reason,
                      content_sha(book, prompt_id, (a, b)))
            for i, (_, prompt_id, a, b, reason) in enumerate(keyed)]


def _score_spreads(judges: Sequence[JudgeEvidence]) -> dict[tuple[str, str], float]:
    """(prompt, run) -> max - min of the judges' mean scores of that answer (judges with a score)."""
    per_judge: dict[tuple[str, str], list[float]] = defaultdict(list)
    for judge in judges:
        scores: dict[tuple[str, str], list[float]] = defaultdict(list)
        for row in judge.rows:
            scores[(row.prompt_id, row.run)].append(row.score)
        for key, values in scores.items():
            per_judge[key].append(fmean(values))
    return {key: max(v) - min(v) for key, v in per_judge.items() if len(v) >= 2}


def pointwise_candidates(book: AnswerBook, judges: Sequence[JudgeEvidence], seed: int) -> list[Candidate]:
    spreads = _score_spreads(judges)
    keyed = []
    for prompt_id, answers in book.by_prompt.items():
        prompt_spread = fmean(spreads.get((prompt_id, run), 0.0) for run in answers)
        for run in sorted(answers):
            spread = spreads.get((prompt_id, run))
            reason = (f"the LLM judges' scores differ by {spread:g}" if spread is not None
                      else "fewer than two judges scored this answer")
            keyed.append(((-prompt_spread, stable_int(seed, "prompt", prompt_id), -(spread or 0.0),
                           stable_int(seed, "answer", prompt_id, run)), prompt_id, run, reason))
    keyed.sort(key=lambda k: k[0])
    return [Candidate("pointwise", prompt_id, (run,), i, reason, content_sha(book, prompt_id, (run,)))
            for i, (_, prompt_id, run, reason) in enumerate(keyed)]


def candidates(book: AnswerBook, judges: Sequence[JudgeEvidence], protocol: Protocol, seed: int) -> list[Candidate]:
    if protocol == "pairwise":
        return pairwise_candidates(book, judges, seed)
    return pointwise_candidates(book, judges, seed)
