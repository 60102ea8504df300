"""Samples: a few evaluation prompts answered by the lowest-loss run, the best-judged run
and the base model, side by side."""

from __future__ import annotations

from ...adapters import BASE_RUN
from ...artifacts.answers import AnswerRow
from ... import fmt
from ..blocks import Block, Message, Note, Section, SideBySide, Text, not_available
from ..quality import no_panel_reason, panel_score
from .context import Context

TITLE = "Samples"
N_SAMPLES = 3


def _lowest_loss(ctx: Context) -> str | None:
    order = ctx.study.ranking.loss_order if ctx.study.ranking else []
    if order:
        return order[0]
    scored = [r for r in ctx.study.runs if r.best_val_loss is not None]
    return min(scored, key=lambda r: (r.best_val_loss, r.name)).name if scored else None


def _columns(ctx: Context) -> tuple[list[tuple[str, str]], list[str]]:
    """(run, label) per column without repeating a run, and why any column is absent."""
    panel = panel_score(ctx.study.ranking)
    trained = [r for r in (panel.scores if panel else {}) if r != BASE_RUN]
    by_judge = panel.best(trained) if panel else None
    by_loss = _lowest_loss(ctx)
    answered = ctx.study.answers
    cols: list[tuple[str, str]] = []
    gaps: list[str] = []
    if by_loss and by_loss in answered:
        run = ctx.study.run(by_loss)
        cols.append((by_loss, f"lowest validation loss: {by_loss} ({fmt.num(run.best_val_loss if run else None, 4)})"))
    else:
        gaps.append("no answers from the lowest-loss run" if by_loss else "no validation loss recorded")
    if by_judge is None:
        gaps.append(f"no best-judged run: {no_panel_reason(ctx.study.ranking)}")
    elif by_judge == by_loss:
        gaps.append(f"the lowest-loss run ({by_loss}) is also the best-judged run")
    elif by_judge in answered:
        cols.append((by_judge, f"best judged: {by_judge} (score {fmt.num(panel.scores[by_judge], 2)})"))
    if BASE_RUN in answered:
        cols.append((BASE_RUN, "base model (no adapter)"))
    else:
        gaps.append("no base-model answers (eval.include_base was off)")
    return cols, gaps


def _pick(rows_by_run: dict[str, dict[str, AnswerRow]], runs: list[str], sets: list[str]) -> list[str]:
    """Prompts every column answered: ones whose answers differ first, taking the prompt sets in
    turn (in the study's order), so an out-of-distribution prompt is shown too."""
    common = sorted(set.intersection(*(set(rows_by_run[r]) for r in runs)))
    differ = [i for i in common if len({rows_by_run[r][i].answer for r in runs}) > 1]
    pool = differ + [i for i in common if i not in differ]
    by_set: dict[str, list[str]] = {name: [] for name in sets}
    for prompt_id in pool:
        by_set.setdefault(rows_by_run[runs[0]][prompt_id].set, []).append(prompt_id)
    picked: list[str] = []
    while len(picked) < N_SAMPLES and any(by_set.values()):
        for ids in by_set.values():
            if ids and len(picked) < N_SAMPLES:
                picked.append(ids.pop(0))
    return picked


def _conversation(row: AnswerRow) -> tuple[Message, ...]:
    # The system prompt is the same for every prompt; the turns are what differ.
    return tuple(Message(m.role, m.content) for m in row.prompt if m.role != "system")


def build(ctx: Context) -> Section:
    study = ctx.study
    if not study.answers:
        return Section("samples", TITLE, (not_available("sample answers", "no answers in eval/answers/"),))
    cols, gaps = _columns(ctx)
    if not cols:
        return Section("samples", TITLE, (not_available("sample answers", "; ".join(gaps)),))
    runs = [run for run, _ in cols]
    rows_by_run = {run: {row.id: row for row in study.answers[run]} for run in runs}
    picked = _pick(rows_by_run, runs, list(study.ranking.prompt_sets) if study.ranking else [])
    if not picked:
        reason = "no prompt was answered by every run shown"
        return Section("samples", TITLE, (not_available("sample answers", reason),))
    blocks: list[Block] = [Text(f"{len(picked)} evaluation prompt(s); the conversation so far (system prompt "
                                f"omitted), then each model's answer, verbatim.")]
    if gaps:
        blocks.append(Note(f"{len(cols)} column(s) instead of 3: {'; '.join(gaps)}."))
    for prompt_id in picked:
        first = rows_by_run[runs[0]][prompt_id]
        answers = tuple((label, rows_by_run[run][prompt_id].answer) for run, label in cols)
        blocks.append(SideBySide(f"{prompt_id} ({first.set})", _conversation(first), answers))
    return Section("samples", TITLE, tuple(blocks))
