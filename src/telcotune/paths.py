"""The one place that builds paths: the study folder layout and the user cache. No stage joins a
file name by hand; every file one stage writes and another reads is named here.

    runs/<name>/
      config.json      the resolved experiment config
      data/            scenarios.jsonl, train/val/test(_ood).jsonl, rejects.jsonl, stats.json,
                       energy.json, README.md (dataset card), dataset_info.json, manifest.json
                       (or an import's: no scenarios.jsonl unless mixed)
      synthetic/       with `data.source.mix_synthetic`: the generated data folder mixed into data/
      sweep/<run>/     adapter/, checkpoint/, metrics.jsonl, metrics.json, energy.json, config.json,
                       manifest.json
      sweep/           sweep.json, sweep.csv, .tokenized-<key>.pt, manifest.json
      eval/            answers/<run>.jsonl (+ .meta.json, .energy.json),
                       judgments/<judge>.jsonl (+ .energy.json), knowledge/<run>.json,
                       knowledge.json, ranking.json, leaderboard.csv,
                       ratings.sqlite (people's ratings, `telcotune rate`), manifest.json
      report/          index.html, report.md, figures/, manifest.json
      mlruns/, tensorboard/   experiment tracking (`tracking.hooks`), when enabled
      exported/<run>-<tool>/  output of a tool run with a config from `telcotune export-config`
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MANIFEST = "manifest.json"
ENERGY = "energy.json"
NAMED_SPLITS = ("train", "val", "test", "test_ood")
"""The data stage's split files, in the order they are listed."""
TEST_SPLITS = ("test", "test_ood")
"""Splits that can be evaluation prompt sets by name."""


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
class DataPaths:
    """Files of the data stage's output folder."""

    root: Path

    scenarios = property(lambda self: self.root / "scenarios.jsonl")
    rejects = property(lambda self: self.root / "rejects.jsonl")
    stats = property(lambda self: self.root / "stats.json")
    energy = property(lambda self: self.root / ENERGY)
    manifest = property(lambda self: self.root / MANIFEST)
    card = property(lambda self: self.root / "README.md")
    """The dataset card: its YAML header names the splits for `datasets.load_dataset`."""
    dataset_info = property(lambda self: self.root / "dataset_info.json")
    """LLaMA-Factory's dataset registry (`dataset_dir` can point at the folder)."""

    def split(self, name: str) -> Path:
        """`train`, `val`, `test` or `test_ood`."""
        return self.root / f"{name}.jsonl"


@dataclass(frozen=True)
class RunPaths:
    """Files of one training run's folder."""

    root: Path

    adapter = property(lambda self: self.root / "adapter")
    checkpoint = property(lambda self: self.root / "checkpoint")
    checkpoint_tensors = property(lambda self: self.checkpoint / "state.pt")
    checkpoint_state = property(lambda self: self.checkpoint / "state.json")
    metrics_log = property(lambda self: self.root / "metrics.jsonl")
    metrics = property(lambda self: self.root / "metrics.json")
    energy = property(lambda self: self.root / ENERGY)
    config = property(lambda self: self.root / "config.json")
    manifest = property(lambda self: self.root / MANIFEST)
    val_losses = property(lambda self: self.root / "val_losses.json")
    """Per-conversation validation losses at the best step (paired with the base model's)."""

    @property
    def name(self) -> str:
        return self.root.name


@dataclass(frozen=True)
class SweepPaths:
    """Files of the sweep folder: one run folder per configuration plus the summary."""

    root: Path

    summary = property(lambda self: self.root / "sweep.json")
    table = property(lambda self: self.root / "sweep.csv")
    manifest = property(lambda self: self.root / MANIFEST)
    base = property(lambda self: self.root / "_base")
    """The base model's validation measurement (a name no run can have: run names start with a
    letter or digit)."""
    base_record = property(lambda self: self.base / "base.json")

    def run(self, name: str) -> RunPaths:
        return RunPaths(self.root / name)

    def tokenized(self, key: str) -> Path:
        """The sweep's tokenized data, shared by its runs (`key`: what it was built from)."""
        return self.root / f".tokenized-{key}.pt"

    def tokenized_glob(self) -> str:
        return ".tokenized-*.pt"

    def run_folders(self) -> list[RunPaths]:
        """Every run folder present, by name (hidden folders are temporary ones)."""
        if not self.root.is_dir():
            return []
        return [RunPaths(p) for p in sorted(self.root.iterdir()) if p.is_dir() and not p.name.startswith(".")]


@dataclass(frozen=True)
class EvalPaths:
    """Files of the evaluation stage's output folder."""

    root: Path

    answers_dir = property(lambda self: self.root / "answers")
    judgments_dir = property(lambda self: self.root / "judgments")
    ranking = property(lambda self: self.root / "ranking.json")
    leaderboard = property(lambda self: self.root / "leaderboard.csv")
    manifest = property(lambda self: self.root / MANIFEST)

    knowledge = property(lambda self: self.root / "knowledge.json")
    """Knowledge accuracy of the base model and every adapter (`telcotune knowledge`)."""
    knowledge_dir = property(lambda self: self.root / "knowledge")
    ratings = property(lambda self: self.root / "ratings.sqlite")
    """People's ratings (`telcotune rate`); kept outside the stage's outputs, so rating never
    makes the evaluation stale."""

    def answers(self, run: str) -> Path:
        return self.answers_dir / f"{run}.jsonl"

    def knowledge_scores(self, run: str) -> Path:
        """One model's option log-likelihoods for every knowledge question."""
        return self.knowledge_dir / f"{run}.json"

    def answers_meta(self, run: str) -> Path:
        return self.answers_dir / f"{run}.meta.json"

    def answers_energy(self, run: str) -> Path:
        return self.answers_dir / f"{run}.energy.json"

    def answered_runs(self) -> list[str]:
        """Runs with an answers file, by name."""
        if not self.answers_dir.is_dir():
            return []
        return sorted(p.name[:-len(".jsonl")] for p in self.answers_dir.glob("*.jsonl"))

    def judgments(self, judge_slug: str) -> Path:
        return self.judgments_dir / f"{judge_slug}.jsonl"

    def judge_energy(self, judge_slug: str) -> Path:
        return self.judgments_dir / f"{judge_slug}.energy.json"

    def judge_energy_files(self) -> dict[str, Path]:
        """judge slug -> its energy file, for every judge that wrote one."""
        if not self.judgments_dir.is_dir():
            return {}
        suffix = ".energy.json"
        return {p.name[:-len(suffix)]: p for p in sorted(self.judgments_dir.glob(f"*{suffix}"))}


@dataclass(frozen=True)
class ReportPaths:
    root: Path

    index = property(lambda self: self.root / "index.html")
    markdown = property(lambda self: self.root / "report.md")
    figures = property(lambda self: self.root / "figures")
    manifest = property(lambda self: self.root / MANIFEST)


@dataclass(frozen=True)
class StudyPaths:
    """Every path inside one study folder (`runs/<name>/`)."""

    root: Path

    @property
    def data(self) -> Path:
        return self.root / "data"

    @property
    def synthetic(self) -> Path:
        """The generated data folder an import mixes in (`data.source.mix_synthetic`)."""
        return self.root / "synthetic"

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

    mlruns = property(lambda self: self.root / "mlruns")
    """The default MLflow file store (`tracking.backend: mlflow`)."""
    tensorboard = property(lambda self: self.root / "tensorboard")
    """The default TensorBoard log folder, one sub-folder per run (`tracking.backend: tensorboard`)."""

    def exported(self, run: str, tool: str) -> Path:
        """Where a config from `telcotune export-config` makes the other tool write its output."""
        return self.root / "exported" / f"{run}-{tool}"

    # Typed views of the stage folders.
    data_paths = property(lambda self: DataPaths(self.data))
    sweep_paths = property(lambda self: SweepPaths(self.sweep))
    eval_paths = property(lambda self: EvalPaths(self.eval))
    report_paths = property(lambda self: ReportPaths(self.report))
