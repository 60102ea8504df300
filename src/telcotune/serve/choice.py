"""Which run of a study answers: a run name, `base`, `best-judge` (first of the panel's
pointwise order, the base excluded) or `best-loss` (lowest validation loss)."""

from __future__ import annotations

from dataclasses import dataclass

from ..adapters import BASE_RUN
from ..artifacts.io import read_record
from ..artifacts.ranking import Ranking
from ..artifacts.run import FinishedRun, finished_runs
from ..errors import ConfigError
from ..paths import StudyPaths

BEST_JUDGE = "best-judge"
BEST_LOSS = "best-loss"


@dataclass(frozen=True)
class RunChoice:
    name: str
    why: str
    """How the name was picked, for the user (`best-judge: first in rubric's pointwise order`)."""


def study_runs(study: StudyPaths) -> dict[str, FinishedRun]:
    """Finished runs (adapter and manifest written) by name; an error when there are none."""
    runs = {run.name: run for run in finished_runs(study.sweep_paths)}
    if not runs:
        raise ConfigError(f"{study.root}: no trained adapter to load (no finished run in {study.sweep})")
    return runs


def choose_run(study: StudyPaths, selector: str) -> RunChoice:
    runs = study_runs(study)
    if selector == BEST_JUDGE:
        choice = _best_by_judge(_ranking(study, runs), runs)
    elif selector == BEST_LOSS:
        choice = _best_by_loss(study, runs)
    else:
        choice = RunChoice(selector, "named")
    if choice.name != BASE_RUN and choice.name not in runs:
        raise ConfigError(f"run {choice.name!r} is not a finished run of {study.sweep}; {_available(runs)}")
    return choice


def _available(runs: dict[str, FinishedRun]) -> str:
    names = ", ".join(sorted(runs)) or "none"
    return f"available runs: {names} (or {BASE_RUN}, {BEST_JUDGE}, {BEST_LOSS})"


def _ranking(study: StudyPaths, runs: dict[str, FinishedRun]) -> Ranking:
    path = study.eval_paths.ranking
    if not path.is_file():
        raise ConfigError(f"{path} not found: run `telcotune evaluate` first, or pick a run with "
                          f"--run NAME; {_available(runs)}")
    return read_record(path, Ranking)


def _best_by_judge(ranking: Ranking, runs: dict[str, FinishedRun]) -> RunChoice:
    # Judges appear in panel order; the first one with a pointwise ranking decides.
    for judge, section in ranking.judges.items():
        order = [name for name in (section.pointwise.order if section.pointwise else ()) if name != BASE_RUN]
        if order:
            return RunChoice(order[0], f"{BEST_JUDGE}: first in {judge}'s pointwise order")
    raise ConfigError(f"ranking.json has no pointwise judge ranking of an adapter; use --run {BEST_LOSS} "
                      f"or --run NAME; {_available(runs)}")


def _best_by_loss(study: StudyPaths, runs: dict[str, FinishedRun]) -> RunChoice:
    path = study.eval_paths.ranking
    if path.is_file():
        order = read_record(path, Ranking).loss_order
        if order:
            return RunChoice(order[0], f"{BEST_LOSS}: first in ranking.json's loss_order")
    # Not evaluated yet: the validation losses the sweep wrote give the same answer.
    losses = {name: run.val_loss for name, run in runs.items() if run.val_loss is not None}
    if not losses:
        raise ConfigError(f"no run of {study.sweep} recorded a validation loss; {_available(runs)}")
    return RunChoice(min(losses, key=losses.get), f"{BEST_LOSS}: lowest best_val_loss in the sweep")
