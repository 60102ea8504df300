"""An LLM as a judge (`openai:`, `anthropic:`, `gemini:`, `local:`), through the shared client
(bounded concurrency, retries, on-disk cache): versioned prompts that ask for the score (or
verdict) first, scored from token log-probabilities where the backend gives them (G-Eval,
`logprob.py`), else from the JSON reply, validated and re-asked; unparseable replies are
recorded as such, and every judgment says which `method` produced it.

`local:` judges answer from one forward pass: the prompt with the reply begun up to the score
(`{"overall": `), so no token is generated and the rationale is left out. Remote judges write
their whole JSON reply; where the server returns `top_logprobs`, the score is read from the
distribution at the score position and the rationale is kept."""

from __future__ import annotations

from typing import Any

from ..llm.base import ChatRequest, Completion, LLMError
from ..llm.structured import InvalidJson, JsonOutcome, complete_json_many, extract_json
from ..prompts import load_prompt
from .base import Judgment, PairItem, PointwiseItem, JudgeContext, winner_of
from .logprob import NoScoreToken, score_from_completion, verdict_from_completion

PROMPT_VERSION = "v2"
CRITERIA = ("accuracy", "helpfulness", "grounding", "tone", "conciseness")
# The local judge's reply starts at the score, so its next token is the score; remote models
# get no prefill (their APIs have none).
POINTWISE_PREFILL = '{"overall": '
PAIRWISE_PREFILL = '{"verdict": "'
TOP_LOGPROBS = 20
"""Alternatives asked for at each reply position (OpenAI's maximum)."""
TEN_PROBE = "1"
"""Teacher-forced after the local judge's prefill: the chance that a "1" goes on as "10"."""
SCORE_CHOICES = tuple(str(s) for s in range(1, 11))
VERDICT_CHOICES = ("A", "B", "tie")
"""What the local judge may answer at the score (verdict) position, read from its whole
distribution: its judgment is the choice among these, never "unparseable"."""


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
        self.max_tokens = 1 if self.local else max_tokens

    def _request(self, text: str, prefill: str, choices: tuple[str, ...], probe: str | None = None) -> ChatRequest:
        local = {"prefill": prefill, "logprob_probe": probe, "logprob_choices": choices} if self.local else {}
        return ChatRequest(messages=({"role": "user", "content": text},), temperature=0.0,
                           max_tokens=self.max_tokens, json_mode=True, seed=0, top_logprobs=TOP_LOGPROBS, **local)

    def pointwise(self, items: list[PointwiseItem]) -> list[Judgment]:
        template = load_prompt("judge", f"pointwise_{PROMPT_VERSION}")
        requests = [self._request(template.format(reference=_reference(i.context), conversation=_conversation(i.context),
                                                  answer=i.answer), POINTWISE_PREFILL, SCORE_CHOICES, TEN_PROBE)
                    for i in items]
        replies = self.client.complete_many(requests)
        by_text = self._text_outcomes(requests, replies, parse_pointwise)
        return [self._pointwise_judgment(item, reply, by_text.get(k)) for k, (item, reply) in enumerate(zip(items, replies))]

    def pairwise(self, items: list[PairItem]) -> list[Judgment]:
        template = load_prompt("judge", f"pairwise_{PROMPT_VERSION}")
        requests = [self._request(template.format(reference=_reference(i.context), conversation=_conversation(i.context),
                                                  answer_a=i.answer_a, answer_b=i.answer_b), PAIRWISE_PREFILL,
                                    VERDICT_CHOICES)
                    for i in items]
        replies = self.client.complete_many(requests)
        by_text = self._text_outcomes(requests, replies, parse_pairwise)
        return [self._pairwise_judgment(item, reply, by_text.get(k)) for k, (item, reply) in enumerate(zip(items, replies))]

    def _text_outcomes(self, requests: list[ChatRequest], replies: list, parse) -> dict[int, JsonOutcome]:
        """Text parsing, for replies that came without log-probabilities (Anthropic, Gemini,
        servers without `logprobs`); a reply that does not parse is re-asked once (its first
        attempt is answered from the cache, so only the re-ask reaches the backend)."""
        plain = [k for k, r in enumerate(replies) if isinstance(r, Completion) and r.top_logprobs is None]
        first = {k: _parse_once(replies[k].text, parse) for k in plain}
        again = [k for k in plain if not first[k].ok]
        if again:
            outcomes = complete_json_many(self.client, [requests[k] for k in again], parse, max_attempts=2)
            first.update(zip(again, outcomes))
        return first

    def _common(self, protocol: str, item, runs: list[str], order: str | None = None) -> dict[str, Any]:
        return dict(judge=self.name, protocol=protocol, prompt_id=item.context.prompt_id, runs=runs,
                    order=order, prompt_version=PROMPT_VERSION)

    def _pointwise_judgment(self, item: PointwiseItem, reply, text: JsonOutcome | None) -> Judgment:
        common = self._common("pointwise", item, [item.run])
        if isinstance(reply, LLMError):
            return Judgment(**common, status="error", reason=f"backend_error: {reply}")
        if text is not None:
            return self._pointwise_from_text(common, text)
        try:
            scored = score_from_completion(reply)
        except NoScoreToken as exc:
            return self._pointwise_from_text(common, _parse_once(reply.text, parse_pointwise), str(exc))
        rest = _parse_quietly(reply.text, parse_pointwise)
        return Judgment(**common, status="ok", method="logprob", overall=round(scored.score, 4),
                        scores=rest["scores"] if rest else None, rationale=rest["rationale"] if rest else "",
                        extra={"score_distribution": scored.to_dict()})

    def _pointwise_from_text(self, common: dict, outcome: JsonOutcome, logprob_reason: str | None = None) -> Judgment:
        if not outcome.ok:
            return Judgment(**common, **_failed(outcome, logprob_reason))
        value = outcome.value
        return Judgment(**common, status="ok", method="text", scores=value["scores"], overall=value["overall"],
                        rationale=value["rationale"])

    def _pairwise_judgment(self, item: PairItem, reply, text: JsonOutcome | None) -> Judgment:
        common = self._common("pairwise", item, [item.run_a, item.run_b], item.order)
        if isinstance(reply, LLMError):
            return Judgment(**common, status="error", reason=f"backend_error: {reply}")
        if text is not None:
            return self._pairwise_from_text(common, item, text)
        try:
            judged = verdict_from_completion(reply)
        except NoScoreToken as exc:
            return self._pairwise_from_text(common, item, _parse_once(reply.text, parse_pairwise), str(exc))
        rest = _parse_quietly(reply.text, parse_pairwise)
        return Judgment(**common, status="ok", method="logprob", verdict=judged.verdict,
                        winner=winner_of(judged.verdict, item.run_a, item.run_b),
                        rationale=rest["rationale"] if rest else "", extra={"verdict_probabilities": judged.to_dict()})

    def _pairwise_from_text(self, common: dict, item: PairItem, outcome: JsonOutcome,
                            logprob_reason: str | None = None) -> Judgment:
        if not outcome.ok:
            return Judgment(**common, **_failed(outcome, logprob_reason))
        verdict = outcome.value["verdict"]
        return Judgment(**common, status="ok", method="text", verdict=verdict,
                        winner=winner_of(verdict, item.run_a, item.run_b), rationale=outcome.value["rationale"])


def _parse_once(text: str, parse) -> JsonOutcome:
    """The reply text parsed once, without re-asking (a logprob reply that missed its score)."""
    try:
        return JsonOutcome(True, parse(extract_json(text)), text, None, 1)
    except InvalidJson:
        return JsonOutcome(False, None, text, "invalid_json", 1)
    except (ValueError, TypeError, KeyError) as exc:
        return JsonOutcome(False, None, text, f"schema: {exc}", 1)


def _parse_quietly(text: str, parse) -> dict[str, Any] | None:
    """The rest of a logprob reply (criteria, rationale) where it parses; a local judge's
    one-token reply has none."""
    outcome = _parse_once(text, parse)
    return outcome.value if outcome.ok else None


def _failed(outcome: JsonOutcome, logprob_reason: str | None = None) -> dict[str, Any]:
    status = "error" if (outcome.reason or "").startswith("backend_error") else "unparseable"
    reason = outcome.reason if logprob_reason is None else f"{logprob_reason}; text: {outcome.reason}"
    return {"status": status, "raw": outcome.raw, "reason": reason}
