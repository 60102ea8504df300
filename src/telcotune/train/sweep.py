"""The sweep: every LoRA configuration trained one after another on data tokenized once.

- Validated before the first run: names unique, `--only` names known, every run's target
  modules present in the model (read from the model's config on the meta device, no weights).
- The data is tokenized once for the whole sweep and cached as SWEEP_DIR/.tokenized-<key>.pt
  (key: tokenizer files and chat template, data file hashes, format version); runs truncate to
  their own `max_length` when batching, so one cache serves them all. It is only tokenized when
  some run still has to train.
- Each run gets a freshly loaded base model and a new adapter; a run whose manifest is current
  is skipped, one with a checkpoint resumes.
- SWEEP_DIR/sweep.json and sweep.csv list every finished run of the sweep (also after a
  partial `only` call); SWEEP_DIR/manifest.json is written last, once every run is finished.
  `energy_kwh` is the run's whole energy (training + validation phases, energy.json `total`);
  `j_per_token` is the training phase's energy per training token; `energy_method` is
  measured / estimated / missing. sweep.json rows also carry best_step, final_val_loss, steps,
  train_tokens, precision and `settings` (every train setting of the run).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rich.console import Console

from ..config import SweepRun
from ..energy.base import Meter
from ..errors import ConfigError
from ..fsio import read_json, write_json, write_text
from ..manifest import hash_obj, is_current, now_iso, write_manifest
from ..models import load_tokenizer, resolve_model
from .lora import check_targets, meta_model_linear_names
from .metering import default_meter
from .run import data_inputs, run_config_hash, run_is_current, train_run, train_settings
from .tokenize import TokenizedData, tokenize_data

STAGE = "sweep"
CSV_COLUMNS = [
    "name", "r", "alpha", "dropout", "lr", "targets", "trainable_params", "best_val_loss",
    "duration_s", "tokens_per_s", "energy_kwh", "j_per_token", "energy_method",
]
console = Console(stderr=True)


def with_max_steps(runs: Iterable[SweepRun], max_steps: int | None) -> list[SweepRun]:
    if max_steps is None:
        return list(runs)
    if max_steps < 1:
        raise ConfigError(f"--max-steps: must be at least 1, got {max_steps}")
    return [SweepRun.model_validate({**r.model_dump(), "max_steps": max_steps}) for r in runs]


def validate_sweep(runs: list[SweepRun], model_dir: Path, only: Iterable[str] | None = None,
                   model_label: str = "the model") -> list[SweepRun]:
    """Check the whole sweep before anything runs; return the runs to train (in sweep order)."""
    if not runs:
        raise ConfigError("the sweep has no runs")
    names = [r.name for r in runs]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ConfigError(f"duplicate run name(s) in the sweep: {', '.join(dupes)}")
    linear = meta_model_linear_names(model_dir)
    for r in runs:
        try:
            check_targets(r.target_modules(), linear, model_label)
        except ConfigError as exc:
            raise ConfigError(f"run {r.name}: {exc}") from None
    if only:
        wanted = list(dict.fromkeys(only))
        unknown = [n for n in wanted if n not in names]
        if unknown:
            raise ConfigError(f"--only: unknown run(s) {', '.join(unknown)}; the sweep has: {', '.join(names)}")
        return [r for r in runs if r.name in wanted]
    return list(runs)


def sweep_row(run: SweepRun, run_dir: Path) -> dict[str, Any]:
    metrics = read_json(run_dir / "metrics.json")
    energy = read_json(run_dir / "energy.json") if (run_dir / "energy.json").is_file() else {}
    total = energy.get("total") or {}
    return {
        "name": run.name, "r": run.r, "alpha": run.alpha, "dropout": run.dropout, "lr": run.lr,
        "targets": run.targets, "trainable_params": metrics.get("trainable_params"),
        "best_val_loss": metrics.get("best_val_loss"), "duration_s": metrics.get("duration_s"),
        "tokens_per_s": metrics.get("tokens_per_s"), "energy_kwh": total.get("energy_kwh"),
        "j_per_token": energy.get("j_per_token"), "energy_method": energy.get("method"),
        "best_step": metrics.get("best_step"), "final_val_loss": metrics.get("final_val_loss"),
        "steps": metrics.get("steps"), "train_tokens": metrics.get("train_tokens"),
        "precision": metrics.get("precision"), "settings": train_settings(run),
    }


def _csv(rows: list[dict[str, Any]]) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: "" if row.get(k) is None else row.get(k) for k in CSV_COLUMNS})
    return buf.getvalue()


def run_sweep(
    data_dir: str | Path,
    sweep_dir: str | Path,
    runs: list[SweepRun],
    model_spec: str,
    *,
    meter_factory: Callable[[], Meter] | None = None,
    only: Iterable[str] | None = None,
    max_steps: int | None = None,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Train every run of the sweep into SWEEP_DIR/<name>/ and summarise them.

    Returns one row per finished run (sweep order): the sweep.csv columns plus best_step,
    final_val_loss, steps, train_tokens, precision and the run's settings. `meter_factory()`
    makes each run's energy meter (default: the default energy settings' meter). `only` trains
    just those runs; `max_steps` overrides every run's max_steps (and so its identity)."""
    started_at = now_iso()
    sweep_dir = Path(sweep_dir)
    data_dir = Path(data_dir).resolve()
    runs = with_max_steps(runs, max_steps)
    model_dir = resolve_model(model_spec)
    selected = validate_sweep(runs, model_dir, only, f"model {model_spec!r}")
    inputs = data_inputs(data_dir)
    make_meter = meter_factory or default_meter
    tokenized: TokenizedData | None = None

    for i, run in enumerate(selected, 1):
        run_dir = sweep_dir / run.name
        if run_is_current(run_dir, run, model_spec, inputs):
            console.print(f"[{i}/{len(selected)}] {run.name}: done, skipped")
            continue
        if tokenized is None:
            tokenized = tokenize_data(data_dir, load_tokenizer(model_dir), cache_dir=sweep_dir)
        console.print(f"[{i}/{len(selected)}] {run.name}: training")
        m = train_run(data_dir, run_dir, run, model_spec, meter=make_meter(), tokenized=tokenized,
                      progress=progress)
        console.print(
            f"[{i}/{len(selected)}] {run.name}: best val loss {m['best_val_loss']:.4f} at step "
            f"{m['best_step']}, {m['steps']} steps, {m['tokens_per_s'] or 0:.0f} tok/s, "
            f"{m['duration_s']:.0f} s", highlight=False)

    finished = [r for r in runs if run_is_current(sweep_dir / r.name, r, model_spec, inputs)]
    rows = [sweep_row(r, sweep_dir / r.name) for r in finished]
    summary = {"model": model_spec, "data_dir": str(data_dir), "max_steps_override": max_steps,
               "runs_total": len(runs), "runs_finished": len(rows),
               "pending": [r.name for r in runs if r not in finished], "runs": rows}
    write_json(sweep_dir / "sweep.json", summary)
    write_text(sweep_dir / "sweep.csv", _csv(rows))
    if len(finished) == len(runs):
        config_hash = sweep_config_hash(runs, model_spec)
        if not is_current(sweep_dir, STAGE, config_hash, inputs):
            write_manifest(sweep_dir, STAGE, config_hash, inputs, started_at,
                           outputs=["sweep.json", "sweep.csv", *(r.name for r in runs)],
                           extra={"model": model_spec, "runs": [r.name for r in runs]})
    return rows


def sweep_config_hash(runs: list[SweepRun], model_spec: str) -> str:
    return hash_obj({"runs": {r.name: run_config_hash(r, model_spec) for r in runs}})

