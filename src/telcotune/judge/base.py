"""What every judge takes and returns. Judges are swappable (rubric, local model, OpenAI,
Anthropic, Gemini) and all return `Judgment`s of one shape; a reply that cannot be parsed is a
judgment with status `unparseable` and the raw reply, never a placeholder score."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

Status = Literal["ok", "unparseable", "error"]
Verdict = Literal["A", "B", "tie"]
Method = Literal["logprob", "text", "rule", "embedding"]
"""How a judgment was made: `logprob` (expectation over the score tokens' probabilities, or the
normalised probabilities of A, B and tie), `text` (parsed from the reply), `rule` (the rubric),
`embedding` (the semantic judge)."""


@dataclass(frozen=True)
class JudgeContext:
    """One evaluation prompt as a judge sees it."""

    prompt_id: str
    messages: list[dict[str, str]]
    """The conversation up to the customer's last turn (system message included)."""
    reference: str
    scenario: dict[str, Any] | None
    """The scenario row (term, definition, steps, ...) where the prompt came from the data set."""
    misconception: str | None


@dataclass(frozen=True)
class PointwiseItem:
    context: JudgeContext
    run: str
    answer: str


@dataclass(frozen=True)
class PairItem:
    context: JudgeContext
    run_a: str
    """The run whose answer is shown first (as A)."""
    answer_a: str
    run_b: str
    answer_b: str
    order: Literal["ab", "ba"]
    """`ab`: the pair's first run is shown first; `ba`: the same pair with the answers swapped."""


@dataclass(frozen=True)
class Judgment:
    judge: str
    protocol: Literal["pointwise", "pairwise"]
    prompt_id: str
    runs: list[str]
    """Pointwise: [run]. Pairwise: [shown first, shown second]."""
    status: Status
    order: str | None = None
    scores: dict[str, float] | None = None
    overall: float | None = None
    verdict: Verdict | None = None
    winner: str | None = None
    """Pairwise: the winning run's name, or None for a tie."""
    rationale: str = ""
    raw: str | None = None
    """The judge's reply when it could not be parsed (kept for inspection)."""
    reason: str | None = None
    prompt_version: str | None = None
    method: Method | None = None
    """Set on every `ok` judgment; None on a failed one (nothing was produced)."""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@runtime_checkable
class Judge(Protocol):
    name: str
    """The judge's spec, e.g. `rubric`, `openai:gpt-5.2`."""

    def pointwise(self, items: list[PointwiseItem]) -> list[Judgment]: ...

    def pairwise(self, items: list[PairItem]) -> list[Judgment]: ...


def judge_slug(name: str) -> str:
    """A file-name-safe form of a judge spec: `openai:gpt-5.2@http://h/v1` -> `openai-gpt-5.2-h-v1`."""
    slug = re.sub(r"^https?://", "", name.replace("@http://", "@").replace("@https://", "@"))
    return re.sub(r"[^A-Za-z0-9._]+", "-", slug).strip("-")


def winner_of(verdict: Verdict, run_a: str, run_b: str) -> str | None:
    return {"A": run_a, "B": run_b, "tie": None}[verdict]
