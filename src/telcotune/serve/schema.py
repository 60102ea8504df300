"""The slice of the OpenAI chat-completions API this server speaks: the request model (unknown
fields are ignored, as OpenAI clients send many; fields that would change the answer and are not
implemented are refused), and the response, stream-chunk and error bodies."""

from __future__ import annotations

import time
import uuid
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from ..config import DecodingConfig
from .errors import InvalidParameter, RequestRejected, Unsupported
from .streaming import ReplyStats


class TextPart(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    def plain(self) -> dict[str, str]:
        text = self.content if isinstance(self.content, str) else "".join(p.text for p in self.content)
        # `developer` is the newer name OpenAI gives the system role.
        return {"role": "system" if self.role == "developer" else self.role, "content": text}


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")
    include_usage: bool = False


class ResponseFormat(BaseModel):
    model_config = ConfigDict(extra="ignore")
    type: Literal["text", "json_object", "json_schema"]


MAX_STOP_STRINGS = 4
"""As OpenAI: up to 4 stop strings."""
DECODING_FIELDS = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "repetition_penalty")
"""Request fields that override the server's `DecodingConfig` (which holds their bounds)."""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")
    model: str
    messages: list[ChatMessage] = Field(min_length=1, max_length=1000)
    max_tokens: int | None = Field(None, ge=1)
    max_completion_tokens: int | None = Field(None, ge=1)
    temperature: float | None = None
    """Omitted: the server's decoding default (`decoding.temperature`, 0 = greedy)."""
    top_p: float | None = None
    frequency_penalty: float | None = None
    presence_penalty: float | None = None
    repetition_penalty: float | None = None
    """Not OpenAI's, but vLLM's and llama.cpp's name for it."""
    seed: int | None = Field(None, ge=-(2**63), le=2**63 - 1)
    """A 64-bit integer (the sampler's seed)."""
    stream: bool = False
    stream_options: StreamOptions | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    response_format: ResponseFormat | None = None
    tools: list[Any] | None = None

    @field_validator("stop")
    @classmethod
    def _few_stops(cls, stop: str | list[str] | None) -> str | list[str] | None:
        if isinstance(stop, list) and len(stop) > MAX_STOP_STRINGS:
            raise ValueError(f"at most {MAX_STOP_STRINGS} stop strings")
        return stop

    @field_validator("messages")
    @classmethod
    def _ends_with_user(cls, messages: list[ChatMessage]) -> list[ChatMessage]:
        if messages[-1].role != "user":
            raise ValueError("the last message must come from the user")
        return messages

    def check_supported(self) -> None:
        if self.n not in (None, 1):
            raise Unsupported("n: only one choice per request is supported", param="n")
        if self.response_format and self.response_format.type != "text":
            raise Unsupported(f"response_format {self.response_format.type}: this server cannot guarantee JSON "
                              "(no constrained decoding); ask for JSON in the message instead",
                              param="response_format")
        if self.tools:
            raise Unsupported("tools: tool calling is not supported", param="tools")

    def decoding(self, defaults: DecodingConfig) -> DecodingConfig:
        """The server's defaults with this request's overrides, checked against their bounds."""
        given = {name: getattr(self, name) for name in DECODING_FIELDS if getattr(self, name) is not None}
        try:
            return DecodingConfig.model_validate({**defaults.model_dump(), **given})
        except ValidationError as exc:
            error = exc.errors()[0]
            name = str(error["loc"][0])
            raise InvalidParameter(f"{name}: {error['msg']}", param=name) from None

    def stop_strings(self) -> tuple[str, ...]:
        return (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())

    def plain_messages(self) -> list[dict[str, str]]:
        return [m.plain() for m in self.messages]

    def new_tokens(self) -> int | None:
        return self.max_completion_tokens or self.max_tokens

    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class ReplyIds:
    """The id and creation time every chunk of one reply shares."""

    def __init__(self, model: str):
        self.id = f"chatcmpl-{uuid.uuid4().hex}"
        self.created = int(time.time())
        self.model = model

    def head(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}


def usage(stats: ReplyStats) -> dict[str, int]:
    return {"prompt_tokens": stats.prompt_tokens, "completion_tokens": stats.completion_tokens,
            "total_tokens": stats.prompt_tokens + stats.completion_tokens}


def finish_reason(stats: ReplyStats) -> str:
    return "length" if stats.finish_reason == "length" else "stop"


def completion(ids: ReplyIds, stats: ReplyStats) -> dict[str, Any]:
    return {**ids.head("chat.completion"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": stats.text},
                         "finish_reason": finish_reason(stats), "logprobs": None}],
            "usage": usage(stats)}


def chunk(ids: ReplyIds, delta: dict[str, str], finish: str | None = None) -> dict[str, Any]:
    return {**ids.head("chat.completion.chunk"),
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}]}


def usage_chunk(ids: ReplyIds, stats: ReplyStats) -> dict[str, Any]:
    return {**ids.head("chat.completion.chunk"), "choices": [], "usage": usage(stats)}


def error_body(message: str, type_: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": type_, "code": code, "param": param}}


def rejection_body(exc: RequestRejected) -> dict[str, Any]:
    return error_body(str(exc), exc.type, exc.code, exc.param)
