"""Evaluation prompts: conversations cut at their last customer turn, with the reference
answer and the scenario they came from."""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import NAMED_PROMPT_SETS as NAMED_SETS
from ..data.conversation import prompt_of, reference_of
from ..errors import DataError
from ..fsio import read_jsonl
from ..paths import DataPaths


@dataclass(frozen=True)
class EvalPrompt:
    id: str
    set: str
    messages: list[dict[str, str]]
    """The conversation up to (and including) its last customer turn."""
    reference: str
    scenario_id: str | None
    misconception: str | None

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _set_name(name: str) -> str:
    return name if name in NAMED_SETS else Path(name).stem


def _source(data_dir: Path, name: str) -> Path:
    path = DataPaths(data_dir).split(name) if name in NAMED_SETS else Path(name)
    if not path.is_file():
        hint = " (generate data with held-out terms: data.ood_terms)" if name == "test_ood" else ""
        raise DataError(f"prompt set {name!r}: {path} not found{hint}")
    return path


def load_prompt_set(data_dir: Path, name: str, limit: int | None = None, seed: int = 0) -> list[EvalPrompt]:
    """`test`, `test_ood` (from the data folder) or a JSONL file of conversation rows."""
    path = _source(data_dir, name)
    try:
        rows = read_jsonl(path)
    except ValueError as exc:
        raise DataError(str(exc)) from None
    if not rows:
        raise DataError(f"prompt set {name!r}: {path} has no conversations")
    if limit is not None and limit < len(rows):
        rows = sorted(random.Random(seed).sample(rows, limit), key=lambda r: r["id"])
    prompts = []
    for i, row in enumerate(rows):
        messages = row.get("messages") if isinstance(row, dict) else None
        if not messages or not any(m.get("role") == "user" for m in messages):
            raise DataError(f"{path}: row {i + 1}: `messages` with at least one user turn is required")
        prompts.append(EvalPrompt(
            id=str(row.get("id", f"{_set_name(name)}-{i}")), set=_set_name(name),
            messages=prompt_of(messages), reference=reference_of(messages),
            scenario_id=row.get("scenario_id"), misconception=row.get("misconception"),
        ))
    return prompts


def load_prompts(data_dir: Path, names: list[str], limit: int | None, seed: int) -> list[EvalPrompt]:
    prompts = [p for name in names for p in load_prompt_set(data_dir, name, limit, seed)]
    ids = [p.id for p in prompts]
    if len(set(ids)) != len(ids):
        raise DataError("evaluation prompt ids repeat across sets; give each prompt a unique id")
    return prompts
