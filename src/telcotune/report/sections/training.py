"""2. Training: validation-loss curves of every run, and each configuration's cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ... import fmt
from ..blocks import Block, Note, Section, Table, Text, not_available
from ..energy import total_j
from ..figures import val_loss_curves
from ..load import RunArtifacts
from ..modules import module_label
from .context import Context, figure_or_note

TITLE = "2. Training"
COLUMNS = ("run", "r", "alpha", "dropout", "lr", "target modules", "trainable params", "best val loss (step)",
           "duration", "tokens/s", "energy", "energy method")
NUMERIC = (False, True, True, True, True, False, True, True, True, True, True, False)


def _row(run: RunArtifacts, energy: Callable[[float | None], str]) -> tuple[str, ...]:
    s, m = run.settings, run.metrics
    best = fmt.num(m.best_val_loss, 4)
    if m.best_step is not None:
        best += f" ({m.best_step})"
    return (run.name, fmt.integer(s.r), fmt.sig(s.alpha), fmt.sig(s.dropout), fmt.sig(s.lr), module_label(run),
            fmt.integer(m.trainable_params), best, fmt.duration(m.duration_s), fmt.integer(m.tokens_per_s),
            energy(total_j(run.energy)), run.energy.method if run.energy else "n/a")


def _curve(run: RunArtifacts) -> list[tuple[float, float]]:
    return [(row.step, row.val_loss) for row in run.curve if row.val_loss is not None]


def _summary(runs: list[RunArtifacts]) -> list[Block]:
    scored = [r for r in runs if r.best_val_loss is not None]
    blocks: list[Block] = []
    if scored:
        best = min(scored, key=lambda r: (r.best_val_loss, r.name))
        worst = max(scored, key=lambda r: (r.best_val_loss, r.name))
        blocks.append(Text(f"{len(runs)} runs. Lowest validation loss: {best.name} ({fmt.num(best.best_val_loss, 4)}); "
                           f"highest: {worst.name} ({fmt.num(worst.best_val_loss, 4)})."))
    methods = Counter(r.energy.method if r.energy else "missing" for r in runs)
    blocks.append(Text("Training energy per run: " + ", ".join(f"{n} {m}" for m, n in sorted(methods.items())) + "."))
    return blocks


def build(ctx: Context) -> Section:
    study = ctx.study
    runs = list(study.runs)
    if not runs:
        return Section("training", TITLE, (not_available("training runs", study.missing_reason("sweep")),))
    path = val_loss_curves({r.name: _curve(r) for r in runs}, ctx.figure_path("val_loss_curves"))
    blocks: list[Block] = [
        *_summary(runs),
        figure_or_note(path, "Validation loss of every run against optimizer step.", "validation-loss curves",
                       "no run logged a validation loss in metrics.jsonl"),
        Table(COLUMNS, tuple(_row(r, fmt.energy_formatter(total_j(x.energy) for x in runs)) for r in runs),
              caption="Energy: training and validation phases together; the method says how it was obtained.",
              numeric=NUMERIC),
    ]
    pending = study.sweep.pending if study.sweep else []
    if pending:
        blocks.append(Note(f"{len(pending)} run(s) of the sweep had not finished: {', '.join(pending)}."))
    return Section("training", TITLE, tuple(blocks))
