"""The evaluation's answering on Ray: one task per adapter (and one for the base model), each
loading the base model once, scheduled with the runs' resources (`train.resources`) on the
sweep's cluster (`sweep.ray_address`). Answers are written into the evaluation folder by the
task, so that folder must be on storage every node sees; with `sweep.scratch` (a non-shared
study folder) answering stays local. A worker that dies is retried (`sweep.max_retries`) and
resumes from the answers already written; an adapter whose answering fails stops the
evaluation (a ranking needs every adapter's answers) after the others have finished.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import ray
from rich.console import Console

from ..config import DecodingConfig, EnergyConfig, EvalConfig, ResourcesConfig, SweepConfig
from ..energy.factory import make_meter
from ..errors import StageError
from ..evaluate.answers import AnswerJob, answer_runs, summaries_of, unfinished
from ..evaluate.prompt_sets import EvalPrompt
from ..models import ModelRef
from ..paths import EvalPaths
from .ray_sweep import POLL_S, failure_reason, ray_cluster, task_meter, task_options

console = Console(stderr=True)


def answer_task(model: ModelRef, job: AnswerJob, prompts: list[EvalPrompt], cfg: EvalConfig, decoding: DecodingConfig,
                eval_dir: Path, energy: EnergyConfig, threads: int) -> None:
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the CPUs Ray reserved for this task
    answer_runs(model, [job], prompts, cfg, decoding, EvalPaths(eval_dir), task_meter(energy), progress=False)


def answer_on_ray(model: ModelRef, jobs: list[AnswerJob], prompts: list[EvalPrompt], cfg: EvalConfig,
                  decoding: DecodingConfig, paths: EvalPaths, energy: EnergyConfig, placement: SweepConfig, resources: ResourcesConfig,
                  progress: bool = True):
    """Every job's answers (one Ray task each); the per-run summaries, as `answer_runs` returns."""
    if placement.scratch is not None:
        console.print("answering: the study folder is not shared (sweep.scratch), so adapters answer here")
        return answer_runs(model, jobs, prompts, cfg, decoding, paths, make_meter(energy), progress)
    todo = unfinished(jobs, prompts, cfg, decoding, paths)
    if todo:
        with ray_cluster(placement.ray_address):
            failures = _answer(model, todo, prompts, cfg, decoding, paths, energy, placement, resources, progress)
        if failures:
            detail = "; ".join(f"{run}: {why}" for run, why in failures.items())
            raise StageError(f"answering failed for {len(failures)} run(s) ({detail}); rerun to retry them")
    return summaries_of(paths, [j.run for j in jobs])


def _answer(model, jobs, prompts, cfg, decoding, paths, energy, placement, resources, progress) -> dict[str, str]:
    options = task_options(resources, ray.cluster_resources().get("GPU", 0) > 0)
    threads = max(1, math.ceil(options["num_cpus"]))
    remote = ray.remote(answer_task).options(**options, max_retries=placement.max_retries, retry_exceptions=False)
    prompts_ref, queue, running, failures = ray.put(prompts), list(jobs), {}, {}
    limit, finished = placement.max_concurrent or len(jobs), 0
    try:
        while queue or running:
            while queue and len(running) < limit:
                job = queue.pop(0)
                running[remote.remote(model, job, prompts_ref, cfg, decoding, paths.root, energy, threads)] = job
            ready, _ = ray.wait(list(running), num_returns=1, timeout=POLL_S)
            for ref in ready:
                job, finished = running.pop(ref), finished + 1
                try:
                    ray.get(ref)
                    text = f"{len(prompts)} answers"
                except ray.exceptions.RayError as exc:
                    failures[job.run] = failure_reason(exc)
                    text = f"failed: {failures[job.run]}"
                if progress:
                    console.print(f"answering [{finished}/{len(jobs)}] {job.run}: {text}", highlight=False)
    except KeyboardInterrupt:
        for ref in running:
            ray.cancel(ref, force=True)
        raise
    return failures
