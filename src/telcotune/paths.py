"""The one place that builds paths: the study folder layout and the user cache.

    runs/<name>/
      data/            scenarios.jsonl, train/val/test(.ood).jsonl, stats.json, manifest.json
      sweep/<run>/     adapter/, metrics.jsonl, metrics.json, energy.json, config.json, manifest.json
      sweep/           sweep.json, sweep.csv, manifest.json
      eval/            answers/, judgments/, knowledge/, knowledge.json, ranking.json,
                       leaderboard.csv, manifest.json
      report/          index.html, report.md, figures/, manifest.json
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"


def cache_root() -> Path:
    """User cache: `$TELCOTUNE_CACHE`, else `~/.cache/telcotune`."""
    env = os.environ.get("TELCOTUNE_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "telcotune"


def models_cache() -> Path:
    return cache_root() / "models"


def llm_cache() -> Path:
    """On-disk cache of LLM responses (generation and judging) keyed by request hash."""
    return cache_root() / "llm"


@dataclass(frozen=True)
class StudyPaths:
    """Every path inside one study folder (`runs/<name>/`)."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def sweep(self) -> Path:
        return self.root / "sweep"

    def run(self, name: str) -> Path:
        return self.sweep / name

    @property
    def eval(self) -> Path:
        return self.root / "eval"

    @property
    def report(self) -> Path:
        return self.root / "report"

    @property
    def resolved_config(self) -> Path:
        return self.root / "config.json"


@dataclass(frozen=True)
class DataPaths:
    """Files of the data stage's output folder."""

    root: Path

    scenarios = property(lambda self: self.root / "scenarios.jsonl")
    rejects = property(lambda self: self.root / "rejects.jsonl")
    stats = property(lambda self: self.root / "stats.json")
    manifest = property(lambda self: self.root / MANIFEST)

    def split(self, name: str) -> Path:
        """`train`, `val`, `test` or `test_ood`."""
        return self.root / f"{name}.jsonl"


@dataclass(frozen=True)
class RunPaths:
    """Files of one training run's folder."""

    root: Path

    adapter = property(lambda self: self.root / "adapter")
    checkpoint = property(lambda self: self.root / "checkpoint")
    metrics_log = property(lambda self: self.root / "metrics.jsonl")
    metrics = property(lambda self: self.root / "metrics.json")
    energy = property(lambda self: self.root / "energy.json")
    config = property(lambda self: self.root / "config.json")
    manifest = property(lambda self: self.root / MANIFEST)


@dataclass(frozen=True)
class EvalPaths:
    """Files of the evaluation stage's output folder."""

    root: Path

    answers_dir = property(lambda self: self.root / "answers")
    judgments_dir = property(lambda self: self.root / "judgments")
    ranking = property(lambda self: self.root / "ranking.json")
    leaderboard = property(lambda self: self.root / "leaderboard.csv")
    knowledge = property(lambda self: self.root / "knowledge.json")
    knowledge_dir = property(lambda self: self.root / "knowledge")
    manifest = property(lambda self: self.root / MANIFEST)

    def answers(self, run: str) -> Path:
        return self.answers_dir / f"{run}.jsonl"

    def answers_energy(self, run: str) -> Path:
        return self.answers_dir / f"{run}.energy.json"

    def judgments(self, judge_slug: str) -> Path:
        return self.judgments_dir / f"{judge_slug}.jsonl"

    def knowledge_scores(self, run: str) -> Path:
        """One model's option log-likelihoods for every knowledge question."""
        return self.knowledge_dir / f"{run}.json"
