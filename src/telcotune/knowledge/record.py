"""The knowledge step's typed artifacts: one model's option scores (`eval/knowledge/<run>.json`)
and the result every reader uses (`eval/knowledge.json`), with their readers.

`knowledge.json` shape (all fractions in 0-1, intervals 95%):

    {"model": spec, "scoring": how, "questions": n, "chance": mean 1/options,
     "categories": {category: n}, "sources": [{name, kind, path, sha256, questions, available}],
     "models": [{"run", "accuracy": {successes, total, value, low, high}, "accuracy_sum": {...},
                 "categories": {category: {...}},
                 "versus_base": {"difference": {both, first_only, second_only, neither, diff, low,
                                                high, p_value}, "holm_p", "verdict"} | null,
                 "versus_base_by_category": {category: {...}},
                 "duration_s", "energy_j", "energy_method"}],
     "verdict_rule", "duration_s", "energy_j", "energy_method", "energy_missing_reason", ...}

`models` lists the base model first; `versus_base` is null for it. A verdict is one of
`gained`, `forgot`, `no evidence either way`.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from ..artifacts.io import read_record, write_record
from ..energy.base import Method
from .stats import PairedDifference, Proportion, Verdict

SCHEMA_VERSION = 1


@dataclass(frozen=True)
class QuestionScores:
    key: str
    """`<source>/<question id>`."""
    logprob: tuple[float, ...]
    """Per option: summed log-probability of its tokens (nats)."""
    tokens: tuple[int, ...]
    """Per option: its number of tokens."""

    @property
    def choice(self) -> int:
        """The option with the highest log-probability per token (first on a tie)."""
        return max(range(len(self.logprob)), key=lambda i: self.logprob[i] / self.tokens[i])

    @property
    def choice_sum(self) -> int:
        """The option with the highest summed log-probability (first on a tie)."""
        return max(range(len(self.logprob)), key=lambda i: self.logprob[i])


@dataclass(frozen=True)
class ModelScores:
    run: str
    fingerprint: str
    """Hash of everything the scores depend on; a mismatch means score again."""
    questions: tuple[QuestionScores, ...]
    duration_s: float
    energy_j: float | None
    energy_method: Method
    energy_missing_reason: str | None = None


@dataclass(frozen=True)
class Source:
    name: str
    kind: Literal["glossary", "file"]
    path: str
    sha256: str
    questions: int
    """Questions scored from this source."""
    available: int
    """Questions the source holds (more than `questions` under a limit)."""


@dataclass(frozen=True)
class BaseComparison:
    difference: PairedDifference
    """This adapter minus the base model, on the same questions."""
    holm_p: float
    """`difference.p_value` after Holm's correction over every adapter compared."""
    verdict: Verdict


@dataclass(frozen=True)
class ModelKnowledge:
    run: str
    accuracy: Proportion
    """Right answers by log-probability per token (the headline figure)."""
    accuracy_sum: Proportion
    """Right answers by summed log-probability (favours short options)."""
    categories: dict[str, Proportion]
    versus_base: BaseComparison | None
    """None for the base model itself."""
    versus_base_by_category: dict[str, PairedDifference]
    duration_s: float
    energy_j: float | None
    energy_method: Method


@dataclass(frozen=True)
class KnowledgeResult:
    model: str
    scoring: str
    system_prompt_sha256: str
    questions: int
    chance: float
    """Expected accuracy of uniform guessing (mean of 1 / number of options)."""
    categories: dict[str, int]
    sources: list[Source]
    models: list[ModelKnowledge]
    verdict_rule: str
    duration_s: float
    energy_j: float | None
    energy_method: Method
    energy_missing_reason: str | None
    created_at: str
    schema_version: int = SCHEMA_VERSION

    def for_run(self, run: str) -> ModelKnowledge:
        for model in self.models:
            if model.run == run:
                return model
        raise KeyError(f"no knowledge result for run {run!r}; runs: {', '.join(m.run for m in self.models)}")


def write_result(path: Path, result: KnowledgeResult) -> Path:
    return write_record(path, result)


def read_result(path: Path) -> KnowledgeResult:
    return read_record(path, KnowledgeResult)


def write_scores(path: Path, scores: ModelScores) -> Path:
    return write_record(path, scores)


def read_scores(path: Path) -> ModelScores:
    return read_record(path, ModelScores)
