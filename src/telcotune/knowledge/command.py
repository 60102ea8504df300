"""`telcotune knowledge --workdir W`: score a study's base model and finished adapters on the
knowledge questions its config (or the command line) names; writes W/eval/knowledge.json."""

from __future__ import annotations

from pathlib import Path

from pydantic import ValidationError
from rich import box
from rich.table import Table

from ..artifacts.run import finished_runs
from ..artifacts.study import read_study_config, study_model
from ..config import ExperimentConfig, KnowledgeConfig, format_validation_error
from ..energy import make_meter
from ..errors import ConfigError
from ..paths import StudyPaths
from ..serve.system_prompt import training_system_prompt
from .record import KnowledgeResult
from .runner import ScoringJob, run_knowledge
from .sources import collect_questions


def knowledge_command(workdir: Path, mcq: list[Path] | None = None, glossary_mcq: bool = False,
                      limit: int | None = None, model_spec: str | None = None, batch_size: int | None = None,
                      progress: bool = True) -> KnowledgeResult:
    """Sources: those given on the command line (`mcq`, `glossary_mcq`) if any, else the study
    config's `eval.knowledge`."""
    study = StudyPaths(Path(workdir))
    cfg = read_study_config(study) or ExperimentConfig()
    overrides: dict = {k: v for k, v in {"limit": limit, "batch_size": batch_size}.items() if v is not None}
    if mcq or glossary_mcq:
        overrides |= {"mcq": [str(p) for p in mcq or []], "glossary_mcq": glossary_mcq}
    try:
        knowledge = KnowledgeConfig.model_validate({**cfg.eval.knowledge.model_dump(), **overrides})
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "command line")) from None
    questions, sources = collect_questions(knowledge, cfg.data.glossary_path(), cfg.eval.seed)
    runs = finished_runs(study.sweep_paths)
    jobs = [ScoringJob(run.name, run.paths.adapter) for run in runs]
    return run_knowledge(study_model(study, runs, model_spec), jobs, questions, sources,
                         training_system_prompt(study), study.eval_paths, knowledge,
                         meter=make_meter(cfg.energy), progress=progress)


def results_table(result: KnowledgeResult) -> Table:
    """Accuracy and the difference to the base, one row per model, for the terminal."""
    per_model = [m.duration_s for m in result.models]
    table = Table(title=f"knowledge: {result.questions} questions, chance {result.chance:.0%}",
                  caption=f"scored in {sum(per_model):.0f} s, {min(per_model):.1f}-{max(per_model):.1f} s per model",
                  box=box.SIMPLE_HEAD)
    for column in ("run", "accuracy % [95% CI]", "vs base, points [95% CI]", "gained/lost", "Holm p", "verdict"):
        table.add_column(column, justify="left" if column in ("run", "verdict") else "right", no_wrap=True)
    for m in result.models:
        acc = f"{100 * m.accuracy.value:.1f} [{100 * m.accuracy.low:.1f}, {100 * m.accuracy.high:.1f}]"
        v = m.versus_base
        if v is None:
            table.add_row(m.run, acc, "", "", "", "(reference)")
            continue
        d = v.difference
        table.add_row(m.run, acc, f"{100 * d.diff:+.1f} [{100 * d.low:+.1f}, {100 * d.high:+.1f}]",
                      f"{d.first_only}/{d.second_only}", f"{v.holm_p:.2f}", v.verdict)
    return table
