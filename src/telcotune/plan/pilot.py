"""A finished study read as a pilot: each judge's scores and verdicts, and what the pilot
spent per answer and per judge call (seconds, tokens).

Read from the study folder as it is written today: eval/ranking.json (runs, judge files),
eval/judgments/<judge>.jsonl and .energy.json, eval/answers/<run>.jsonl and .energy.json,
and config.json (pairing). Nothing is imported from the stages that wrote them, so no model
is loaded.

Judge tokens per call are taken from the judgments when they record them
(`extra["usage"] = {"prompt_tokens": ..., "completion_tokens": ...}`). Otherwise they are
estimated from the texts the judge saw, at 4 characters per token: the prompt template, the
conversation and the answer(s) in, the recorded reply (or its rationale and scores) out. The
reference block from the scenario is not counted.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np

from ..config import EvalConfig
from ..judge.evidence import pair_verdicts, score_rows
from ..fsio import read_json, read_jsonl
from ..judge.base import Judgment
from ..paths import EvalPaths, StudyPaths
from ..prompts import load_prompt
from ..rank.inputs import PairVerdict, ScoreRow
from .variance import PlanInputError

CHARS_PER_TOKEN = 4.0
"""Rule of thumb for English text with the common BPE tokenizers."""

TokenBasis = Literal["recorded", "estimated"]


@dataclass(frozen=True)
class Tokens:
    """Mean tokens of one judge call."""

    prompt: float
    completion: float
    basis: TokenBasis


@dataclass(frozen=True)
class JudgePilot:
    judge: str
    judgments_file: Path
    rows: tuple[ScoreRow, ...]
    verdicts: tuple[PairVerdict, ...]
    n_calls: int
    """Judgments recorded, whatever their status."""
    seconds_per_call: float | None
    seconds_missing_reason: str | None
    pointwise_tokens: Tokens | None
    pairwise_tokens: Tokens | None


@dataclass(frozen=True)
class Pilot:
    root: Path
    runs: tuple[str, ...]
    n_prompts: int
    seconds_per_answer: float | None
    """Generation time of one answer (one run, one prompt), from the answers' energy files."""
    seconds_missing_reason: str | None
    eval_config: EvalConfig
    judges: tuple[JudgePilot, ...]


def _read_json(path: Path) -> Any:
    try:
        return read_json(path)
    except FileNotFoundError:
        raise PlanInputError(f"{path} not found: the plan reads a finished study (run "
                             f"`telcotune run` or `telcotune evaluate` first)") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise PlanInputError(f"{path}: not valid JSON ({exc})") from None


def _read_jsonl(path: Path) -> list[Any]:
    try:
        return read_jsonl(path)
    except FileNotFoundError:
        raise PlanInputError(f"{path} not found") from None
    except ValueError as exc:
        raise PlanInputError(str(exc)) from None


def _judgments(path: Path) -> list[Judgment]:
    out = []
    for line, row in enumerate(_read_jsonl(path), 1):
        try:
            out.append(Judgment(**row))
        except TypeError as exc:
            raise PlanInputError(f"{path}: line {line}: not a judgment ({exc})") from None
    return out


def _duration_s(energy: Any, path: Path) -> float | None:
    duration = ((energy or {}).get("total") or {}).get("duration_s")
    if duration is not None and not isinstance(duration, (int, float)):
        raise PlanInputError(f"{path}: total.duration_s: expected a number, got {duration!r}")
    return None if duration is None else float(duration)


def _seconds_per_call(judgments_file: Path, n_calls: int) -> tuple[float | None, str | None]:
    energy_file = judgments_file.with_name(f"{judgments_file.stem}.energy.json")
    if not energy_file.exists():
        return None, f"{energy_file.name} not found"
    duration = _duration_s(_read_json(energy_file), energy_file)
    if duration is None or n_calls == 0:
        return None, f"{energy_file.name} records no judging duration"
    return duration / n_calls, None


def _conversation_chars(messages: list[dict[str, str]]) -> int:
    names = {"user": "Customer", "assistant": "Assistant"}
    return sum(len(names[m["role"]]) + 2 + len(m["content"]) + 1 for m in messages if m.get("role") in names)


@dataclass(frozen=True)
class _Texts:
    conversation_chars: float
    answer_chars: float


def _texts(answers: dict[str, list[dict]]) -> _Texts | None:
    rows = [row for rows in answers.values() for row in rows]
    if not rows:
        return None
    return _Texts(float(np.mean([_conversation_chars(r.get("prompt") or []) for r in rows])),
                  float(np.mean([len(r.get("answer") or "") for r in rows])))


def _reply_chars(j: Judgment) -> int:
    if j.raw is not None:
        return len(j.raw)
    return len(json.dumps({**(j.scores or {}), "overall": j.overall, "verdict": j.verdict,
                           "rationale": j.rationale}))


def _recorded(judgments: list[Judgment]) -> Tokens | None:
    usages = [j.extra.get("usage") for j in judgments if isinstance(j.extra.get("usage"), dict)]
    if not usages:
        return None
    return Tokens(float(np.mean([u.get("prompt_tokens", 0) for u in usages])),
                  float(np.mean([u.get("completion_tokens", 0) for u in usages])), "recorded")


def _tokens(judgments: list[Judgment], protocol: str, texts: _Texts | None) -> Tokens | None:
    mine = [j for j in judgments if j.protocol == protocol]
    if not mine:
        return None
    recorded = _recorded(mine)
    if recorded is not None or texts is None:
        return recorded
    try:
        template = len(load_prompt("judge", f"{protocol}_{mine[0].prompt_version}"))
    except FileNotFoundError:  # an offline judge (the rubric) has no prompt and no tokens
        return None
    answers = 1 if protocol == "pointwise" else 2
    prompt_chars = template + texts.conversation_chars + answers * texts.answer_chars
    reply_chars = float(np.mean([_reply_chars(j) for j in mine]))
    return Tokens(prompt_chars / CHARS_PER_TOKEN, reply_chars / CHARS_PER_TOKEN, "estimated")


def _judge_files(ranking: dict[str, Any], paths: EvalPaths) -> dict[str, Path]:
    """judge spec -> judgments file; from ranking.json's judge_files, else every
    judgments/*.jsonl (named by the judge recorded in it)."""
    named = ranking.get("judge_files")
    if isinstance(named, dict) and named:
        return {spec: paths.judgments_dir / name for spec, name in named.items()}
    files = sorted(paths.judgments_dir.glob("*.jsonl"))
    out = {}
    for f in files:
        judgments = _judgments(f)
        out[judgments[0].judge if judgments else f.stem] = f
    return out


def _answers(paths: EvalPaths, runs: tuple[str, ...]) -> dict[str, list[dict]]:
    return {run: _read_jsonl(paths.answers(run)) for run in runs if paths.answers(run).exists()}


def _seconds_per_answer(paths: EvalPaths, answers: dict[str, list[dict]]) -> tuple[float | None, str | None]:
    total_s, total_answers = 0.0, 0
    for run, rows in answers.items():
        energy_file = paths.answers_energy(run)
        if not energy_file.exists():
            return None, f"{energy_file.name} not found"
        duration = _duration_s(_read_json(energy_file), energy_file)
        if duration is None:
            return None, f"{energy_file.name} records no duration"
        total_s, total_answers = total_s + duration, total_answers + len(rows)
    if total_answers == 0:
        return None, "no answers were recorded"
    return total_s / total_answers, None


def _eval_config(study: StudyPaths) -> EvalConfig:
    if not study.resolved_config.exists():
        return EvalConfig()
    config = _read_json(study.resolved_config)
    try:
        return EvalConfig.model_validate((config or {}).get("eval") or {})
    except ValueError as exc:
        raise PlanInputError(f"{study.resolved_config}: eval: {exc}") from None


def _runs(ranking: dict[str, Any], path: Path) -> tuple[str, ...]:
    runs = ranking.get("runs")
    if not isinstance(runs, list) or not all(isinstance(r, str) for r in runs):
        raise PlanInputError(f"{path}: runs: expected a list of run names")
    return tuple(runs)


def read_pilot(workdir: str | Path) -> Pilot:
    study = StudyPaths(Path(workdir))
    paths = EvalPaths(study.eval)
    ranking = _read_json(paths.ranking)
    runs = _runs(ranking, paths.ranking)
    answers = _answers(paths, runs)
    texts = _texts(answers)
    judges = []
    for spec, path in _judge_files(ranking, paths).items():
        judgments = _judgments(path)
        seconds, why = _seconds_per_call(path, len(judgments))
        judges.append(JudgePilot(spec, path, tuple(score_rows(judgments)), tuple(pair_verdicts(judgments)),
                                 len(judgments), seconds, why, _tokens(judgments, "pointwise", texts),
                                 _tokens(judgments, "pairwise", texts)))
    seconds, why = _seconds_per_answer(paths, answers)
    return Pilot(study.root, runs, _n_prompts(ranking, answers, judges), seconds, why,
                 _eval_config(study), tuple(judges))


def _n_prompts(ranking: dict[str, Any], answers: dict[str, list[dict]], judges: list[JudgePilot]) -> int:
    """Prompts answered; without answer files, the prompts any judge saw."""
    answered = {row.get("id") for rows in answers.values() for row in rows} - {None}
    if answered:
        return len(answered)
    return len({r.prompt_id for j in judges for r in j.rows} | {v.prompt_id for j in judges for v in j.verdicts})
