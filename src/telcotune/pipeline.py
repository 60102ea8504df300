"""`telcotune run`: the study's stages in order, each skipped when its manifest is current and
resumed where it stopped otherwise."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from .artifacts.io import write_record
from .config import ExperimentConfig, resolve_config
from .paths import StudyPaths

console = Console(stderr=True)


def study_paths(cfg: ExperimentConfig, workdir: Path | None) -> StudyPaths:
    return StudyPaths(Path(workdir) if workdir else Path("runs") / cfg.name)


def run_study(config_path: Path, workdir: Path | None = None, progress: bool = True,
              track: str | None = None, dry_run: bool = False) -> StudyPaths:
    """`track`: the --track option (over the config's `tracking.backend`). `dry_run`: print the
    plan (`dry_run.plan_study`) and write nothing."""
    cfg = resolve_config(config_path, {"tracking": {"backend": track}})  # every section and sweep run validated before any work
    check_study_backends(cfg)  # an imported study refuses remote backends before any work
    paths = study_paths(cfg, workdir)
    if dry_run:
        from .dry_run import plan_study, print_plan

        print_plan(cfg, paths, plan_study(cfg, paths), Console(highlight=False))
        return paths
    paths.root.mkdir(parents=True, exist_ok=True)
    write_record(paths.resolved_config, cfg)
    console.print(f"study [bold]{cfg.name}[/] in {paths.root}")
    for name, stage in STAGES:
        console.rule(f"[bold]{name}")
        stage(cfg, paths, progress)
    from .summary import print_summary

    print_summary(paths)
    return paths


def check_study_backends(cfg: ExperimentConfig) -> None:
    """With `data.source`, the study's data hold imported conversations: its generator (when
    mixing) and its judges must be local unless `allow_remote`. (Answers always come from the
    study's own model, loaded here.)"""
    from .privacy.onprem import check_remote_allowed

    source = cfg.data.source
    if source is None:
        return
    uses = [(cfg.data.backend, "generate conversations")] if source.mix_synthetic else []
    uses += [(spec, "judge answers") for spec in cfg.judges.panel]
    for spec, purpose in uses:
        check_remote_allowed(spec, holds_imported=True, allow_remote=cfg.data.remote_allowed(), purpose=purpose)


def _data(cfg: ExperimentConfig, paths: StudyPaths, progress: bool) -> None:
    from .data.stage import run_data_stage

    if cfg.data.source is not None:
        return _import(cfg, paths, progress)
    stats = run_data_stage(cfg.data, paths.data, energy=cfg.energy, progress=progress,
                           trust_remote_code=cfg.model.trust_remote_code)
    console.print(f"data: {stats.conversations} conversations, splits {stats.splits}")


def _import(cfg: ExperimentConfig, paths: StudyPaths, progress: bool) -> None:
    """`data.source`: import (and redact) the transcripts, after generating the synthetic rows
    to mix in when asked."""
    from .data.stage import run_data_stage
    from .ingest.options import options_from_config
    from .ingest.stage import import_transcripts

    source = cfg.data.source
    if source.mix_synthetic:
        stats = run_data_stage(cfg.data, paths.synthetic, energy=cfg.energy, progress=progress,
                               trust_remote_code=cfg.model.trust_remote_code)
        console.print(f"data: {stats.conversations} synthetic conversations to mix in, in {paths.synthetic}")
    options = options_from_config(source, cfg.data.seed, paths.synthetic if source.mix_synthetic else None)
    result = import_transcripts(paths.data, options, progress=progress)
    stats = result.stats
    console.print(f"data: {stats.imported.kept} of {stats.imported.read} conversations imported, "
                  f"{stats.redaction.conversations_affected} with personal data replaced"
                  f"{' (current, skipped)' if result.skipped else ''}; splits {stats.splits}")


def _sweep(cfg: ExperimentConfig, paths: StudyPaths, progress: bool) -> None:
    from .config import expand_sweep
    from .energy import make_meter
    from .train.sweep import run_sweep

    from .tracking import track_sweep

    rows = run_sweep(paths.data, paths.sweep, expand_sweep(cfg), cfg.model.ref(),
                     meter_factory=lambda: make_meter(cfg.energy), progress=progress, placement=cfg.sweep,
                     energy=cfg.energy)
    track_sweep(cfg.tracking, paths.root, cfg.name, paths.sweep)
    console.print(f"sweep: {len(rows)} runs finished in {paths.sweep}")


def _evaluate(cfg: ExperimentConfig, paths: StudyPaths, progress: bool) -> None:
    from .evaluate.stage import run_evaluate

    from .tracking import track_evaluation

    run_evaluate(paths.data, paths.sweep, paths.eval, cfg.model.ref(), cfg.eval, cfg.judges, cfg.energy,
                 decoding=cfg.decoding, progress=progress, glossary=cfg.data.glossary_path(), allow_remote=cfg.data.remote_allowed(),
                 placement=cfg.sweep, resources=cfg.train.resources)
    track_evaluation(cfg.tracking, paths.root, cfg.name, paths.eval, paths.sweep)


def _report(cfg: ExperimentConfig, paths: StudyPaths, progress: bool) -> None:
    from .report import build_report

    index = build_report(paths.root)
    console.print(f"report: {index}")


STAGES = [("data", _data), ("sweep", _sweep), ("evaluate", _evaluate), ("report", _report)]
