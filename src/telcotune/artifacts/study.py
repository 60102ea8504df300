"""What a study folder says about itself: its resolved config (config.json, an `ExperimentConfig`)
and the base model its runs were trained on."""

from __future__ import annotations

from ..config import ExperimentConfig
from ..errors import ConfigError
from ..models import ModelRef
from ..paths import StudyPaths
from .io import read_optional
from .run import FinishedRun


def read_study_config(study: StudyPaths) -> ExperimentConfig | None:
    """The study's config.json; None for a folder made by `data` + `sweep` alone."""
    return read_optional(study.resolved_config, ExperimentConfig)


def study_model(study: StudyPaths, runs: list[FinishedRun], override: str | None = None) -> ModelRef:
    """The base model: `override` (--model), else the study's config.json, else what every run's
    own config.json names."""
    config = read_study_config(study)
    if config is not None:
        return ModelRef(override or config.model.spec, config.model.trust_remote_code)
    named = {(r.config.model, r.config.trust_remote_code) for r in runs}
    if override:
        return ModelRef(override, any(trust for _, trust in named))
    if len(named) == 1:
        return ModelRef(*next(iter(named)))
    if not named:
        raise ConfigError(f"{study.resolved_config} not found and no run names its base model; pass --model SPEC "
                          "(the base model the adapters were trained on)")
    specs = ", ".join(sorted({spec for spec, _ in named}))
    raise ConfigError(f"the runs of {study.sweep} were trained on different base models ({specs}); "
                      f"pick runs of one model with --run, or pass --model SPEC")
