"""What rating reads from a study folder: the evaluation's answers, the LLM judges' judgments
and each run's validation loss. Files only; no stage code runs and nothing is written."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from ..errors import DataError, StageError
from ..judge.evidence import pair_verdicts, score_rows
from ..fsio import read_json
from ..judge.base import Judgment
from ..paths import EvalPaths, RunPaths, StudyPaths
from ..rank import PairVerdict, ScoreRow


@dataclass(frozen=True)
class Answer:
    run: str
    prompt_id: str
    prompt_set: str
    messages: tuple[dict[str, str], ...]
    """The conversation up to the customer's last turn (system message included)."""
    text: str


@dataclass(frozen=True)
class AnswerBook:
    """Every evaluation answer: prompt id -> run -> answer."""

    by_prompt: dict[str, dict[str, Answer]]

    def get(self, prompt_id: str, run: str) -> Answer | None:
        return self.by_prompt.get(prompt_id, {}).get(run)

    @property
    def runs(self) -> tuple[str, ...]:
        return tuple(sorted({run for answers in self.by_prompt.values() for run in answers}))

    def __len__(self) -> int:
        return sum(len(answers) for answers in self.by_prompt.values())


@dataclass(frozen=True)
class JudgeEvidence:
    """One LLM judge's usable judgments, as the rank package takes them."""

    judge: str
    verdicts: tuple[PairVerdict, ...]
    rows: tuple[ScoreRow, ...]


def _jsonl_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    rows = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path}: line {number}: not JSON ({exc.msg})") from None
        if not isinstance(row, dict):
            raise DataError(f"{path}: line {number}: expected a JSON object")
        rows.append((number, row))
    return rows


def _answer(path: Path, number: int, row: dict[str, Any]) -> Answer:
    for key, kind in (("id", str), ("run", str), ("prompt", list), ("answer", str)):
        if not isinstance(row.get(key), kind):
            raise DataError(f"{path}: line {number}: {key}: missing or not a {kind.__name__}")
    messages = tuple({"role": str(m.get("role")), "content": str(m.get("content", ""))}
                     for m in row["prompt"] if isinstance(m, dict))
    return Answer(row["run"], row["id"], str(row.get("set", "")), messages, row["answer"])


def load_answers(eval_dir: Path) -> AnswerBook:
    """StageError when the evaluation wrote no answers yet."""
    paths = EvalPaths(Path(eval_dir))
    files = sorted(paths.answers_dir.glob("*.jsonl")) if paths.answers_dir.is_dir() else []
    if not files:
        raise StageError(f"{paths.answers_dir}: no answers to rate; run `telcotune evaluate` (or `telcotune run`) first")
    by_prompt: dict[str, dict[str, Answer]] = {}
    for path in files:
        for number, row in _jsonl_rows(path):
            answer = _answer(path, number, row)
            by_prompt.setdefault(answer.prompt_id, {})[answer.run] = answer
    return AnswerBook(dict(sorted(by_prompt.items())))


_JUDGMENT_FIELDS = {f.name for f in fields(Judgment)}


def load_judgments(eval_dir: Path) -> list[JudgeEvidence]:
    """Each judge's ok judgments (an absent judgments folder: no judges). A row that is not a
    judgment is a DataError naming the file and line."""
    paths = EvalPaths(Path(eval_dir))
    if not paths.judgments_dir.is_dir():
        return []
    by_judge: dict[str, list[Judgment]] = {}
    for path in sorted(paths.judgments_dir.glob("*.jsonl")):
        for number, row in _jsonl_rows(path):
            try:
                judgment = Judgment(**{k: v for k, v in row.items() if k in _JUDGMENT_FIELDS})
            except TypeError as exc:
                raise DataError(f"{path}: line {number}: not a judgment ({exc})") from None
            by_judge.setdefault(judgment.judge, []).append(judgment)
    try:
        return [JudgeEvidence(judge, tuple(pair_verdicts(js)), tuple(score_rows(js)))
                for judge, js in sorted(by_judge.items())]
    except (ValueError, TypeError) as exc:
        raise DataError(f"{paths.judgments_dir}: a judgment is malformed ({exc})") from None


def load_val_losses(study_root: Path, runs: tuple[str, ...]) -> dict[str, float]:
    """Best validation loss of each of `runs` that has a finished training run."""
    study = StudyPaths(Path(study_root))
    out = {}
    for run in runs:
        metrics = RunPaths(study.run(run)).metrics
        if metrics.is_file():
            loss = read_json(metrics).get("best_val_loss")
            if isinstance(loss, (int, float)):
                out[run] = float(loss)
    return out
