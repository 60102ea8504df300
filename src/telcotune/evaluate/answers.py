"""Answers from the base model and every adapter: the base is loaded once and each adapter is
loaded on it, used and unloaded in turn (`adapters.AdapterHost`); generation is batched
(`generation.generate_batch`). Each run's answers are written as one file with an energy file
beside it, so an interrupted evaluation resumes per adapter."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

from ..adapters import AdapterHost
from ..artifacts.answers import AnswerRow, AnswersMeta
from ..artifacts.energy import AnswersEnergy
from ..artifacts.io import parse, read_optional, read_record, read_rows, write_record, write_rows
from ..artifacts.ranking import InferenceSummary
from ..config import DecodingConfig, EvalConfig
from ..energy.base import Meter, NullMeter, merge_readings, window
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


def _fingerprint(job: AnswerJob, prompts: list[EvalPrompt], cfg: EvalConfig, decoding: DecodingConfig) -> str:
    adapter = hash_inputs([job.adapter]) if job.adapter else None
    return hash_obj({"adapter": adapter, "prompts": [p.to_dict() for p in prompts],
                     "max_new_tokens": cfg.max_new_tokens, "seed": cfg.seed,
                     "decoding": decoding.model_dump(mode="json")})


@dataclass(frozen=True)
class Progress:
    """What a run already has for these settings: the rows to keep and the prompts still to answer."""

    kept: dict[str, AnswerRow]
    todo: list[EvalPrompt]
    previous_energy: AnswersEnergy | None
    """The energy of the answers kept (None when nothing is kept)."""

    @property
    def done(self) -> bool:
        return not self.todo


def _progress(paths: EvalPaths, job: AnswerJob, prompts: list[EvalPrompt], fingerprint: str) -> Progress:
    """Trust the answers file only as far as it goes: its meta must be of these settings, and when
    the file is not the one the meta describes (torn, emptied, edited) its whole, well-formed
    rows are kept and only the missing prompts are answered again."""
    nothing = Progress({}, list(prompts), None)
    try:
        meta = read_optional(paths.answers_meta(job.run), AnswersMeta)
        energy = read_optional(paths.answers_energy(job.run), AnswersEnergy)
    except StageError:
        return nothing  # a torn meta or energy file: answer again
    answers = paths.answers(job.run)
    if meta is None or meta.fingerprint != fingerprint or energy is None or not answers.is_file():
        return nothing
    if hash_file(answers) == meta.sha256:
        return Progress({r.id: r for r in read_answers(paths, job.run)}, [], energy)
    kept = {row.id: row for row in _whole_rows(answers, job.run)}
    wanted = {p.id for p in prompts}
    kept = {pid: row for pid, row in kept.items() if pid in wanted}
    return Progress(kept, [p for p in prompts if p.id not in kept], energy if kept else None)


def _whole_rows(path: Path, run: str) -> list[AnswerRow]:
    """The rows of a damaged answers file that still parse (a torn line is dropped)."""
    rows = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            row = parse(AnswerRow, json.loads(line), str(path))
        except (json.JSONDecodeError, StageError):
            continue
        if row.run == run:
            rows.append(row)
    return rows


def unfinished(jobs: list[AnswerJob], prompts: list[EvalPrompt], cfg: EvalConfig, decoding: DecodingConfig,
               paths: EvalPaths) -> list[AnswerJob]:
    """The jobs with prompts still to answer for these settings."""
    return [j for j in jobs if not _progress(paths, j, prompts, _fingerprint(j, prompts, cfg, decoding)).done]


def summaries_of(paths: EvalPaths, runs: list[str]) -> dict[str, InferenceSummary]:
    return {run: _summary(paths, run) for run in runs}


def answer_runs(model: ModelRef, jobs: list[AnswerJob], prompts: list[EvalPrompt], cfg: EvalConfig,
                decoding: DecodingConfig, paths: EvalPaths, meter: Meter | None = None, progress: bool = True) -> dict[str, InferenceSummary]:
    """Answer every prompt with every job's model (one base model, adapters in turn); returns
    per-run summaries. `decoding`: the study's `decoding` section."""
    meter = meter or NullMeter()
    states = {j.run: _progress(paths, j, prompts, _fingerprint(j, prompts, cfg, decoding)) for j in jobs}
    summaries = {j.run: _summary(paths, j.run) for j in jobs if states[j.run].done}
    todo = [j for j in jobs if not states[j.run].done]
    if not todo:
        return summaries
    model_dir = model.resolve()
    host = AdapterHost(model_dir, trust_remote_code=model.trust_remote_code)
    tokenizer = model.load_tokenizer(model_dir)
    total = sum(len(states[j.run].todo) for j in todo)
    with progress_bar("answering", total=total, enabled=progress) as advance:
        for job in todo:
            with host.as_run(job.run, job.adapter) as answering:
                summaries[job.run] = _answer_one(answering, tokenizer, job, prompts, states[job.run], cfg,
                                                 decoding, paths, meter, advance)
    return summaries



def _answer_one(model, tokenizer, job: AnswerJob, prompts: list[EvalPrompt], state: Progress, cfg: EvalConfig,
                decoding: DecodingConfig, paths: EvalPaths, meter: Meter, advance) -> InferenceSummary:
    """Answer the prompts still to do; write all of the run's answers (kept ones included), in
    prompt order, with the energy of every answer so far."""
    with window(meter, "inference") as measured:
        results = generate_batch(model, tokenizer, [p.messages for p in state.todo], max_new_tokens=cfg.max_new_tokens,
                                 decoding=decoding, seed=cfg.seed, batch_size=cfg.batch_size,
                                 on_batch=advance)
    new = {p.id: AnswerRow(id=p.id, set=p.set, run=job.run, prompt=p.messages, answer=r.text,
                           new_tokens=r.new_tokens, prompt_tokens=r.prompt_tokens, latency_s=round(r.latency_s, 4))
           for p, r in zip(state.todo, results)}
    rows = [state.kept.get(p.id) or new[p.id] for p in prompts]
    readings = [measured.reading]
    if state.previous_energy is not None:
        readings = [merge_readings("inference", [*state.previous_energy.phases.values(), measured.reading])]
    write_rows(paths.answers(job.run), rows)
    write_record(paths.answers_energy(job.run),
                 answers_energy(readings, generated_tokens=sum(r.new_tokens for r in rows)))
    write_record(paths.answers_meta(job.run), AnswersMeta(
        fingerprint=_fingerprint(job, prompts, cfg, decoding), adapter=str(job.adapter) if job.adapter else None,
        decoding=decoding,
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
