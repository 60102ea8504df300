"""Score the questions on the base model and every adapter: the base is loaded once, each
adapter is loaded on it, scored and unloaded in turn, each model's scores written to its own
file with a fingerprint, so a repeated or interrupted step scores only what changed."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..adapters import BASE_RUN, AdapterHost
from ..config import KnowledgeConfig
from ..energy.base import Meter, NullMeter, window
from ..errors import StageError
from ..manifest import hash_inputs, hash_obj
from ..models import ModelRef
from ..paths import EvalPaths
from ..progress import progress_bar
from .encoding import FORMAT, encode_question
from .mcq import Question
from .record import KnowledgeResult, ModelScores, QuestionScores, Source, read_scores, write_result, write_scores
from .results import build_result, question_key
from .scoring import score_questions

SCORER_VERSION = 1
"""Bump when a change to encoding or scoring changes the numbers: every model is then rescored."""


@dataclass(frozen=True)
class ScoringJob:
    run: str
    adapter: Path | None
    """None: the base model without an adapter."""


def run_knowledge(model: ModelRef, runs: Sequence[ScoringJob], questions: list[Question], sources: list[Source],
                  system_prompt: str, paths: EvalPaths, cfg: KnowledgeConfig, *, meter: Meter | None = None,
                  progress: bool = True) -> KnowledgeResult:
    """Score the base model (always, first) and every adapter job; write `paths.knowledge`."""
    jobs = [ScoringJob(BASE_RUN, None), *(j for j in runs if j.run != BASE_RUN)]
    scores = score_models(model, jobs, questions, system_prompt, paths, batch_size=cfg.batch_size,
                          meter=meter, progress=progress)
    result = build_result(model.spec, questions, sources, system_prompt, scores)
    write_result(paths.knowledge, result)
    return result


def fingerprint(model_spec: str, job: ScoringJob, questions: list[Question], system_prompt: str) -> str:
    return hash_obj({"scorer": SCORER_VERSION, "format": FORMAT, "model": model_spec,
                     "adapter": hash_inputs([job.adapter]) if job.adapter else None,
                     "system_prompt": system_prompt, "questions": [q.to_dict() for q in questions]})


def score_models(model: ModelRef, jobs: Sequence[ScoringJob], questions: list[Question], system_prompt: str,
                 paths: EvalPaths, *, batch_size: int = 16, meter: Meter | None = None,
                 progress: bool = True) -> dict[str, ModelScores]:
    """Every job's scores by run name, read back when current, else computed and written."""
    meter = meter or NullMeter()
    prints = {j.run: fingerprint(model.spec, j, questions, system_prompt) for j in jobs}
    scores = {j.run: s for j in jobs if (s := _current(paths.knowledge_scores(j.run), prints[j.run])) is not None}
    todo = [j for j in jobs if j.run not in scores]
    if not todo:
        return {j.run: scores[j.run] for j in jobs}
    model_dir = model.resolve()
    tokenizer = model.load_tokenizer(model_dir)
    encoded = [encode_question(tokenizer, q, system_prompt) for q in questions]
    host = AdapterHost(model_dir, trust_remote_code=model.trust_remote_code)
    with progress_bar("knowledge", total=len(todo) * len(questions), enabled=progress) as advance:
        for job in todo:
            with host.as_run(job.run, job.adapter) as model, window(meter, "knowledge") as measured:
                started = time.perf_counter()
                options = score_questions(model, encoded, batch_size=batch_size, on_batch=advance)
                duration_s = time.perf_counter() - started
            reading = measured.reading
            scores[job.run] = ModelScores(
                run=job.run, fingerprint=prints[job.run],
                questions=tuple(QuestionScores(question_key(q), tuple(o.logprob for o in opts),
                                               tuple(o.tokens for o in opts)) for q, opts in zip(questions, options)),
                duration_s=duration_s, energy_j=reading.energy_j, energy_method=reading.method,
                energy_missing_reason=reading.missing_reason)
            write_scores(paths.knowledge_scores(job.run), scores[job.run])
    return {j.run: scores[j.run] for j in jobs}


def _current(path: Path, expected: str) -> ModelScores | None:
    if not path.is_file():
        return None
    try:
        scores = read_scores(path)
    except StageError:  # torn, or from an older layout: score again
        return None
    return scores if scores.fingerprint == expected else None
