"""How a question becomes tokens: the context is the chat-templated conversation (the study's
system prompt, the question as the customer's message, the assistant's turn opened); each option
is a continuation of it, the reply the assistant would begin with.

Why the chat template: the adapters were trained on chat-templated conversations with this
system prompt and are served that way, so this is the setting whose knowledge matters, and an
instruct model answers inside its template better than on raw text. Base and adapters see
identical tokens. The options are not listed in the question (cloze style, as lm-evaluation-
harness scores ARC or HellaSwag): scoring a letter ("A", "B") after a listed set (MMLU style)
asks a small model to map letters to options, which it does poorly, on top of knowing the answer.

Option tokens follow lm-evaluation-harness: the tokens of `context + option` past the context's
own tokens, so a token that merges across the boundary is not split in two.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..generation import prompt_ids
from .mcq import McqError, Question

FORMAT = "chat template; system prompt; question as the user turn; option as the assistant's reply (cloze)"


@dataclass(frozen=True)
class EncodedQuestion:
    context: tuple[int, ...]
    options: tuple[tuple[int, ...], ...]
    """Each option's continuation tokens."""


def question_messages(question: Question, system_prompt: str) -> list[dict[str, str]]:
    return [{"role": "system", "content": system_prompt}, {"role": "user", "content": question.question}]


def encode_question(tokenizer: Any, question: Question, system_prompt: str) -> EncodedQuestion:
    messages = question_messages(question, system_prompt)
    context = prompt_ids(tokenizer, messages)
    options = []
    for i, option in enumerate(question.options):
        continuation = prompt_ids(tokenizer, messages, prefill=option)[len(context):]
        if not continuation:
            raise McqError(f"question {question.id!r}: options[{i}] ({option!r}) has no tokens of its own")
        options.append(tuple(continuation))
    return EncodedQuestion(tuple(context), tuple(options))
