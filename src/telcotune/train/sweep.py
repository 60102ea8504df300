"""The sweep: every LoRA configuration trained on data tokenized once, one after another here
(the local executor) or as Ray tasks (`sweep.executor: ray`, `cluster/ray_sweep.py`).

- Validated before the first run: names unique, `--only` names known, every run's target
  modules present in the model (read from the model's config on the meta device, no weights).
- The data is tokenized once for the whole sweep and cached as SWEEP_DIR/.tokenized-<key>.pt
  (key: tokenizer files and chat template, data file hashes, format version); runs truncate to
  their own `max_length` when batching, so one cache serves them all. It is only tokenized when
  some run still has to train.
- Each run gets a freshly loaded base model and a new adapter; a run whose manifest is current
  is skipped, one with a checkpoint resumes.
- On Ray a run that fails fails alone: the others finish, sweep.json lists it under `failed`,
  and the sweep ends with a table of the failures and SweepFailed (exit code 2).
- SWEEP_DIR/sweep.json (`artifacts.sweep.SweepSummary`) and sweep.csv list every finished run of
  the sweep (also after a partial `only` call); SWEEP_DIR/manifest.json is written last, once
  every run is finished. `energy_kwh` is the run's whole energy (training + validation phases);
  `j_per_train_token` is the training phase's energy per training token; `energy_method` is
  measured / estimated / missing.
- Before the runs, the base model's validation loss is measured once on the validation set of
  the sweep's first run (`reference.py`, SWEEP_DIR/_base/); sweep.json carries it and, for every
  run validated on the same conversations, its paired improvement over the base
  (`improvement.py`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from ..artifacts.io import read_optional, write_record
from ..artifacts.run import ExampleLosses, FinishedRun, RunMetrics, read_finished_run
from ..artifacts.sweep import CSV_COLUMNS, BaseValidation, SweepRow, SweepSummary
from ..cluster import uses_ray
from ..config import EnergyConfig, SweepConfig, SweepRun
from ..energy.base import Meter
from ..errors import ConfigError, DataError, StageError
from ..fsio import write_text
from ..manifest import StageRun, hash_obj
from ..models import ModelRef
from ..paths import SweepPaths
from .improvement import improvement
from .lora import meta_model, model_targets
from .metering import default_meter
from .reference import base_stage, measure_base
from .run import data_inputs, run_config_hash, run_stage, train_run
from .tokenize import TokenizedData, tokenize_data

STAGE = "sweep"
console = Console(stderr=True)


def with_max_steps(runs: Iterable[SweepRun], max_steps: int | None) -> list[SweepRun]:
    if max_steps is None:
        return list(runs)
    if max_steps < 1:
        raise ConfigError(f"--max-steps: must be at least 1, got {max_steps}")
    return [SweepRun.model_validate({**r.model_dump(), "max_steps": max_steps}) for r in runs]


def validate_sweep(runs: list[SweepRun], model_dir: Path, only: Iterable[str] | None = None,
                   model_label: str = "the model", trust_remote_code: bool = False) -> list[SweepRun]:
    """Check the whole sweep before anything runs; return the runs to train (in sweep order)."""
    if not runs:
        raise ConfigError("the sweep has no runs")
    names = [r.name for r in runs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate run name(s) in the sweep: {', '.join(dupes)}")
    meta = meta_model(model_dir, trust_remote_code)
    for r in runs:
        try:
            model_targets(meta, r.targets, model_label)
        except ConfigError as exc:
            raise ConfigError(f"run {r.name}: {exc}") from None
    if only:
        wanted = list(dict.fromkeys(only))
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise ConfigError(f"--only: unknown run(s) {', '.join(unknown)}; the sweep has: {', '.join(names)}")
        return [r for r in runs if r.name in wanted]
    return list(runs)


def sweep_row(run: SweepRun, finished: FinishedRun, base: BaseValidation | None = None) -> SweepRow:
    """The run's row of sweep.json; with `base` (the base model's measurement), its paired improvement."""
    m, energy = finished.metrics, finished.energy
    losses = read_optional(finished.paths.val_losses, ExampleLosses)
    return SweepRow(
        name=run.name, r=run.r, alpha=run.alpha, dropout=run.dropout, lr=run.lr, targets=run.targets,
        target_modules=finished.config.target_modules, trainable_params=m.trainable_params,
        best_val_loss=m.best_val_loss, best_step=m.best_step, final_val_loss=m.final_val_loss, steps=m.steps,
        train_tokens=m.train_tokens, duration_s=m.duration_s, tokens_per_s=m.tokens_per_s,
        energy_kwh=energy.total.energy_kwh if energy else None,
        j_per_train_token=energy.j_per_train_token if energy else None,
        energy_method=energy.method if energy else None, precision=m.precision,
        settings=finished.config.train,
        improvement=improvement(base.losses, losses) if base is not None and losses is not None else None)


def _csv(rows: list[SweepRow]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        values = row.model_dump(mode="json")
        values["loss_ratio_to_base"] = row.improvement.ratio if row.improvement else None
        writer.writerow({k: "" if values.get(k) is None else values[k] for k in CSV_COLUMNS})
    return buf.getvalue()


def finished_and_current(sweep: SweepPaths, run: SweepRun, model_spec: str, data_dir: Path) -> FinishedRun | None:
    """The run's folder if it finished with exactly these settings and data (else None)."""
    paths = sweep.run(run.name)
    if not run_stage(paths.root, run, model_spec, data_dir).current:
        return None
    return read_finished_run(paths)


def run_sweep(
    data_dir: str | Path,
    sweep_dir: str | Path,
    runs: list[SweepRun],
    model: ModelRef,
    *,
    meter_factory: Callable[[], Meter] | None = None,
    only: Iterable[str] | None = None,
    max_steps: int | None = None,
    progress: bool = True,
    placement: SweepConfig | None = None,
    energy: EnergyConfig | None = None,
    on_step: Callable[[str, int], None] | None = None,
) -> list[SweepRow]:
    """Train every run of the sweep into SWEEP_DIR/<name>/ and summarise them.

    Returns one row per finished run (sweep order). `meter_factory()` makes each run's energy
    meter (default: the default energy settings' meter). `only` trains just those runs;
    `max_steps` overrides every run's max_steps (and so its identity). `placement` (the config's
    sweep section) chooses the executor: `ray` trains every run as a Ray task, whose meter is
    made in the task from `energy`; a run that fails there fails alone, and the sweep ends with
    SweepFailed listing them after the summary is written. `on_step(run, step)` after each
    optimizer step (tests interrupt runs with it)."""
    on_ray = uses_ray(placement)
    sweep = SweepPaths(Path(sweep_dir))
    data_dir = Path(data_dir).resolve()
    runs = with_max_steps(runs, max_steps)
    model_dir = model.resolve()
    selected = validate_sweep(runs, model_dir, only, f"model {model.spec!r}", model.trust_remote_code)
    tokenized: TokenizedData | None = None  # tokenized once, for the base and the runs alike
    if not base_stage(sweep, runs[0], model.spec, data_dir).current:
        tokenized = tokenize_data(data_dir, model.load_tokenizer(model_dir), cache=sweep)
        try:
            base = measure_base(data_dir, sweep, runs[0], model, tokenized)
        except DataError as exc:  # the reference only: the run validated this way fails alone, saying why
            console.print(f"base model: not measured ({exc}); no run gets an improvement over it", highlight=False)
        else:
            console.print(f"base model: validation loss {base.val_loss:.4f} on {base.val_examples} conversations "
                          f"({base.duration_s:.0f} s)", highlight=False)
    pending = []
    for i, run in enumerate(selected, 1):
        if finished_and_current(sweep, run, model.spec, data_dir):
            console.print(f"[{i}/{len(selected)}] {run.name}: done, skipped")
        else:
            pending.append(run)
    failures: dict[str, str] = {}
    if pending:
        tokenized = tokenized or tokenize_data(data_dir, model.load_tokenizer(model_dir), cache=sweep)
        if on_ray:
            from ..cluster.ray_sweep import train_on_ray  # ray is imported only here

            failures = train_on_ray(data_dir, sweep, pending, model, tokenized, placement,
                                    energy or EnergyConfig(), progress=progress, on_step=on_step)
        else:
            train_locally(data_dir, sweep, pending, model, tokenized, meter_factory or default_meter,
                          progress, on_step)
    rows = summarize_sweep(sweep, runs, model.spec, data_dir, max_steps, failures)
    if failures:
        table = Table("run", "why it failed", title=f"{len(failures)} of {len(pending)} run(s) failed")
        for name, why in failures.items():
            table.add_row(name, why)
        console.print(table)
        raise SweepFailed(failures)
    return rows


class SweepFailed(StageError):
    """Some runs of the sweep failed; the others finished and the summary lists both."""

    def __init__(self, failures: dict[str, str]):
        self.failures = dict(failures)
        detail = "; ".join(f"{name}: {why}" for name, why in failures.items())
        super().__init__(f"{len(failures)} run(s) of the sweep failed ({detail}); rerun the sweep to retry "
                         f"only the unfinished runs")


def train_locally(data_dir: Path, sweep: SweepPaths, runs: list[SweepRun], model: ModelRef,
                  tokenized: TokenizedData, make_meter: Callable[[], Meter], progress: bool,
                  on_step: Callable[[str, int], None] | None) -> None:
    """The local executor: one run after another in this process (the first error stops it)."""
    for i, run in enumerate(runs, 1):
        console.print(f"[{i}/{len(runs)}] {run.name}: training")
        step_hook = (lambda step, name=run.name: on_step(name, step)) if on_step else None
        m = train_run(data_dir, sweep.run(run.name).root, run, model, meter=make_meter(), tokenized=tokenized,
                      progress=progress, on_step=step_hook)
        console.print(f"[{i}/{len(runs)}] {run.name}: {run_line(m)}", highlight=False)


def run_line(m: RunMetrics) -> str:
    """A finished run in one line (both executors print it)."""
    return (f"best val loss {m.best_val_loss:.4f} at step {m.best_step}, {m.steps} steps, "
            f"{m.tokens_per_s or 0:.0f} tok/s, {m.duration_s:.0f} s")


def summarize_sweep(sweep: SweepPaths, runs: list[SweepRun], model_spec: str, data_dir: Path,
                    max_steps: int | None, failures: dict[str, str] | None = None) -> list[SweepRow]:
    """sweep.json and sweep.csv from the finished runs; the manifest once every run is finished."""
    finished = {r.name: f for r in runs if (f := finished_and_current(sweep, r, model_spec, data_dir))}
    base = (read_optional(sweep.base_record, BaseValidation)
            if base_stage(sweep, runs[0], model_spec, data_dir).current else None)
    rows = [sweep_row(r, finished[r.name], base) for r in runs if r.name in finished]
    stage = StageRun(sweep.root, STAGE, sweep_config_hash(runs, model_spec), data_inputs(data_dir, sweep.root))
    if len(finished) == len(runs) and stage.current:
        return rows
    with stage:
        write_record(sweep.summary, SweepSummary(
            model=model_spec, data_dir=str(data_dir), max_steps_override=max_steps, runs_total=len(runs),
            runs_finished=len(rows), pending=[r.name for r in runs if r.name not in finished],
            failed=dict(failures or {}), runs=rows, base=base))
        write_text(sweep.table, _csv(rows))
        if len(finished) == len(runs):
            stage.complete([sweep.summary.name, sweep.table.name],
                           extra={"model": model_spec, "runs": [r.name for r in runs]})
    return rows


def sweep_config_hash(runs: list[SweepRun], model_spec: str) -> str:
    return hash_obj({"runs": {r.name: run_config_hash(r, model_spec) for r in runs}})
