"""The records of people's ratings: what a rater answers, and a rating as stored.

Pairwise: the rater saw two answers, A and B, and chose one of `HUMAN_VERDICTS`; "both bad"
says neither answer is acceptable and counts as a tie in every preference statistic. Pointwise:
the rater scored one answer from 1 to 10 on the judges' criteria plus overall.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

from ..errors import TelcotuneError
from ..judge.llm_judge import CRITERIA

HumanVerdict = Literal["A", "B", "tie", "both_bad"]
HUMAN_VERDICTS: tuple[HumanVerdict, ...] = ("A", "B", "tie", "both_bad")
SCORE_FIELDS: tuple[str, ...] = (*CRITERIA, "overall")
"""The judges' criteria (judge/llm_judge.py) plus overall, each 1-10."""
CRITERION_HELP = {
    "accuracy": "technically correct, as far as you know",
    "helpfulness": "moves the customer towards a fix with concrete steps in a sensible order",
    "grounding": "uses the technical terms correctly and invents nothing",
    "tone": "polite, empathetic and clear",
    "conciseness": "no padding and no repetition",
    "overall": "how good the answer is as a whole",
}
"""What each score means, worded as in the judges' prompt (prompts/judge/pointwise_v1.txt), except
that people see no reference information, so accuracy rests on their own knowledge."""
SCORE_RANGE = (1, 10)
MAX_COMMENT_CHARS = 2000


class RatingError(TelcotuneError):
    """A rating cannot be taken as sent; `status` is the HTTP status the app answers with."""

    status = 400
    code = "invalid_rating"


class InvalidRating(RatingError):
    status = 422


def check_score(name: str, value: object) -> float:
    low, high = SCORE_RANGE
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InvalidRating(f"{name}: must be a number from {low} to {high}, got {value!r}")
    if not low <= value <= high:
        raise InvalidRating(f"{name}: must be from {low} to {high}, got {value:g}")
    return float(value)


@dataclass(frozen=True)
class Response:
    """What a rater answered for one item."""

    verdict: HumanVerdict | None = None
    scores: dict[str, float] = field(default_factory=dict)
    """Pointwise: criterion -> 1-10, always with `overall`."""
    comment: str = ""

    def checked(self, protocol: str, *, all_criteria: bool) -> "Response":
        """This response if it fits `protocol`; `all_criteria`: every criterion is required (the
        app asks for all), else only overall (ratings imported from elsewhere)."""
        if len(self.comment) > MAX_COMMENT_CHARS:
            raise InvalidRating(f"comment: at most {MAX_COMMENT_CHARS} characters")
        if protocol == "pairwise":
            if self.verdict not in HUMAN_VERDICTS:
                raise InvalidRating(f"verdict: must be one of {', '.join(HUMAN_VERDICTS)}, got {self.verdict!r}")
            if self.scores:
                raise InvalidRating("scores: a pairwise rating has a verdict, not scores")
            return self
        if self.verdict is not None:
            raise InvalidRating("verdict: a pointwise rating has scores, not a verdict")
        unknown = sorted(set(self.scores) - set(SCORE_FIELDS))
        if unknown:
            raise InvalidRating(f"scores: unknown criterion {unknown[0]!r} (known: {', '.join(SCORE_FIELDS)})")
        required = SCORE_FIELDS if all_criteria else ("overall",)
        missing = [name for name in required if name not in self.scores]
        if missing:
            raise InvalidRating(f"scores.{missing[0]}: missing")
        return Response(None, {k: check_score(f"scores.{k}", v) for k, v in self.scores.items()}, self.comment)


@dataclass(frozen=True)
class StoredRating:
    item_id: int
    rater: str
    protocol: Literal["pairwise", "pointwise"]
    prompt_id: str
    runs: tuple[str, ...]
    """As this rater saw them: (A, B), or (run,) for pointwise."""
    verdict: HumanVerdict | None
    scores: dict[str, float]
    comment: str
    rated_at: str
    """ISO 8601 with time zone."""
    source: Literal["app", "import"]

    @property
    def overall(self) -> float | None:
        return self.scores.get("overall")

    @property
    def winner(self) -> str | None:
        """Pairwise: the preferred run; None for a tie or "both bad"."""
        return {"A": self.runs[0], "B": self.runs[-1]}.get(self.verdict or "")

    @property
    def pair(self) -> tuple[str, str]:
        """The two runs sorted by name (pairwise)."""
        low, high = sorted(self.runs)
        return low, high
