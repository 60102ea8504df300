"""Typed records of the reply shapes of OpenAI-compatible servers, Anthropic and Gemini: every
reply is parsed through them, so a reply of the wrong shape (`choices: ["hello"]`,
`usage: [1, 2]`, `prompt_tokens: "lots"`, a missing field) is a `MalformedReply`, which the
backends raise as a retried `TransientLLMError`, never an `AttributeError` that aborts a stage.

Only the fields telcotune reads are declared; others are ignored. Token counts are strict
integers (a string is not a count); a count the server leaves out or sends as null is 0.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, ValidationError

T = TypeVar("T", bound=BaseModel)
Count = StrictInt | None


class MalformedReply(ValueError):
    """A reply that does not have the shape of its API; the message names the first bad field."""


class _Reply(BaseModel):
    # from_attributes: the SDKs hand back objects (their own, leniently built models), not dicts.
    model_config = ConfigDict(extra="ignore", from_attributes=True, frozen=True)


def parse_reply(kind: type[T], data: Any) -> T:
    """`data` (parsed JSON or an SDK object) as a `kind` record, or `MalformedReply`. The message
    names the field and the problem, never the value (it may be huge, or echo a secret)."""
    try:
        return kind.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "reply"
        raise MalformedReply(f"malformed reply: {where}: {first['msg']}") from None


def count(value: int | None) -> int:
    return value or 0


# --- OpenAI chat completions (`POST /chat/completions`) ---

class OpenAIMessage(_Reply):
    content: StrictStr | None = None


class OpenAIChoice(_Reply):
    message: OpenAIMessage
    finish_reason: StrictStr | None = None
    logprobs: Any = None
    """Read leniently by `openai_compat._top_logprobs`: without usable ones the judge parses text."""


class OpenAIUsage(_Reply):
    prompt_tokens: Count = Field(None, ge=0)
    completion_tokens: Count = Field(None, ge=0)


class OpenAIReply(_Reply):
    choices: list[OpenAIChoice] = Field(min_length=1)
    usage: OpenAIUsage | None = None


# --- Anthropic messages (`client.messages.create`) ---

class AnthropicBlock(_Reply):
    type: StrictStr
    text: StrictStr | None = None


class AnthropicUsage(_Reply):
    input_tokens: Count = Field(None, ge=0)
    output_tokens: Count = Field(None, ge=0)


class AnthropicReply(_Reply):
    content: list[AnthropicBlock]
    usage: AnthropicUsage

    def text(self) -> str:
        return "".join(b.text or "" for b in self.content if b.type == "text")


# --- Gemini (`client.models.generate_content`) ---

class GeminiUsage(_Reply):
    prompt_token_count: Count = Field(None, ge=0)
    candidates_token_count: Count = Field(None, ge=0)


class GeminiReply(_Reply):
    text: StrictStr | None = None
    """The SDK's `response.text`: the first candidate's text parts joined; None without text."""
    usage_metadata: GeminiUsage | None = None
