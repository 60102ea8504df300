"""Read a study folder's artifacts into one typed, read-only structure.

Everything the report shows comes from here, read from disk only: no stage code is imported
(so building a report never loads torch). A missing optional artifact is None (or empty) and
`missing` says which file was absent; a malformed one is a StageError naming the file. Every
file read is recorded in `inputs`, which the report's manifest hashes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import StageError
from ..fsio import read_json, read_jsonl
from ..paths import MANIFEST, DataPaths, EvalPaths, RunPaths, StudyPaths


@dataclass(frozen=True)
class RunArtifacts:
    """One training run: sweep/<name>/."""

    name: str
    settings: dict[str, Any]
    """Train settings (r, alpha, dropout, lr, targets, seed, ...)."""
    metrics: dict[str, Any] | None
    curve: tuple[dict[str, Any], ...]
    """metrics.jsonl rows (step, train_loss, ..., val_loss on validation steps)."""
    energy: dict[str, Any] | None
    config: dict[str, Any] | None
    manifest: dict[str, Any] | None

    @property
    def best_val_loss(self) -> float | None:
        return (self.metrics or {}).get("best_val_loss")


@dataclass(frozen=True)
class StudyArtifacts:
    root: Path
    config: dict[str, Any] | None
    """The resolved experiment config (config.json at the study root)."""
    stats: dict[str, Any] | None
    data_energy: dict[str, Any] | None
    sweep: dict[str, Any] | None
    runs: tuple[RunArtifacts, ...]
    ranking: dict[str, Any] | None
    answers: dict[str, tuple[dict[str, Any], ...]]
    """run -> answer rows (eval/answers/<run>.jsonl)."""
    answer_energy: dict[str, dict[str, Any]]
    judge_energy: dict[str, dict[str, Any]]
    """judge spec (or file stem) -> its judging energy.json."""
    manifests: dict[str, dict[str, Any]]
    """Stage manifests: data, sweep, evaluate."""
    missing: dict[str, str] = field(default_factory=dict)
    """Artifact label -> the path that was not found."""
    inputs: tuple[Path, ...] = ()

    def run(self, name: str) -> RunArtifacts | None:
        return next((r for r in self.runs if r.name == name), None)

    def missing_reason(self, label: str) -> str:
        return f"{self.missing[label]} not found" if label in self.missing else "not recorded"


class _Reader:
    """Reads JSON/JSONL, remembering which files it read and which were absent."""

    def __init__(self, root: Path):
        self.root = root
        self.read: list[Path] = []
        self.missing: dict[str, str] = {}

    def _rel(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.root))
        except ValueError:
            return str(path)

    def json(self, path: Path, label: str | None = None) -> Any:
        return self._read(path, label, read_json, None)

    def jsonl(self, path: Path, label: str | None = None) -> list[Any]:
        return self._read(path, label, read_jsonl, [])

    def _read(self, path: Path, label: str | None, reader: Any, absent: Any) -> Any:
        """`reader(path)`, or `absent` for a missing file (recorded under `label` when given);
        an unreadable file is an error that names it."""
        if not path.is_file():
            if label:
                self.missing[label] = self._rel(path)
            return absent
        try:
            value = reader(path)
        except (OSError, ValueError) as exc:
            raise StageError(f"{path}: cannot read ({exc})") from None
        self.read.append(path)
        return value


def _require_study(study: StudyPaths) -> None:
    markers = [study.resolved_config, DataPaths(study.data).stats, study.sweep / "sweep.json",
               EvalPaths(study.eval).ranking]
    if not study.root.is_dir() or not any(p.is_file() for p in markers):
        looked = ", ".join(str(p) for p in markers)
        raise StageError(f"{study.root}: no study found (none of {looked} exists); "
                         f"run `telcotune run` first")


def _run_settings(row: dict[str, Any] | None, config: dict[str, Any] | None) -> dict[str, Any]:
    """The sweep row's settings, else the run config's `train` section (or the config itself)."""
    if row and isinstance(row.get("settings"), dict):
        return dict(row["settings"])
    if config:
        return dict(config.get("train", config))
    keys = ("r", "alpha", "dropout", "lr", "targets")
    return {k: row[k] for k in keys if row and k in row}


def _run_names(sweep: dict[str, Any] | None, sweep_dir: Path) -> list[str]:
    """Sweep order from sweep.json, then any other finished run folder, by name."""
    names = [row["name"] for row in (sweep or {}).get("runs", [])]
    if sweep_dir.is_dir():
        extra = sorted(p.name for p in sweep_dir.iterdir()
                       if p.is_dir() and not p.name.startswith(".") and RunPaths(p).metrics.is_file())
        names += [n for n in extra if n not in names]
    return names


def _load_run(reader: _Reader, study: StudyPaths, name: str, row: dict[str, Any] | None) -> RunArtifacts:
    paths = RunPaths(study.run(name))
    config = reader.json(paths.config)
    return RunArtifacts(
        name=name, settings=_run_settings(row, config), metrics=reader.json(paths.metrics),
        curve=tuple(reader.jsonl(paths.metrics_log)), energy=reader.json(paths.energy),
        config=config, manifest=reader.json(paths.manifest),
    )


def _answer_runs(ranking: dict[str, Any] | None, answers_dir: Path) -> list[str]:
    names = list((ranking or {}).get("runs", []))
    if answers_dir.is_dir():
        stems = sorted(p.name[:-len(".jsonl")] for p in answers_dir.glob("*.jsonl"))
        names += [s for s in stems if s not in names]
    return names


def _judge_energy(reader: _Reader, ranking: dict[str, Any] | None, ev: EvalPaths) -> dict[str, dict]:
    files = (ranking or {}).get("judge_files") or {}
    out: dict[str, dict] = {}
    for spec, filename in files.items():
        energy = reader.json(ev.judgments_dir / f"{Path(filename).stem}.energy.json")
        if energy is not None:
            out[spec] = energy
    if not files and ev.judgments_dir.is_dir():
        for path in sorted(ev.judgments_dir.glob("*.energy.json")):
            out[path.name[:-len(".energy.json")]] = reader.json(path)
    return out


def load_study(root: str | Path) -> StudyArtifacts:
    """Every artifact of the study folder `root`; StageError if it holds no study at all."""
    study = StudyPaths(Path(root).resolve())
    _require_study(study)
    reader = _Reader(study.root)
    data, ev = DataPaths(study.data), EvalPaths(study.eval)
    config = reader.json(study.resolved_config, "config")
    sweep = reader.json(study.sweep / "sweep.json", "sweep")
    rows = {row["name"]: row for row in (sweep or {}).get("runs", [])}
    runs = tuple(_load_run(reader, study, n, rows.get(n)) for n in _run_names(sweep, study.sweep))
    ranking = reader.json(ev.ranking, "ranking")
    answers = {run: tuple(reader.jsonl(ev.answers(run))) for run in _answer_runs(ranking, ev.answers_dir)}
    answer_energy = {run: e for run in answers if (e := reader.json(ev.answers_energy(run))) is not None}
    manifests = {stage: m for stage, folder in (("data", data.root), ("sweep", study.sweep), ("evaluate", ev.root))
                 if (m := reader.json(folder / MANIFEST, f"{stage} manifest")) is not None}
    return StudyArtifacts(
        root=study.root, config=config, stats=reader.json(data.stats, "stats"),
        data_energy=reader.json(data.root / "energy.json", "data energy"), sweep=sweep, runs=runs,
        ranking=ranking, answers={k: v for k, v in answers.items() if v},
        answer_energy=answer_energy, judge_energy=_judge_energy(reader, ranking, ev),
        manifests=manifests, missing=dict(reader.missing), inputs=tuple(reader.read),
    )
