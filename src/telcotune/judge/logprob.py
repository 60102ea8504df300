"""Scores and verdicts from token log-probabilities (G-Eval's probability-weighted scoring).

Where a judge backend returns the most likely tokens with their log-probabilities at the score
position, a pointwise score is the expectation over the score tokens 1-10,

    score = sum_s s * p(s) / sum_s p(s),

and a pairwise verdict comes from the normalised probabilities of "A", "B" and "tie" (the verdict
is the likeliest of the three). Liu et al. (2023), "G-Eval: NLG Evaluation using GPT-4 with
Better Human Alignment", section 2.3: the expectation gives fine-grained, continuous scores
where a sampled integer ties most answers.

Two details of real tokenizers:

- "10" may be one token (OpenAI's) or "1" then "0" (SmolLM2, Llama 2, Qwen). The probability of
  "1" is then split by what follows it: "0" makes 10, a token that is not a digit makes 1, and
  another digit (11-19) is no score at all. `after_one` is that next-token distribution; without
  it, "1" counts as 1.
- From a remote server only the top tokens are known. Scores are normalised over the score
  tokens among them; when they hold less than MIN_SCORE_MASS of the probability the judge was
  not answering the question and no score is made (the caller then tries the reply text, or
  records it as unparseable).
- A `local:` judge reads the score (or verdict) tokens' probabilities from the whole
  distribution (`Completion.choice_logprobs`): a choice among them, like a multiple-choice
  question scored by its options, is always defined, so no threshold applies; the mass they
  held is kept with the judgment.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..llm.base import Completion, TokenLogprobs

SCORES = tuple(range(1, 11))
MIN_SCORE_MASS = 0.5
"""Least probability the valid score (or verdict) tokens must hold at the score position."""
SCORE_KEY = re.compile(r'"overall"\s*:\s*$')
"""The reply text just before the overall score (the v2 prompts ask for it first)."""
VERDICT_KEY = re.compile(r'"verdict"\s*:\s*"?\s*$')
VERDICT_TOKENS = {"a": "A", "b": "B", "tie": "tie"}


@dataclass(frozen=True)
class ProbabilityScore:
    score: float
    """The expected score, 1-10."""
    distribution: dict[int, float]
    """Score -> probability, normalised over the score tokens."""
    mass: float
    """Probability the score tokens held before normalising."""

    def to_dict(self) -> dict[str, Any]:
        return {"score": self.score, "distribution": {str(k): v for k, v in self.distribution.items()},
                "mass": self.mass}


@dataclass(frozen=True)
class ProbabilityVerdict:
    verdict: str
    """"A", "B" or "tie": the likeliest."""
    p_a: float
    p_b: float
    p_tie: float
    """Normalised over the three."""
    mass: float

    def to_dict(self) -> dict[str, Any]:
        return {"verdict": self.verdict, "p_a": self.p_a, "p_b": self.p_b, "p_tie": self.p_tie, "mass": self.mass}


class NoScoreToken(ValueError):
    """The distribution at the score position does not answer with a score (or verdict)."""


def _probabilities(top: Mapping[str, float]) -> dict[str, float]:
    return {token: math.exp(logprob) for token, logprob in top.items()}


def _share_of_ten(after_one: Mapping[str, float]) -> float | None:
    """P("1" continues as "10") among the continuations that make a score (None: none known)."""
    probs = _probabilities(after_one)
    ten = sum(p for t, p in probs.items() if t[:1] == "0" and not t[1:2].isdigit())  # "0", "0,"
    one = sum(p for t, p in probs.items() if not t[:1].isdigit())  # ",", "}", " ": the score was 1
    return ten / (ten + one) if ten + one > 0 else None


def expected_score(top: Mapping[str, float], after_one: Mapping[str, float] | None = None,
                   min_mass: float = MIN_SCORE_MASS) -> ProbabilityScore:
    """The expected score from the top tokens at the score position (token text -> log-prob)."""
    mass: dict[int, float] = {}
    for token, p in _probabilities(top).items():
        text = token.strip()
        if not text.isdigit() or int(text) not in SCORES:
            continue
        if text == "1" and after_one is not None:
            ten = _share_of_ten(after_one)
            if ten is not None:
                mass[10] = mass.get(10, 0.0) + p * ten
                mass[1] = mass.get(1, 0.0) + p * (1 - ten)
                continue
        mass[int(text)] = mass.get(int(text), 0.0) + p
    total = sum(mass.values())
    if total <= 0 or total < min_mass:
        raise NoScoreToken(f"score tokens hold {total:.0%} of the probability at the score position "
                           f"(need {min_mass:.0%})")
    distribution = {s: mass[s] / total for s in sorted(mass)}
    return ProbabilityScore(sum(s * p for s, p in distribution.items()), distribution, total)


def verdict_probabilities(top: Mapping[str, float], min_mass: float = MIN_SCORE_MASS) -> ProbabilityVerdict:
    """"A", "B" and "tie" from the top tokens at the verdict position."""
    mass = {"A": 0.0, "B": 0.0, "tie": 0.0}
    for token, p in _probabilities(top).items():
        verdict = VERDICT_TOKENS.get(token.strip().strip('"').strip().lower())
        if verdict is not None:
            mass[verdict] += p
    total = sum(mass.values())
    if total <= 0 or total < min_mass:
        raise NoScoreToken(f"A, B and tie hold {total:.0%} of the probability at the verdict position "
                           f"(need {min_mass:.0%})")
    p = {k: v / total for k, v in mass.items()}
    return ProbabilityVerdict(max(p, key=p.get), p["A"], p["B"], p["tie"], total)


def score_position(completion: Completion, key: re.Pattern[str]) -> int:
    """Index of the reply position holding the value after `key` (e.g. `"overall": `). The reply
    text may start with a prefill the positions do not cover."""
    positions = completion.top_logprobs or ()
    covered = "".join(p.token for p in positions)
    text = completion.text
    before = text[: len(text) - len(covered)] if text.endswith(covered) else ""
    for index, position in enumerate(positions):
        # A blank token (" " before the digit) is not the value, unless it is all there is: a
        # local judge's one-token reply holds the distribution at the score position, whatever won.
        blank = not position.token.strip().strip('"').strip()
        if key.search(before) and (not blank or index == len(positions) - 1):
            return index
        before += position.token
    raise NoScoreToken("the reply has no score where the prompt asked for it")


def score_from_completion(completion: Completion) -> ProbabilityScore:
    if completion.choice_logprobs is not None:
        after_one = completion.probe_logprobs[0] if completion.probe_logprobs else None
        return expected_score(completion.choice_logprobs, after_one, min_mass=0.0)
    positions: Sequence[TokenLogprobs] = completion.top_logprobs or ()
    index = score_position(completion, SCORE_KEY)
    after_one: Mapping[str, float] | None = None
    if completion.probe_logprobs:
        after_one = completion.probe_logprobs[0]
    elif positions[index].token.strip() == "1" and index + 1 < len(positions):
        after_one = positions[index + 1].top  # what followed the "1" the server actually chose
    return expected_score(positions[index].top, after_one)


def verdict_from_completion(completion: Completion) -> ProbabilityVerdict:
    if completion.choice_logprobs is not None:
        return verdict_probabilities(completion.choice_logprobs, min_mass=0.0)
    positions = completion.top_logprobs or ()
    return verdict_probabilities(positions[score_position(completion, VERDICT_KEY)].top)
