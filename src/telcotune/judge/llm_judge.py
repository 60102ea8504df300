"""An LLM as a judge (`openai:`, `anthropic:`, `gemini:`, `local:`), through the shared client
(bounded concurrency, retries, on-disk cache): versioned prompts, JSON replies validated and
re-asked, unparseable replies recorded as such."""

from __future__ import annotations

from typing import Any

from ..llm.base import ChatRequest
from ..llm.structured import JsonOutcome, complete_json_many
from ..prompts import load_prompt
from .base import Judgment, PairItem, PointwiseItem, JudgeContext, winner_of

PROMPT_VERSION = "v1"
CRITERIA = ("accuracy", "helpfulness", "grounding", "tone", "conciseness")
# A small local model drifts off JSON without a start; remote models get no prefill.
POINTWISE_PREFILL = '{"accuracy": '
PAIRWISE_PREFILL = '{"verdict": "'


def _score(value: Any, key: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number from 1 to 10, got {value!r}") from None
    if not 1 <= number <= 10:
        raise ValueError(f"{key} must be from 1 to 10, got {number:g}")
    return number


def parse_pointwise(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict) or "overall" not in data:
        raise ValueError('expected {"overall": N, ...} with scores from 1 to 10')
    scores = {k: _score(data[k], k) for k in CRITERIA if k in data}
    return {"scores": scores, "overall": _score(data["overall"], "overall"),
            "rationale": str(data.get("rationale", ""))[:500]}


def parse_pairwise(data: Any) -> dict[str, Any]:
    verdict = str(data.get("verdict", "")).strip() if isinstance(data, dict) else ""
    normalised = {"a": "A", "b": "B", "tie": "tie"}.get(verdict.lower())
    if normalised is None:
        raise ValueError(f'verdict must be "A", "B" or "tie", got {verdict!r}')
    return {"verdict": normalised, "rationale": str(data.get("rationale", ""))[:500]}


def _reference(context: JudgeContext) -> str:
    sc = context.scenario
    if not sc:
        return ""
    steps = "; ".join(sc.get("resolution_steps", []))
    return (f"\nReference information about the customer's problem:\nTerm: {sc['term']}: {sc.get('definition', '')}\n"
            f"Correct resolution steps, in order: {steps}\nEscalate when: {sc.get('escalate_when', '')}\n")


def _conversation(context: JudgeContext) -> str:
    names = {"user": "Customer", "assistant": "Assistant"}
    return "\n".join(f"{names[m['role']]}: {m['content']}" for m in context.messages if m["role"] in names)


class LLMJudge:
    def __init__(self, name: str, client, max_tokens: int = 300):
        self.name = name
        self.client = client
        self.local = name.startswith("local:")
        self.max_tokens = 60 if self.local else max_tokens

    def _request(self, text: str, prefill: str) -> ChatRequest:
        return ChatRequest(messages=({"role": "user", "content": text},), temperature=0.0,
                           max_tokens=self.max_tokens, json_mode=True, seed=0,
                           prefill=prefill if self.local else None)

    def pointwise(self, items: list[PointwiseItem]) -> list[Judgment]:
        template = load_prompt("judge", f"pointwise_{PROMPT_VERSION}")
        requests = [self._request(template.format(reference=_reference(i.context), conversation=_conversation(i.context),
                                                  answer=i.answer), POINTWISE_PREFILL) for i in items]
        outcomes = complete_json_many(self.client, requests, parse_pointwise, max_attempts=2)
        return [self._pointwise_judgment(i, o) for i, o in zip(items, outcomes)]

    def pairwise(self, items: list[PairItem]) -> list[Judgment]:
        template = load_prompt("judge", f"pairwise_{PROMPT_VERSION}")
        requests = [self._request(template.format(reference=_reference(i.context), conversation=_conversation(i.context),
                                                  answer_a=i.answer_a, answer_b=i.answer_b), PAIRWISE_PREFILL)
                    for i in items]
        outcomes = complete_json_many(self.client, requests, parse_pairwise, max_attempts=2)
        return [self._pairwise_judgment(i, o) for i, o in zip(items, outcomes)]

    def _failed(self, outcome: JsonOutcome) -> dict[str, Any]:
        status = "error" if (outcome.reason or "").startswith("backend_error") else "unparseable"
        return {"status": status, "raw": outcome.raw, "reason": outcome.reason}

    def _pointwise_judgment(self, item: PointwiseItem, outcome: JsonOutcome) -> Judgment:
        common = dict(judge=self.name, protocol="pointwise", prompt_id=item.context.prompt_id, runs=[item.run],
                      prompt_version=PROMPT_VERSION)
        if not outcome.ok:
            return Judgment(**common, **self._failed(outcome))
        value = outcome.value
        return Judgment(**common, status="ok", scores=value["scores"], overall=value["overall"],
                        rationale=value["rationale"])

    def _pairwise_judgment(self, item: PairItem, outcome: JsonOutcome) -> Judgment:
        common = dict(judge=self.name, protocol="pairwise", prompt_id=item.context.prompt_id,
                      runs=[item.run_a, item.run_b], order=item.order, prompt_version=PROMPT_VERSION)
        if not outcome.ok:
            return Judgment(**common, **self._failed(outcome))
        verdict = outcome.value["verdict"]
        return Judgment(**common, status="ok", verdict=verdict, winner=winner_of(verdict, item.run_a, item.run_b),
                        rationale=outcome.value["rationale"])
