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
from ..artifacts.answers import AnswerRow, AnswersMeta
from ..artifacts.energy import AnswersEnergy
from ..artifacts.io import read_optional, read_record, read_rows, write_record, write_rows
from ..artifacts.ranking import InferenceSummary
from ..config import EvalConfig
from ..energy.base import Meter, NullMeter, window
from ..energy.summary import answers_energy
from ..errors import StageError
from ..generation import generate_batch
from ..manifest import hash_file, hash_inputs, hash_obj
from ..models import ModelRef
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
    """The run's answers exist for these settings and the file is the one the meta describes."""
    try:
        meta = read_optional(paths.answers_meta(job.run), AnswersMeta)
    except StageError:
        return False  # a torn meta file: answer again
    answers = paths.answers(job.run)
    return (meta is not None and meta.fingerprint == fingerprint and answers.is_file()
            and paths.answers_energy(job.run).is_file() and hash_file(answers) == meta.sha256)


def answer_runs(model: ModelRef, jobs: list[AnswerJob], prompts: list[EvalPrompt], cfg: EvalConfig,
                paths: EvalPaths, meter: Meter | None = None, progress: bool = True) -> dict[str, InferenceSummary]:
    """Answer every prompt with every job's model; returns per-run summaries."""
    meter = meter or NullMeter()
    todo = [j for j in jobs if not _is_done(paths, j, _fingerprint(j, prompts, cfg))]
    summaries = {j.run: _summary(paths, j.run) for j in jobs if j not in todo}
    if not todo:
        return summaries
    model_dir = model.resolve()
    host = AdapterHost(model_dir, trust_remote_code=model.trust_remote_code)
    tokenizer = model.load_tokenizer(model_dir)
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
                paths: EvalPaths, meter: Meter, advance) -> InferenceSummary:
    with window(meter, "inference") as measured:
        results = generate_batch(model, tokenizer, [p.messages for p in prompts], max_new_tokens=cfg.max_new_tokens,
                                 temperature=cfg.temperature, seed=cfg.seed, batch_size=cfg.batch_size,
                                 on_batch=advance)
    rows = [AnswerRow(id=p.id, set=p.set, run=job.run, prompt=p.messages, answer=r.text, new_tokens=r.new_tokens,
                      prompt_tokens=r.prompt_tokens, latency_s=round(r.latency_s, 4))
            for p, r in zip(prompts, results)]
    write_rows(paths.answers(job.run), rows)
    write_record(paths.answers_energy(job.run),
                 answers_energy([measured.reading], generated_tokens=sum(r.new_tokens for r in rows)))
    write_record(paths.answers_meta(job.run), AnswersMeta(
        fingerprint=_fingerprint(job, prompts, cfg), adapter=str(job.adapter) if job.adapter else None,
        written_at=time.time(), rows=len(rows), sha256=hash_file(paths.answers(job.run))))
    return _summary(paths, job.run)


def read_answers(paths: EvalPaths, run: str) -> list[AnswerRow]:
    return read_rows(paths.answers(run), AnswerRow)


def _summary(paths: EvalPaths, run: str) -> InferenceSummary:
    rows = read_answers(paths, run)
    energy = read_record(paths.answers_energy(run), AnswersEnergy)
    new_tokens = sum(r.new_tokens for r in rows)
    duration_s = energy.total.duration_s
    return InferenceSummary(run=run, answers=len(rows), new_tokens=new_tokens,
                            j_per_generated_token=energy.j_per_generated_token, energy_method=energy.method,
                            energy_j=energy.total.energy_j, duration_s=duration_s,
                            tokens_per_s=new_tokens / duration_s if duration_s else None)
