"""JSON replies with validation and re-asking: `complete_json` / `complete_json_many`.

A reply that is not JSON, or fails `validate`, is answered with a correction ("your reply was
not usable because ...; reply with JSON only") and asked again, up to `max_attempts`. The
outcome is a typed result, never an exception for bad output: callers count and report
failures (`reason`) instead of crashing a long run on one bad judge reply.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from .base import JSON_ONLY_INSTRUCTION, ChatRequest, Completion, LLMError, Usage, short, sum_usage

T = TypeVar("T")
_FENCE = re.compile(r"```(?:json|JSON)?\s*\n?(.*?)```", re.DOTALL)


@dataclass(frozen=True)
class JsonOutcome(Generic[T]):
    ok: bool
    value: T | None
    raw: str
    """The last reply's text ('' if the backend never answered)."""
    reason: str | None
    """Why not ok: `invalid_json`, `schema: <message>` or `backend_error: <message>`."""
    attempts: int
    usage: Usage = field(default_factory=Usage)
    """Summed over all attempts."""


class InvalidJson(ValueError):
    pass


def extract_json(text: str) -> Any:
    """Parse a reply that should be JSON but may be fenced or wrapped in prose: the whole text,
    else the inside of a ``` fence, else the first `{...}` object in it."""
    candidates = [text.strip()] + [m.strip() for m in _FENCE.findall(text)]
    for candidate in candidates:
        try:
            return json.loads(candidate)
        except ValueError:
            pass
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            return decoder.raw_decode(text, match.start())[0]
        except ValueError:
            pass
    raise InvalidJson("no JSON object found")


def _reask(original: ChatRequest, attempt: int, bad_reply: str, problem: str) -> ChatRequest:
    # Built from the original messages plus only the last bad reply: the prompt stays short.
    correction = f"Your reply was not usable ({problem}). {JSON_ONLY_INSTRUCTION}"
    messages = original.messages + ({"role": "assistant", "content": bad_reply},
                                     {"role": "user", "content": correction})
    return replace(original, messages=messages, attempt=original.attempt + attempt)


def _check(text: str, validate: Callable[[Any], T]) -> tuple[T | None, str | None]:
    """(value, None) when usable, else (None, reason)."""
    try:
        data = extract_json(text)
    except InvalidJson:
        return None, "invalid_json"
    try:
        return validate(data), None
    except (ValueError, TypeError, KeyError) as exc:  # pydantic's ValidationError is a ValueError
        return None, f"schema: {short(str(exc), 500)}"


@dataclass
class _Job:
    original: ChatRequest
    request: ChatRequest
    validate: Callable[[Any], Any]
    usages: list[Usage] = field(default_factory=list)
    last_raw: str = ""
    outcome: JsonOutcome | None = None


def complete_json_many(client, requests: list[ChatRequest],
                       validate: Callable[[Any], T] | Sequence[Callable[[Any], T]],
                       max_attempts: int = 3) -> list[JsonOutcome[T]]:
    """One `client.complete_many` per round over the still-unfinished requests, so a local
    backend batches them and a remote one runs them concurrently. `validate` is one function
    for all requests or one per request (when what is valid depends on the request)."""
    validators = list(validate) if isinstance(validate, Sequence) else [validate] * len(requests)
    if len(validators) != len(requests):
        raise ValueError(f"{len(validators)} validators for {len(requests)} requests")
    jobs = [_Job(r, r, v) for r, v in zip(requests, validators)]
    for attempt in range(1, max_attempts + 1):
        pending = [j for j in jobs if j.outcome is None]
        if not pending:
            break
        replies = client.complete_many([j.request for j in pending])
        for job, reply in zip(pending, replies):
            _settle(job, reply, job.validate, attempt, max_attempts)
    return [j.outcome for j in jobs]  # type: ignore[misc]


def _settle(job: _Job, reply: Completion | LLMError, validate: Callable[[Any], T], attempt: int,
            max_attempts: int) -> None:
    if isinstance(reply, LLMError):  # the retry layer already retried; re-asking will not help
        job.outcome = JsonOutcome(False, None, job.last_raw, f"backend_error: {short(str(reply))}", attempt,
                                  sum_usage(job.usages))
        return
    job.usages.append(reply.usage)
    job.last_raw = reply.text
    value, reason = _check(reply.text, validate)
    if reason is None or attempt == max_attempts:
        job.outcome = JsonOutcome(reason is None, value, reply.text, reason, attempt, sum_usage(job.usages))
    else:
        job.request = _reask(job.original, attempt, reply.text, reason)


def complete_json(client, request: ChatRequest, validate: Callable[[Any], T],
                  max_attempts: int = 3) -> JsonOutcome[T]:
    return complete_json_many(client, [request], validate, max_attempts)[0]
