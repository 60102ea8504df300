"""`telcotune run`: the study's stages in order, each skipped when its manifest is current and
resumed where it stopped otherwise."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .config import ExperimentConfig, apply_overrides, load_config
from .fsio import write_json
from .paths import StudyPaths

console = Console(stderr=True)


def data_config(config_path: Path | None, overrides: dict) -> ExperimentConfig:
    cfg = load_config(config_path) if config_path else ExperimentConfig()
    return apply_overrides(cfg, "data", overrides)


def study_paths(cfg: ExperimentConfig, workdir: Path | None) -> StudyPaths:
    return StudyPaths(Path(workdir) if workdir else Path("runs") / cfg.name)


def run_study(config_path: Path, workdir: Path | None = None, progress: bool = True) -> StudyPaths:
    cfg = load_config(config_path)  # every section and sweep run validated before any work
    paths = study_paths(cfg, workdir)
    paths.root.mkdir(parents=True, exist_ok=True)
    write_json(paths.resolved_config, cfg.model_dump(mode="json"))
    console.print(f"study [bold]{cfg.name}[/] in {paths.root}")
    for name, stage in STAGES:
        console.rule(f"[bold]{name}")
        stage(cfg, paths, progress)
    return paths


def _data(cfg: ExperimentConfig, paths: StudyPaths, progress: bool) -> None:
    from .data.stage import run_data_stage

    stats = run_data_stage(cfg.data, paths.data, energy=cfg.energy, progress=progress)
    console.print(f"data: {stats['conversations']} conversations, splits {stats['splits']}")


STAGES = [("data", _data)]
