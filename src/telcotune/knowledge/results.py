"""From every model's option scores to the knowledge result: accuracy per model and category,
the paired difference of each adapter to the base model, Holm's correction and the verdicts.
No torch: it reads scores, whatever computed them."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from ..adapters import BASE_RUN
from ..energy.base import combine_methods
from ..errors import StageError
from ..manifest import now_iso
from .encoding import FORMAT
from .mcq import Question
from .record import BaseComparison, KnowledgeResult, ModelKnowledge, ModelScores, Source
from .stats import VERDICT_RULE, accuracy, holm, paired_difference, verdict


def question_key(question: Question) -> str:
    return f"{question.source}/{question.id}"


def correctness(questions: Sequence[Question], scores: ModelScores, by_sum: bool = False) -> list[bool]:
    """Per question (in `questions` order): did the model's choice match the key?"""
    by_key = {s.key: s for s in scores.questions}
    missing = [question_key(q) for q in questions if question_key(q) not in by_key]
    if missing:
        raise StageError(f"knowledge scores of {scores.run!r} lack {len(missing)} questions (first: {missing[0]})")
    picks = [by_key[question_key(q)].choice_sum if by_sum else by_key[question_key(q)].choice for q in questions]
    return [pick == q.answer for pick, q in zip(picks, questions)]


def build_result(model_spec: str, questions: Sequence[Question], sources: list[Source], system_prompt: str,
                 scores: Mapping[str, ModelScores], base_run: str = BASE_RUN) -> KnowledgeResult:
    """`scores` holds every model by run name, the base model under `base_run`."""
    if base_run not in scores:
        raise StageError(f"knowledge: no scores for the base model ({base_run!r}); the paired "
                         "comparison needs it")
    right = {run: correctness(questions, s) for run, s in scores.items()}
    categories = sorted({q.category for q in questions if q.category is not None})
    members = {c: [i for i, q in enumerate(questions) if q.category == c] for c in categories}
    adapters = [run for run in scores if run != base_run]
    differences = {run: paired_difference(right[run], right[base_run]) for run in adapters}
    adjusted = dict(zip(adapters, holm([differences[run].p_value for run in adapters])))

    def comparison(run: str) -> BaseComparison | None:
        if run == base_run:
            return None
        return BaseComparison(differences[run], adjusted[run], verdict(differences[run], adjusted[run]))

    def knowledge(run: str) -> ModelKnowledge:
        s = scores[run]
        return ModelKnowledge(
            run=run, accuracy=accuracy(right[run]), accuracy_sum=accuracy(correctness(questions, s, by_sum=True)),
            categories={c: accuracy([right[run][i] for i in idx]) for c, idx in members.items()},
            versus_base=comparison(run),
            versus_base_by_category={} if run == base_run else {
                c: paired_difference([right[run][i] for i in idx], [right[base_run][i] for i in idx])
                for c, idx in members.items()},
            duration_s=s.duration_s, energy_j=s.energy_j, energy_method=s.energy_method)

    runs = [base_run, *adapters]
    method = combine_methods(scores[r].energy_method for r in runs)
    reasons = sorted({scores[r].energy_missing_reason for r in runs if scores[r].energy_missing_reason})
    return KnowledgeResult(
        model=model_spec, scoring=FORMAT,
        system_prompt_sha256=hashlib.sha256(system_prompt.encode("utf-8")).hexdigest(),
        questions=len(questions), chance=sum(q.chance for q in questions) / len(questions),
        categories={c: len(idx) for c, idx in members.items()}, sources=sources,
        models=[knowledge(r) for r in runs], verdict_rule=VERDICT_RULE,
        duration_s=sum(scores[r].duration_s for r in runs),
        energy_j=sum(scores[r].energy_j for r in runs) if method != "missing" else None,  # type: ignore[misc]
        energy_method=method, energy_missing_reason="; ".join(reasons) if method == "missing" else None,
        created_at=now_iso())


KNOWLEDGE_COLUMNS = ("knowledge_acc", "knowledge_low", "knowledge_high", "knowledge_diff", "knowledge_diff_low",
                     "knowledge_diff_high", "knowledge_verdict")


def leaderboard_columns(result: KnowledgeResult) -> dict[str, dict[str, Any]]:
    """Per run, the knowledge columns for `leaderboard.csv` (fractions in 0-1)."""
    columns = {}
    for m in result.models:
        versus = m.versus_base
        columns[m.run] = {
            "knowledge_acc": m.accuracy.value, "knowledge_low": m.accuracy.low, "knowledge_high": m.accuracy.high,
            "knowledge_diff": versus.difference.diff if versus else None,
            "knowledge_diff_low": versus.difference.low if versus else None,
            "knowledge_diff_high": versus.difference.high if versus else None,
            "knowledge_verdict": versus.verdict if versus else None,
        }
    return columns
