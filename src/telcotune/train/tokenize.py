"""Conversations -> token ids plus a mask of the tokens the loss is computed on.

Loss only on assistant turns, for any chat template, also one without `{% generation %}`
markers: the conversation is rendered with the tokenizer's own template, then every prefix
ending before and after each assistant turn is rendered too. The assistant's span is the text
between `render(messages[:k], add_generation_prompt=True)` (which ends with the role header,
e.g. `<|im_start|>assistant\\n`) and `render(messages[:k+1])`, narrowed to the message content
plus the end-of-turn special token that follows it (`<|im_end|>`; not the newline after it,
which the model never generates). Every prefix must be a prefix of the full rendering (true for
ChatML, Llama 3, Gemma...; false for templates that rewrite earlier turns), else a ConfigError.

Characters are mapped to tokens with the fast tokenizer's offsets: a token is a target when it
overlaps an assistant span (so with `assistant: Reset...`, the token ` Reset` is trained).
Tokenized splits are stored flat (one int32 tensor of ids, one bool tensor of target flags,
offsets per conversation) and untruncated: runs truncate when they batch, so one tokenization
serves runs with different `max_length`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from ..errors import ConfigError, DataError
from ..artifacts.data import ConversationRow
from ..artifacts.io import read_rows
from ..data.validate import InvalidConversation, validate_structure
from ..manifest import hash_file, hash_obj
from ..paths import DataPaths, SweepPaths

FORMAT_VERSION = 1
ROLES = ("system", "user", "assistant")
SPLITS = ("train", "val")


@dataclass
class Split:
    """One tokenized split, flat: example i is `ids[offsets[i]:offsets[i+1]]`."""

    ids: torch.Tensor  # int32 [total_tokens]
    targets: torch.Tensor  # bool [total_tokens]: token is an assistant token the loss predicts
    offsets: torch.Tensor  # int64 [n + 1]
    names: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    def lengths(self) -> torch.Tensor:
        return self.offsets[1:] - self.offsets[:-1]

    def example(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        a, b = int(self.offsets[i]), int(self.offsets[i + 1])
        return self.ids[a:b], self.targets[a:b]

    def to_dict(self) -> dict[str, Any]:
        return {"ids": self.ids, "targets": self.targets, "offsets": self.offsets, "names": self.names}

    @classmethod
    def from_examples(cls, examples: list[tuple[list[int], list[bool]]], names: list[str]) -> "Split":
        lengths = [len(ids) for ids, _ in examples]
        offsets = torch.zeros(len(examples) + 1, dtype=torch.int64)
        if lengths:
            offsets[1:] = torch.tensor(lengths, dtype=torch.int64).cumsum(0)
        flat_ids = [t for ids, _ in examples for t in ids]
        flat_tg = [t for _, tg in examples for t in tg]
        return cls(torch.tensor(flat_ids, dtype=torch.int32), torch.tensor(flat_tg, dtype=torch.bool),
                   offsets, list(names))


@dataclass
class TokenizedData:
    """The train and val splits tokenized once, keyed by tokenizer + data + format."""

    key: str
    train: Split
    val: Split
    pad_id: int

    def split(self, name: str) -> Split:
        return self.train if name == "train" else self.val


# ---------------------------------------------------------------- chat template spans


def _special_strings(tokenizer) -> list[str]:
    specials = set(getattr(tokenizer, "all_special_tokens", []) or [])
    for tok in getattr(tokenizer, "added_tokens_decoder", {}).values():
        if getattr(tok, "special", False):
            specials.add(str(tok))
    return sorted((s for s in specials if s), key=len, reverse=True)


def _render(tokenizer, conversations: list[list[dict]], generation_prompt: bool) -> list[str]:
    try:
        out = tokenizer.apply_chat_template(
            conversations, tokenize=False, add_generation_prompt=generation_prompt)
    except Exception as exc:  # jinja errors: template raising on a prefix, bad message
        raise ConfigError(f"the model's chat template failed to render a conversation: {exc}") from exc
    return [out] if isinstance(out, str) else list(out)


def _end_of_turn(tail: str, specials: list[str]) -> int:
    """Length of the tail after an assistant's content that belongs to its turn: up to and
    including the first special token (`<|im_end|>`, `<|eot_id|>`, `<end_of_turn>`...);
    without one, the non-whitespace text before the next turn."""
    best = None
    for s in specials:
        i = tail.find(s)
        if i >= 0 and (best is None or i < best[0]):
            best = (i, len(s))
    if best is not None:
        return best[0] + best[1]
    return len(tail.rstrip())


def assistant_spans(tokenizer, messages: list[dict], specials: list[str] | None = None,
                    ) -> tuple[str, list[tuple[int, int]]]:
    """The full rendering of `messages` and the character spans of its assistant turns
    (content plus end-of-turn token, role header excluded)."""
    if not getattr(tokenizer, "chat_template", None):
        raise ConfigError("the model's tokenizer has no chat template; cannot format conversations")
    specials = _special_strings(tokenizer) if specials is None else specials
    turns = [k for k, m in enumerate(messages) if m["role"] == "assistant"]
    prefixes = [messages[:k] for k in turns if k > 0]
    full, *afters = _render(tokenizer, [messages] + [messages[: k + 1] for k in turns], False)
    befores = _render(tokenizer, prefixes, True) if prefixes else []
    if turns and turns[0] == 0:
        befores = [""] + befores
    spans = []
    for k, before, after in zip(turns, befores, afters):
        if not full.startswith(after):
            raise ConfigError(_not_prefix(k + 1))
        if not after.startswith(before):
            # A template that ignores add_generation_prompt or renders it differently from the
            # next assistant header: fall back to the plain prefix and find the content in it.
            before = _render(tokenizer, [messages[:k]], False)[0] if k else ""
            if not after.startswith(before):
                raise ConfigError(_not_prefix(k))
        start, stop = len(before), len(after)
        segment = full[start:stop]
        content = messages[k]["content"]
        pos, size = -1, 0
        for candidate in (content, content.strip()):
            if candidate:
                pos = segment.find(candidate)
                if pos >= 0:
                    size = len(candidate)
                    break
        c_start = start + max(pos, 0)
        c_end = c_start + size
        spans.append((c_start, c_end + _end_of_turn(full[c_end:stop], specials)))
    return full, spans


def _not_prefix(k: int) -> str:
    return (f"the model's chat template is not prefix-stable: rendering the first {k} messages is "
            "not a prefix of rendering the whole conversation, so assistant turns cannot be "
            "located for the loss mask (templates that rewrite earlier turns are not supported)")


def encode_conversation(tokenizer, messages: list[dict], specials: list[str] | None = None,
                        ) -> tuple[list[int], list[bool]]:
    """Token ids of the rendered conversation and, per token, whether it is an assistant token."""
    text, spans = assistant_spans(tokenizer, messages, specials)
    enc = tokenizer(text, add_special_tokens=False, return_offsets_mapping=True)
    ids = list(enc["input_ids"])
    targets = [False] * len(ids)
    j = 0
    for i, (s, e) in enumerate(enc["offset_mapping"]):
        e = max(e, s + 1)
        while j < len(spans) and s >= spans[j][1]:
            j += 1
        if j < len(spans) and spans[j][0] < e:  # the token overlaps the span
            targets[i] = True
    return ids, targets


# ---------------------------------------------------------------- reading and caching


def read_split(path: Path) -> list[ConversationRow]:
    """Rows of a data split, checked by the data stage's own structural validation (same reason
    codes): a folder from anywhere (imported, hand-edited) never trains on empty turns or
    roles out of order."""
    if not path.is_file():
        raise DataError(f"{path}: file not found (run `telcotune data` first)")
    rows = read_rows(path, ConversationRow)
    for lineno, row in enumerate(rows, 1):
        try:
            validate_structure(row.plain_messages())
        except InvalidConversation as exc:
            raise DataError(f"{path}: row {lineno} (id {row.id}): {exc}") from None
    if not rows:
        raise DataError(f"{path}: no conversations")
    return rows


def tokenizer_fingerprint(tokenizer) -> str:
    files = {}
    folder = Path(getattr(tokenizer, "name_or_path", "") or "")
    for name in ("tokenizer.json", "tokenizer_config.json", "chat_template.jinja", "special_tokens_map.json"):
        if (folder / name).is_file():
            files[name] = hash_file(folder / name)
    return hash_obj({"class": type(tokenizer).__name__, "vocab": len(tokenizer),
                     "chat_template": tokenizer.chat_template, "files": files})


def data_key(data_dir: Path, tokenizer) -> str:
    data_dir = Path(data_dir)
    data = DataPaths(Path(data_dir))
    files = {s: hash_file(data.split(s)) for s in SPLITS if data.split(s).is_file()}
    return hash_obj({"format": FORMAT_VERSION, "tokenizer": tokenizer_fingerprint(tokenizer), "data": files})


def tokenize_split(tokenizer, rows: list[ConversationRow]) -> Split:
    specials = _special_strings(tokenizer)
    examples = [encode_conversation(tokenizer, r.plain_messages(), specials) for r in rows]
    return Split.from_examples(examples, [r.id for r in rows])


def tokenize_data(data_dir: Path, tokenizer, cache: SweepPaths | None = None) -> TokenizedData:
    """Tokenize DATA_DIR/train.jsonl and val.jsonl; with `cache` (a sweep folder), reuse or write
    its tokenized file (key: tokenizer files and template, data hashes, format)."""
    data_dir = Path(data_dir)
    for s in SPLITS:
        if not DataPaths(data_dir).split(s).is_file():
            raise DataError(f"{DataPaths(data_dir).split(s)}: file not found (run `telcotune data` first)")
    key = data_key(data_dir, tokenizer)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    cache_file = cache.tokenized(key[:16]) if cache is not None else None
    if cache_file is not None and cache_file.is_file():
        try:
            blob = torch.load(cache_file, weights_only=True)
            if blob.get("key") == key:
                return TokenizedData(key, Split(**blob["train"]), Split(**blob["val"]), int(blob["pad_id"]))
        except Exception:  # a torn or foreign file: tokenize again
            pass
    splits = {s: tokenize_split(tokenizer, read_split(DataPaths(data_dir).split(s))) for s in SPLITS}
    data = TokenizedData(key, splits["train"], splits["val"], int(pad_id))
    if cache is not None and cache_file is not None:
        from ..fsio import atomic_path

        with atomic_path(cache_file) as tmp:
            torch.save({"key": key, "pad_id": data.pad_id, "train": data.train.to_dict(),
                        "val": data.val.to_dict()}, tmp)
        for stale in cache.root.glob(cache.tokenized_glob()):  # of older data or tokenizers
            if stale != cache_file:
                stale.unlink(missing_ok=True)
    return data

