"""The terminal chat: read a customer message, stream the assistant's reply token by token,
keep the conversation. `/reset` starts over, `/exit` (or end of input) quits. The streams are
parameters so a test can script the conversation."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from ..config import DecodingConfig
from .engine import ChatEngine
from .errors import InputTooLong, RequestRejected

RESET, EXIT = "/reset", "/exit"
USER_PROMPT, ASSISTANT_PROMPT = "you> ", "assistant> "


@dataclass
class ChatSession:
    engine: ChatEngine
    model: str
    max_new_tokens: int = 256
    decoding: DecodingConfig | None = None
    """None: the engine's defaults (the study config's `decoding`)."""
    history: list[dict] = field(default_factory=list)
    """User and assistant turns; the system prompt is added per reply by the engine."""

    def reply(self, text: str, out: TextIO) -> str:
        """Answer `text` in the context of the history, writing the reply as it is generated."""
        self.history.append({"role": "user", "content": text})
        try:
            prepared = self._prepare(out)
            stats = self.engine.reply(prepared, lambda piece: _write(out, piece),
                                      decoding=self.decoding)
        except BaseException:
            self.history.pop()  # an unanswered message is not part of the conversation
            raise
        self.history.append({"role": "assistant", "content": stats.text})
        return stats.text

    def _prepare(self, out: TextIO):
        while True:
            try:
                return self.engine.prepare(self.model, self.history, self.max_new_tokens)
            except InputTooLong:
                if len(self.history) <= 1:
                    raise
                # The oldest exchange goes first, so the latest message still fits the context.
                del self.history[:2]
                _write(out, "(oldest turns dropped to fit the context) ")


def run_chat(session: ChatSession, stdin: TextIO | None = None, stdout: TextIO | None = None,
             banner: str = "") -> ChatSession:
    stdin, stdout = stdin or sys.stdin, stdout or sys.stdout
    _write(stdout, f"{banner}\n" if banner else "")
    _write(stdout, f"chatting with {session.model}; {RESET} clears the conversation, {EXIT} quits\n")
    while (line := _read_line(stdin, stdout)) is not None:
        text = line.strip()
        if text == EXIT:
            break
        if text == RESET:
            session.history.clear()
            _write(stdout, "(conversation cleared)\n")
            continue
        if text:
            _answer(session, text, stdout)
    return session


def _answer(session: ChatSession, text: str, out: TextIO) -> None:
    _write(out, ASSISTANT_PROMPT)
    try:
        session.reply(text, out)
    except RequestRejected as exc:  # too long even alone, or max_new_tokens above the limit
        _write(out, f"(message not sent: {exc})")
    except KeyboardInterrupt:
        _write(out, " (interrupted)")
    _write(out, "\n")


def _read_line(stdin: TextIO, stdout: TextIO) -> str | None:
    """One line, or None at end of input. On a terminal `input()` gives line editing."""
    try:
        if stdin is sys.stdin and stdout is sys.stdout and stdin.isatty():
            return input(USER_PROMPT)
        _write(stdout, USER_PROMPT)
        line = stdin.readline()
        return line if line else None
    except (EOFError, KeyboardInterrupt):
        _write(stdout, "\n")
        return None


def _write(out: TextIO, text: str) -> None:
    if text:
        out.write(text)
        out.flush()
