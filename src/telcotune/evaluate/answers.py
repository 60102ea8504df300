"""Answers from the base model and every adapter: the base is loaded once and each adapter is
loaded on it, used and unloaded in turn (`adapters.AdapterHost`); generation is batched
(`generation.generate_batch`). Each run's answers are written as one file with an energy file
beside it, so an interrupted evaluation resumes per adapter."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..adapters import BASE_RUN, AdapterHost
from ..config import EvalConfig
from ..energy.base import Meter, NullMeter, window
from ..energy.summary import write_energy
from ..fsio import read_json, read_jsonl, write_json, write_jsonl
from ..generation import generate_batch
from ..manifest import hash_inputs, hash_obj
from ..models import load_tokenizer
from ..paths import EvalPaths
from ..progress import progress_bar
from .prompt_sets import EvalPrompt

@dataclass(frozen=True)
class AnswerJob:
    run: str
    adapter: Path | None
    """None: the base model without an adapter."""


def _fingerprint(job: AnswerJob, prompts: list[EvalPrompt], cfg: EvalConfig) -> str:
    adapter = hash_inputs([job.adapter]) if job.adapter else None
    return hash_obj({"adapter": adapter, "prompts": [p.to_dict() for p in prompts],
                     "max_new_tokens": cfg.max_new_tokens, "temperature": cfg.temperature, "seed": cfg.seed})


def _is_done(paths: EvalPaths, job: AnswerJob, fingerprint: str) -> bool:
    meta = paths.answers_dir / f"{job.run}.meta.json"
    return (paths.answers(job.run).is_file() and paths.answers_energy(job.run).is_file()
            and meta.is_file() and read_json(meta).get("fingerprint") == fingerprint)


def answer_runs(model_dir: Path, jobs: list[AnswerJob], prompts: list[EvalPrompt], cfg: EvalConfig,
                paths: EvalPaths, meter: Meter | None = None, progress: bool = True) -> dict[str, dict]:
    """Answer every prompt with every job's model; returns per-run summaries."""
    meter = meter or NullMeter()
    todo = [j for j in jobs if not _is_done(paths, j, _fingerprint(j, prompts, cfg))]
    summaries = {j.run: _summary(paths, j.run) for j in jobs if j not in todo}
    if not todo:
        return summaries
    host = AdapterHost(model_dir)
    tokenizer = load_tokenizer(model_dir)
    with progress_bar("answering", total=len(todo) * len(prompts), enabled=progress) as advance:
        for job in todo:
            with _answering_as(host, job) as model:
                summaries[job.run] = _answer_one(model, tokenizer, job, prompts, cfg, paths, meter, advance)
    return summaries


@contextlib.contextmanager
def _answering_as(host: AdapterHost, job: AnswerJob) -> Iterator[Any]:
    """The host's model answering as `job`; its adapter is in memory only meanwhile."""
    if job.adapter is None:
        with host.use(BASE_RUN) as model:
            yield model
        return
    host.load(job.run, job.adapter)
    try:
        with host.use(job.run) as model:
            yield model
    finally:
        host.unload(job.run)


def _answer_one(model, tokenizer, job: AnswerJob, prompts: list[EvalPrompt], cfg: EvalConfig,
                paths: EvalPaths, meter: Meter, advance) -> dict:
    with window(meter, "inference") as measured:
        results = generate_batch(model, tokenizer, [p.messages for p in prompts], max_new_tokens=cfg.max_new_tokens,
                                 temperature=cfg.temperature, seed=cfg.seed, batch_size=cfg.batch_size,
                                 on_batch=advance)
    rows = [{"id": p.id, "set": p.set, "run": job.run, "prompt": p.messages, "answer": r.text,
             "new_tokens": r.new_tokens, "prompt_tokens": r.prompt_tokens, "latency_s": round(r.latency_s, 4)}
            for p, r in zip(prompts, results)]
    new_tokens = sum(r["new_tokens"] for r in rows)
    write_jsonl(paths.answers(job.run), rows)
    write_energy(paths.answers_energy(job.run), [measured.reading], tokens=new_tokens, token_label="generated")
    write_json(paths.answers_dir / f"{job.run}.meta.json",
               {"fingerprint": _fingerprint(job, prompts, cfg), "adapter": str(job.adapter) if job.adapter else None,
                "written_at": time.time()})
    return _summary(paths, job.run)


def _summary(paths: EvalPaths, run: str) -> dict:
    rows = read_jsonl(paths.answers(run))
    energy = read_json(paths.answers_energy(run))
    new_tokens = sum(r["new_tokens"] for r in rows)
    return {"run": run, "answers": len(rows), "new_tokens": new_tokens,
            "j_per_token": energy.get("j_per_token"), "energy_method": energy.get("method"),
            "energy_j": energy["total"].get("energy_j"), "duration_s": energy["total"].get("duration_s"),
            "tokens_per_s": new_tokens / energy["total"]["duration_s"] if energy["total"].get("duration_s") else None}
