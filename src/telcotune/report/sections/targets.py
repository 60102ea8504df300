"""Target modules and rank: how 2 / 4 / 7 LoRA target modules, and the LoRA rank, go with
loss, judge score and training energy. Groups pool every run with that module count and rank,
whatever its other settings (learning rate, alpha, dropout), so each run is also shown."""

from __future__ import annotations

from collections.abc import Callable
from statistics import mean

from ... import fmt
from ..blocks import Block, Note, Section, Table, Text, not_available
from ..energy import total_j
from ..figures import TargetRun, target_effects
from ..modules import module_count
from ..judges import left_out_sentence
from ..quality import knowledge_accuracy, no_panel_reason, panel_score
from .context import Context, figure_or_note

TITLE = "Target modules and rank"


def _runs(ctx: Context, scores: dict[str, float]) -> list[TargetRun]:
    out = []
    for run in ctx.study.runs:
        out.append(TargetRun(run.name, module_count(run), run.settings.r, run.best_val_loss, scores.get(run.name),
                             total_j(run.energy)))
    return out


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return mean(known) if known else None


def _group_table(runs: list[TargetRun], knowledge: dict[str, float]) -> Table:
    rows = []
    energy = fmt.energy_formatter(x.train_energy_j for x in runs)
    for modules, r in sorted({(x.modules, x.r) for x in runs}):
        group = [x for x in runs if x.modules == modules and x.r == r]
        known = [fmt.pct(_mean([knowledge.get(x.run) for x in group]), 1)] if knowledge else []
        rows.append((str(modules), str(r), str(len(group)), fmt.num(_mean([x.val_loss for x in group]), 4),
                     fmt.num(_mean([x.score for x in group]), 2), *known,
                     energy(_mean([x.train_energy_j for x in group])), ", ".join(x.run for x in group)))
    columns = ("target modules", "rank r", "runs", "mean best val loss", "mean judge score",
               *(["mean knowledge accuracy"] if knowledge else []), "mean training energy", "runs in the group")
    return Table(columns, tuple(rows), numeric=(*(True,) * (len(columns) - 1), False))


def _change(runs: list[TargetRun], key: Callable[[TargetRun], int], name: str) -> str | None:
    """One sentence comparing the smallest and largest value of `key` (pooled over the rest)."""
    values = sorted({key(x) for x in runs})
    if len(values) < 2:
        return None
    low = [x for x in runs if key(x) == values[0]]
    high = [x for x in runs if key(x) == values[-1]]
    parts = []
    for label, get, digits in (("mean best validation loss", lambda x: x.val_loss, 4),
                               ("mean judge score", lambda x: x.score, 2),
                               ("mean training energy", lambda x: x.train_energy_j, None)):
        a, b = _mean([get(x) for x in low]), _mean([get(x) for x in high])
        if a is None or b is None:
            continue
        # Energies in one unit, so "from 1,900 J to 1.92 Wh" reads as "from 0.53 Wh to 1.92 Wh".
        show = fmt.energy_formatter([a, b]) if digits is None else (lambda v, d=digits: fmt.num(v, d))
        parts.append(f"the {label} from {show(a)} to {show(b)}")
    if not parts:
        return None
    return (f"Going from {name} {values[0]} ({fmt.plural(len(low), 'run')}) to {values[-1]} "
            f"({fmt.plural(len(high), 'run')}) changed {fmt.listing(parts)}.")


def build(ctx: Context) -> Section:
    panel = panel_score(ctx.study.ranking)
    runs = _runs(ctx, panel.scores if panel else {})
    if not runs:
        reason = "no run records its targets and rank"
        return Section("targets", TITLE, (not_available("target-module comparison", reason),))
    path = target_effects(runs, panel.axis_label if panel else "judge score", ctx.figure_path("target_modules"))
    blocks: list[Block] = [Text(f"Judge score: {panel.label if panel else 'none'}. Target modules: qv = 2 "
                                f"(q, v projections), attn = 4 (q, k, v, o), all = 7 (attention and MLP projections).")]
    if panel is None:
        blocks.append(not_available("judge scores", no_panel_reason(ctx.study.ranking)))
    elif (excluded := left_out_sentence(ctx.study.ranking)) is not None:
        blocks.append(Note(excluded + " Their scores are not in the judge score."))
    blocks += [_group_table(runs, knowledge_accuracy(ctx.study.ranking)),
               figure_or_note(path, "Group means (lines) and individual runs (dots) by target modules and rank.",
                              "target-module figure", "no run has a loss, score or energy")]
    sentences = [s for s in (_change(runs, lambda x: x.modules, "target modules"),
                             _change(runs, lambda x: x.r, "rank r")) if s]
    blocks += [Text(s) for s in sentences]
    blocks.append(Note("Groups pool runs that also differ in learning rate, alpha or dropout, so a difference "
                       "between groups is not the effect of the modules or rank alone."))
    return Section("targets", TITLE, tuple(blocks))
