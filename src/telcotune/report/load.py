"""Read a study folder's artifacts into one typed, read-only structure.

Everything the report shows comes from here, read from disk only through the artifact records
(`telcotune.artifacts`): no stage code is imported, so building a report never loads torch. A
missing optional artifact is None (or empty) and `missing` says which file was absent; a
malformed one is a StageError naming the file and the field. Every file read is recorded in
`inputs`, which the report's manifest hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

from ..artifacts.answers import AnswerRow
from ..artifacts.data import DataStats
from ..artifacts.energy import AnswersEnergy, DataEnergy, JudgeEnergy
from ..artifacts.io import read_record, read_rows
from ..artifacts.manifest import StageManifest
from ..artifacts.ranking import Ranking
from ..artifacts.run import FinishedRun, MetricsRow, finished_runs
from ..artifacts.sweep import SweepSummary
from ..config import ExperimentConfig, TrainConfig
from ..errors import StageError
from ..paths import StudyPaths

T = TypeVar("T")


@dataclass(frozen=True)
class RunArtifacts:
    """One finished training run: sweep/<name>/."""

    run: FinishedRun
    curve: tuple[MetricsRow, ...]
    """metrics.jsonl rows (step, train_loss, ..., val_loss on validation steps)."""

    @property
    def name(self) -> str:
        return self.run.name

    @property
    def settings(self) -> TrainConfig:
        return self.run.settings

    @property
    def target_modules(self) -> list[str]:
        return self.run.config.target_modules

    @property
    def metrics(self):
        return self.run.metrics

    @property
    def energy(self):
        return self.run.energy

    @property
    def config(self):
        return self.run.config

    @property
    def manifest(self) -> StageManifest:
        return self.run.manifest

    @property
    def best_val_loss(self) -> float | None:
        return self.run.val_loss


@dataclass(frozen=True)
class StudyArtifacts:
    root: Path
    config: ExperimentConfig | None
    """The resolved experiment config (config.json at the study root)."""
    stats: DataStats | None
    data_energy: DataEnergy | None
    sweep: SweepSummary | None
    runs: tuple[RunArtifacts, ...]
    ranking: Ranking | None
    answers: dict[str, tuple[AnswerRow, ...]]
    """run -> answer rows (eval/answers/<run>.jsonl)."""
    answer_energy: dict[str, AnswersEnergy]
    judge_energy: dict[str, JudgeEnergy]
    """judge spec (or file stem) -> its judging energy.json."""
    manifests: dict[str, StageManifest]
    """Stage manifests: data, sweep, evaluate."""
    missing: dict[str, str] = field(default_factory=dict)
    """Artifact label -> the path that was not found."""
    inputs: tuple[Path, ...] = ()

    def run(self, name: str) -> RunArtifacts | None:
        return next((r for r in self.runs if r.name == name), None)

    def missing_reason(self, label: str) -> str:
        return f"{self.missing[label]} not found" if label in self.missing else "not recorded"


class _Reader:
    """Reads records, remembering which files it read and which were absent."""

    def __init__(self, root: Path):
        self.root = root
        self.read: list[Path] = []
        self.missing: dict[str, str] = {}

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def record(self, path: Path, kind: type[T], label: str | None = None) -> T | None:
        if not path.is_file():
            if label:
                self.missing[label] = self._rel(path)
            return None
        self.read.append(path)
        return read_record(path, kind)

    def rows(self, path: Path, kind: type[T]) -> list[T]:
        if not path.is_file():
            return []
        self.read.append(path)
        return read_rows(path, kind)


def _require_study(study: StudyPaths) -> None:
    markers = [study.resolved_config, study.data_paths.stats, study.sweep_paths.summary,
               study.eval_paths.ranking]
    if not study.root.is_dir() or not any(p.is_file() for p in markers):
        looked = ", ".join(str(p) for p in markers)
        raise StageError(f"{study.root}: no study found (none of {looked} exists); "
                         f"run `telcotune run` first")


def _load_runs(reader: _Reader, study: StudyPaths, sweep: SweepSummary | None) -> tuple[RunArtifacts, ...]:
    """Finished runs in sweep order (sweep.json), then any other finished run, by name."""
    found = {run.name: run for run in finished_runs(study.sweep_paths)}
    order = [row.name for row in (sweep.runs if sweep else []) if row.name in found]
    order += [name for name in sorted(found) if name not in order]
    out = []
    for name in order:
        run = found[name]
        reader.read += [run.paths.config, run.paths.metrics, run.paths.manifest]
        if run.energy is not None:
            reader.read.append(run.paths.energy)
        out.append(RunArtifacts(run, tuple(reader.rows(run.paths.metrics_log, MetricsRow))))
    return tuple(out)


def _answer_runs(ranking: Ranking | None, answered: list[str]) -> list[str]:
    names = list(ranking.runs) if ranking else []
    return names + [s for s in answered if s not in names]


def _judge_energy(reader: _Reader, ranking: Ranking | None, study: StudyPaths) -> dict[str, JudgeEnergy]:
    ev = study.eval_paths
    if ranking is not None and ranking.judge_files:
        found = {spec: reader.record(ev.judge_energy(Path(name).stem), JudgeEnergy)
                 for spec, name in ranking.judge_files.items()}
        return {spec: e for spec, e in found.items() if e is not None}
    return {slug: e for slug, path in ev.judge_energy_files().items()
            if (e := reader.record(path, JudgeEnergy)) is not None}


def _judgment_files(ranking: Ranking | None, ev) -> list[Path]:
    """The judgments the planning section reads (through plan/): hashed, not parsed, here."""
    names = ranking.judge_files.values() if ranking is not None else ()
    return [path for name in names if (path := ev.judgments(Path(name).stem)).is_file()]


def load_study(root: str | Path) -> StudyArtifacts:
    """Every artifact of the study folder `root`; StageError if it holds no study at all."""
    study = StudyPaths(Path(root).resolve())
    _require_study(study)
    reader = _Reader(study.root)
    data, ev = study.data_paths, study.eval_paths
    config = reader.record(study.resolved_config, ExperimentConfig, "config")
    sweep = reader.record(study.sweep_paths.summary, SweepSummary, "sweep")
    runs = _load_runs(reader, study, sweep)
    ranking = reader.record(ev.ranking, Ranking, "ranking")
    reader.read += _judgment_files(ranking, ev)
    answers = {run: tuple(reader.rows(ev.answers(run), AnswerRow))
               for run in _answer_runs(ranking, ev.answered_runs())}
    answer_energy = {run: e for run in answers if (e := reader.record(ev.answers_energy(run), AnswersEnergy))}
    manifests = {stage: m for stage, path in (("data", data.manifest), ("sweep", study.sweep_paths.manifest),
                                              ("evaluate", ev.manifest))
                 if (m := reader.record(path, StageManifest, f"{stage} manifest")) is not None}
    return StudyArtifacts(
        root=study.root, config=config, stats=reader.record(data.stats, DataStats, "stats"),
        data_energy=reader.record(data.energy, DataEnergy, "data energy"), sweep=sweep, runs=runs,
        ranking=ranking, answers={k: v for k, v in answers.items() if v},
        answer_energy=answer_energy, judge_energy=_judge_energy(reader, ranking, study),
        manifests=manifests, missing=dict(reader.missing), inputs=tuple(reader.read),
    )

