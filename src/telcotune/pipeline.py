"""`telcotune run`: the study's stages in order, each skipped when its manifest is current."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .config import load_config
from .fsio import write_json
from .paths import StudyPaths

console = Console()


def study_paths(config_path: Path, workdir: Path | None) -> tuple[object, StudyPaths]:
    cfg = load_config(config_path)
    root = Path(workdir) if workdir else Path("runs") / cfg.name
    return cfg, StudyPaths(root)


def run_study(config_path: Path, workdir: Path | None = None) -> StudyPaths:
    cfg, paths = study_paths(config_path, workdir)
    paths.root.mkdir(parents=True, exist_ok=True)
    write_json(paths.resolved_config, cfg.model_dump(mode="json"))
    console.print(f"study [bold]{cfg.name}[/] in {paths.root}")
    from .smoke import describe_model

    describe_model(cfg.model.spec, prompt="My mobile data says connected but nothing loads.")
    return paths
