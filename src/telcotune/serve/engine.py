"""The chat engine shared by the terminal chat and the HTTP server: one base model with its
adapters (`adapters.AdapterHost`), the tokenizer, the training system prompt, the decoding defaults
and the limits. `prepare` checks a request (model name, lengths) without touching the model;
`reply` generates in the running batch (`batching.Batcher`) and waits for the end."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..adapters import AdapterHost
from ..errors import ConfigError
from ..config import DecodingConfig
from ..generation import prompt_ids, stop_token_ids
from ..models import load_tokenizer, resolve_model
from .errors import InputTooLong, TooManyTokens, UnknownModel
from .limits import ServeLimits
from .batching import Batcher, Row
from .streaming import ReplyStats, ReplyText
from .target import ServeTarget


@dataclass(frozen=True)
class PreparedReply:
    model: str
    prompt: list[int]
    max_new_tokens: int


class ChatEngine:
    def __init__(self, bank: AdapterHost, tokenizer: Any, system_prompt: str, limits: ServeLimits | None = None,
                 default_model: str | None = None, decoding: DecodingConfig | None = None):
        self.bank, self.tokenizer, self.system_prompt = bank, tokenizer, system_prompt
        self.limits = limits or ServeLimits()
        self.decoding = decoding or DecodingConfig()
        """Decoding of a reply whose request does not say otherwise."""
        self.default_model = default_model or bank.names[0]
        # Requests are tokenized on the event loop while a reply decodes on its worker thread;
        # a fast tokenizer must not be used by two threads at once.
        self.tokenizer_lock = threading.Lock()
        positions = getattr(bank.model.config, "max_position_embeddings", None)
        self.context_tokens: int | None = positions if isinstance(positions, int) else None
        self.batcher = Batcher(bank, stop_token_ids(bank.model, tokenizer), self.limits.max_batch)

    @classmethod
    def load(cls, target: ServeTarget, limits: ServeLimits | None = None) -> "ChatEngine":
        model_dir = resolve_model(target.model_spec)
        # All served adapters stay loaded: a request only switches which one is active.
        bank = AdapterHost(model_dir, trust_remote_code=target.trust_remote_code)
        for name, folder in target.adapters.items():
            check_finite_weights(folder)
            bank.load(name, folder)
        tokenizer = load_tokenizer(model_dir, trust_remote_code=target.trust_remote_code)
        return cls(bank, tokenizer, target.system_prompt, limits, target.default, target.decoding)

    @property
    def names(self) -> list[str]:
        return self.bank.names

    def conversation(self, messages: list[dict]) -> list[dict]:
        """The messages as the adapters saw them in training: with the training system prompt
        first unless the caller brought its own."""
        if any(m["role"] == "system" for m in messages):
            return messages
        return [{"role": "system", "content": self.system_prompt}, *messages]

    def prepare(self, model: str, messages: list[dict], max_new_tokens: int | None = None) -> PreparedReply:
        if model not in self.names:
            raise UnknownModel(f"model {model!r} is not served; available: {', '.join(self.names)}", param="model")
        new_tokens = max_new_tokens or self.limits.default_new_tokens
        ceiling = min(self.limits.max_new_tokens, (self.context_tokens or 1 << 30) - 1)
        if new_tokens > ceiling:
            raise TooManyTokens(f"max_tokens is {new_tokens}; this server allows at most {ceiling}",
                                param="max_tokens")
        with self.tokenizer_lock:
            prompt = prompt_ids(self.tokenizer, self.conversation(messages))
        self._check_length(len(prompt), new_tokens)
        return PreparedReply(model, prompt, new_tokens)

    def _check_length(self, prompt_tokens: int, new_tokens: int) -> None:
        if prompt_tokens > self.limits.max_input_tokens:
            raise InputTooLong(f"the conversation is {prompt_tokens} tokens; this server accepts at most "
                               f"{self.limits.max_input_tokens}", param="messages")
        if self.context_tokens and prompt_tokens + new_tokens > self.context_tokens:
            raise InputTooLong(f"the conversation ({prompt_tokens} tokens) plus max_tokens ({new_tokens}) exceeds "
                               f"the model's context of {self.context_tokens} tokens", param="messages")

    def reply(self, prepared: PreparedReply, on_text: Callable[[str], None], *,
              decoding: DecodingConfig | None = None, seed: int = 0, stop: tuple[str, ...] = (),
              should_stop: Callable[[], bool] = lambda: False) -> ReplyStats:
        """Generate the reply in the running batch, calling `on_text` with each new piece (on the
        batcher's thread) and returning when it ends. `should_stop` is polled before every token:
        a client that left stops the work early."""
        ended = threading.Event()
        outcome: list[ReplyStats | BaseException] = []
        interrupted = threading.Event()

        def done(result: ReplyStats | BaseException) -> None:
            outcome.append(result)
            ended.set()

        row = Row(prepared.prompt, prepared.max_new_tokens, decoding or self.decoding,
                  ReplyText(self.tokenizer, stop, self.tokenizer_lock), on_text, done,
                  lambda: interrupted.is_set() or should_stop(), seed=seed)
        self.batcher.submit(prepared.model, row)
        try:
            while not ended.wait(0.5):
                pass
        except BaseException:  # Ctrl-C in the terminal chat: the row leaves at the next token
            interrupted.set()
            raise
        if isinstance(outcome[0], BaseException):
            raise outcome[0]
        return outcome[0]

    def close(self) -> None:
        self.batcher.close()


ADAPTER_WEIGHTS = "adapter_model.safetensors"


def check_finite_weights(adapter_dir: Path) -> None:
    """Refuse an adapter with NaN or infinite weights: every reply would fail in the sampler
    (a run that diverged writes such weights)."""
    import torch
    from safetensors import safe_open

    path = Path(adapter_dir) / ADAPTER_WEIGHTS
    if not path.is_file():
        return  # PEFT names what is missing when it loads the folder
    with safe_open(str(path), framework="pt") as weights:
        for key in weights.keys():
            if not torch.isfinite(weights.get_tensor(key)).all():
                raise ConfigError(f"{path}: tensor {key} holds NaN or infinite values; this adapter cannot "
                                  "be served (its training diverged: retrain it with a lower lr)")
