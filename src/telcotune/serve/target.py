"""What to load: the base model spec, the adapters to serve by name, and the system prompt,
from a study folder (`--workdir` plus `--run`) or from one adapter folder (`--adapter`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..errors import ConfigError
from ..adapters import BASE_RUN
from ..artifacts.run import FinishedRun, read_finished_run
from ..artifacts.study import read_study_config, study_model
from ..config import DecodingConfig
from ..fsio import read_json
from ..paths import RunPaths, StudyPaths
from .choice import choose_run, study_runs
from .system_prompt import training_system_prompt


@dataclass(frozen=True)
class ServeTarget:
    model_spec: str
    adapters: dict[str, Path]
    """Served name -> adapter folder, in the order given (the first is the default)."""
    system_prompt: str
    trust_remote_code: bool = False
    default: str = BASE_RUN
    """The model a chat answers with / the web page preselects."""
    notes: list[str] = field(default_factory=list)
    """How each run was picked, for the user."""
    decoding: DecodingConfig = field(default_factory=DecodingConfig)
    """The study config's `decoding` section (its defaults without a config.json)."""


def study_target(workdir: Path, selectors: list[str] | None, model_spec: str | None = None) -> ServeTarget:
    """`selectors` are run names, `base`, `best-judge` or `best-loss`; none: every finished run."""
    study = StudyPaths(Path(workdir))
    runs = study_runs(study)
    spec, trust = _study_model(study, model_spec, list(runs.values()))
    choices = [choose_run(study, s) for s in selectors or []]
    names = list(dict.fromkeys(c.name for c in choices)) or sorted(runs)
    adapters = {name: runs[name].paths.adapter for name in names if name != BASE_RUN}
    notes = [f"{c.name} ({c.why})" for c in choices if c.why != "named"]
    return ServeTarget(spec, adapters, training_system_prompt(study), trust, names[0], notes, _decoding(study))


def _decoding(study: StudyPaths | None) -> DecodingConfig:
    config = read_study_config(study) if study is not None else None
    return config.decoding if config is not None else DecodingConfig()


def _study_model(study: StudyPaths, override: str | None, runs: list[FinishedRun]) -> tuple[str, bool]:
    model = study_model(study, runs, override)
    return model.spec, model.trust_remote_code


def adapter_target(adapter_dir: Path, model_spec: str | None = None, name: str | None = None) -> ServeTarget:
    """One adapter folder. Inside a study layout (`<study>/sweep/<run>/adapter`) the model spec and
    system prompt come from that study; else the adapter's own `base_model_name_or_path`."""
    adapter_dir = Path(adapter_dir)
    if not (adapter_dir / "adapter_config.json").is_file():
        raise ConfigError(f"{adapter_dir}: no adapter_config.json; expected a PEFT adapter folder")
    name = name or (adapter_dir.parent.name if adapter_dir.name == "adapter" else adapter_dir.name)
    if name == BASE_RUN:
        raise ConfigError(f"adapter name {BASE_RUN!r} is reserved for the model without an adapter")
    study = _enclosing_study(adapter_dir)
    spec, trust = (model_spec, False)
    run = read_finished_run(RunPaths(adapter_dir.parent)) if study is not None else None
    if study is not None and (study.resolved_config.is_file() or run is not None):
        spec, trust = _study_model(study, model_spec, [run] if run else [])
    spec = spec or read_json(adapter_dir / "adapter_config.json").get("base_model_name_or_path")
    if not spec:
        raise ConfigError(f"{adapter_dir}: cannot tell which base model it belongs to; pass --model SPEC")
    return ServeTarget(spec, {name: adapter_dir}, training_system_prompt(study), trust, name,
                       decoding=_decoding(study))


def _enclosing_study(adapter_dir: Path) -> StudyPaths | None:
    run = adapter_dir.resolve().parent
    if adapter_dir.name != "adapter" or run.parent.name != "sweep":
        return None
    study = StudyPaths(run.parent.parent)
    return study if study.run(run.name) == run else None
