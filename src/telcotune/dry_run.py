"""`telcotune run --dry-run`: the study's plan without running it. Each stage is current or to
run (the same manifest checks the stages make), the sweep's runs with their optimizer steps,
and an estimated time per stage from a quick probe on this machine: a few template
conversations, two training steps of the base model with a fresh LoRA, one batch of answers.
Nothing is written to the study folder (the probe may convert the embedded model into the user
cache once, as any command does)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .config import ExperimentConfig, SweepRun, expand_sweep
from .paths import DataPaths, StudyPaths

PROBE_CONVERSATIONS = 32
PROBE_STEPS = 2
PROBE_NEW_TOKENS = 16
PROBE_LENGTH_TOKENS = 256
TRAINED_SHARE = 0.7
"""Share of a conversation's tokens that are assistant tokens (`data inspect` shows about 70%
on the template data); the probe's loss covers that many."""
"""Probe sequence length when no data exists yet to measure (capped by max_length)."""


@dataclass
class RunPlan:
    name: str
    current: bool
    steps: int
    estimate_s: float | None


@dataclass
class StagePlan:
    name: str
    status: str
    detail: str
    estimate_s: float | None = None
    note: str = ""
    runs: list[RunPlan] = field(default_factory=list)


# ---------------------------------------------------------------- data


def _data_current(cfg: ExperimentConfig, data: DataPaths) -> bool:
    from .data.stage import STAGE, data_fingerprint
    from .manifest import StageRun, hash_inputs

    glossary = cfg.data.glossary_path()
    return StageRun(data.root, STAGE, data_fingerprint(cfg.data), hash_inputs([glossary], base=data.root)).current


def _data_plans(cfg: ExperimentConfig):
    from .data.glossary import load_glossary
    from .data.plan import plan_conversations
    from .data.scenarios import build_scenarios

    scenarios = build_scenarios(load_glossary(cfg.data.glossary_path()))
    d = cfg.data
    return plan_conversations(scenarios, d.per_scenario, d.seed, d.mistake_rate, d.max_turns)


def _probe_template(cfg: ExperimentConfig, plans) -> float:
    """Seconds per conversation of the offline template generator."""
    from .data.stage import _generate
    from .llm.client import build_client

    client = build_client(cfg.data.backend, cfg.data, use_cache=False)
    sample = plans[:PROBE_CONVERSATIONS]
    t0 = time.perf_counter()
    _generate(client, sample, progress=False)
    return (time.perf_counter() - t0) / max(1, len(sample))


def plan_data(cfg: ExperimentConfig, data: DataPaths) -> StagePlan:
    if _data_current(cfg, data):
        return StagePlan("data", "current", f"{data.root}", 0.0)
    plans = _data_plans(cfg)
    detail = f"{len(plans):,} conversations to generate with {cfg.data.backend}"
    if cfg.data.backend != "template":
        return StagePlan("data", "to run", detail, None, "remote or local LLM backend: not probed")
    return StagePlan("data", "to run", detail, _probe_template(cfg, plans) * len(plans),
                     f"probe: {min(PROBE_CONVERSATIONS, len(plans))} conversations")


# ---------------------------------------------------------------- sweep


def _train_rows(cfg: ExperimentConfig, data: DataPaths) -> int:
    """Training conversations: the split file's when it exists, else the plan's share."""
    from .data.card import count_rows

    if data.split("train").is_file():
        return count_rows(data.split("train"))
    return round(len(_data_plans(cfg)) * cfg.data.split.train)


def run_steps(run: SweepRun, n_train: int) -> int:
    """Optimizer steps, as training computes them (`train.run.prepare`) from the batch count."""
    if run.max_steps:
        return run.max_steps
    n = min(n_train, run.max_train_examples or n_train)
    per_epoch = max(1, math.ceil(n / run.batch_size))
    return max(1, math.ceil(run.epochs * per_epoch / run.grad_accum))


def _run_current(cfg: ExperimentConfig, paths: StudyPaths, run: SweepRun) -> bool:
    from .train.sweep import finished_and_current

    data = DataPaths(paths.data)
    if not (data.split("train").is_file() and data.split("val").is_file()):
        return False
    return finished_and_current(paths.sweep_paths, run, cfg.model.spec, paths.data.resolve()) is not None


def _probe_training(cfg: ExperimentConfig, length: int) -> float:
    """Seconds per trained token: PROBE_STEPS optimizer steps (after one warm-up) of training's
    own loss (`train.loss.LossFn`), threads and precision, with a fresh LoRA of the train
    defaults, on random token batches of `length` with TRAINED_SHARE of them targets."""
    import torch

    from .train.lora import add_lora, count_params, model_targets
    from .train.loss import LossFn
    from .train.precision import pick_device, resolve_precision, use_threads

    ref = cfg.model.ref()
    model = ref.load_model()
    device = pick_device()
    if device.type == "cpu":
        use_threads(count_params(model)[1])
    model.config.use_cache = False
    model = add_lora(model, cfg.train, model_targets(model, cfg.train.targets, f"model {ref.spec!r}")).to(device)
    model.train()
    optimizer = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=cfg.train.lr)
    loss_fn = LossFn(model, device, resolve_precision(cfg.train.precision, device))
    gen = torch.Generator().manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (cfg.train.batch_size, length), generator=gen)
    targets = torch.rand((cfg.train.batch_size, length - 1), generator=gen) < TRAINED_SHARE

    def step() -> None:
        (loss_fn(ids, targets) / int(targets.sum())).backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    step()
    t0 = time.perf_counter()
    for _ in range(PROBE_STEPS):
        step()
    return (time.perf_counter() - t0) / (PROBE_STEPS * ids.numel())


def _mean_length(cfg: ExperimentConfig, data: DataPaths) -> int:
    from .artifacts.data import DataStats
    from .artifacts.io import read_optional

    stats = read_optional(data.stats, DataStats)
    length = round(stats.length_approx_tokens.mean) if stats is not None else PROBE_LENGTH_TOKENS
    return max(16, min(length, cfg.train.max_length))


def plan_sweep(cfg: ExperimentConfig, paths: StudyPaths, probe: bool) -> StagePlan:
    runs = expand_sweep(cfg)
    data = DataPaths(paths.data)
    n_train = _train_rows(cfg, data)
    length = _mean_length(cfg, data)
    todo = [r for r in runs if not _run_current(cfg, paths, r)]
    per_token = _probe_training(cfg, length) if probe and todo else None
    plans = []
    for r in runs:
        steps = run_steps(r, n_train)
        tokens = steps * r.grad_accum * r.batch_size * min(length, r.max_length)
        current = r not in todo
        plans.append(RunPlan(r.name, current, steps, 0.0 if current else
                             (tokens * per_token if per_token is not None else None)))
    status = "current" if not todo else ("to run" if len(todo) == len(runs) else "partly current")
    estimate = sum(p.estimate_s for p in plans if p.estimate_s is not None) if per_token is not None or not todo else None
    note = (f"probe: {PROBE_STEPS} steps of {cfg.train.batch_size} x {length} tokens; validation not included"
            if per_token is not None else "")
    return StagePlan("sweep", status, f"{len(todo)} of {len(runs)} runs to train, {n_train} training conversations",
                     estimate, note, plans)


# ---------------------------------------------------------------- evaluate and report


def _eval_current(cfg: ExperimentConfig, paths: StudyPaths) -> bool:
    from .artifacts.io import read_optional
    from .artifacts.manifest import StageManifest

    manifest = read_optional(paths.eval_paths.manifest, StageManifest)
    if manifest is None:
        return False
    from .evaluate.stage import evaluation_stage

    return evaluation_stage(paths.data, paths.sweep, paths.eval, cfg.model.ref(), cfg.eval, cfg.judges,
                            cfg.decoding, cfg.data.glossary_path()).current


def _probe_answers(cfg: ExperimentConfig, data: DataPaths, n: int) -> float:
    """Seconds per decoding step of a batch: one batch of up to eval.batch_size prompts."""
    from .evaluate.prompt_sets import load_prompts
    from .generation import generate_batch

    ref = cfg.model.ref()
    model, tokenizer = ref.load_model(), ref.load_tokenizer()
    prompts = load_prompts(data.root, cfg.eval.prompts, n, cfg.eval.seed)
    results = generate_batch(model, tokenizer, [p.messages for p in prompts], max_new_tokens=PROBE_NEW_TOKENS,
                             decoding=cfg.decoding, batch_size=len(prompts))
    steps = max(max(r.new_tokens for r in results), 1)
    return results[0].latency_s / steps


def _prompt_count(cfg: ExperimentConfig, data: DataPaths) -> int | None:
    from .data.card import count_rows

    total = 0
    for name in cfg.eval.prompts:
        path = data.split(name) if name in ("test", "test_ood") else Path(name)
        if not path.is_file():
            return None
        total += min(count_rows(path), cfg.eval.limit or count_rows(path))
    return total


def plan_evaluate(cfg: ExperimentConfig, paths: StudyPaths, sweep: StagePlan, probe: bool) -> StagePlan:
    if sweep.status == "current" and _eval_current(cfg, paths):
        return StagePlan("evaluate", "current", str(paths.eval), 0.0)
    answering = len(sweep.runs) + (1 if cfg.eval.include_base else 0)
    n_prompts = _prompt_count(cfg, DataPaths(paths.data))
    judges = ", ".join(cfg.judges.panel)
    if n_prompts is None:
        return StagePlan("evaluate", "to run", f"{answering} models answer; judges: {judges}", None,
                         "no prompts to probe before the data stage")
    detail = f"{answering} models x {n_prompts} prompts; judges: {judges}"
    if not probe or n_prompts == 0:
        return StagePlan("evaluate", "to run", detail)
    batch = min(cfg.eval.batch_size, n_prompts)
    per_step = _probe_answers(cfg, DataPaths(paths.data), batch)
    estimate = answering * math.ceil(n_prompts / batch) * cfg.eval.max_new_tokens * per_step
    return StagePlan("evaluate", "to run", detail, estimate,
                     f"answers only, at most {cfg.eval.max_new_tokens} new tokens each; judging not estimated")


def plan_study(cfg: ExperimentConfig, paths: StudyPaths, probe: bool = True) -> list[StagePlan]:
    data = plan_data(cfg, DataPaths(paths.data))
    sweep = plan_sweep(cfg, paths, probe)
    evaluate = plan_evaluate(cfg, paths, sweep, probe and data.status == "current")
    stale = any(s.status != "current" for s in (data, sweep, evaluate))
    report = StagePlan("report", "to run" if stale or not paths.report_paths.manifest.is_file() else "current",
                       str(paths.report), None, "seconds")
    return [data, sweep, evaluate, report]


# ---------------------------------------------------------------- printing


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def print_plan(cfg: ExperimentConfig, paths: StudyPaths, plans: list[StagePlan], console: Console) -> None:
    console.width = max(console.width, 120)  # one row per stage, not wrapped in a pipe
    console.print(f"dry run: study {cfg.name} in {paths.root}; nothing is written", markup=False)
    stages = Table("stage", "status", "what", "estimate", "how")
    for p in plans:
        stages.add_row(p.name, p.status, p.detail, _duration(p.estimate_s), p.note)
    console.print(stages)
    sweep = next(p for p in plans if p.name == "sweep")
    runs = Table("run", "status", "steps", "estimate")
    for r in sweep.runs:
        runs.add_row(r.name, "current" if r.current else "to run", str(r.steps), _duration(r.estimate_s))
    console.print(runs)
    known = [p.estimate_s for p in plans if p.estimate_s is not None]
    console.print(f"estimated total: {_duration(sum(known))} (stages without an estimate not included)", markup=False)
