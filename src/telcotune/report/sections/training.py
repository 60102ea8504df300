"""2. Training: validation-loss curves of every run against the base model's loss on the same
validation set, each adapter's paired improvement over it, and each configuration's cost."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from ... import fmt
from ...artifacts.sweep import BaseValidation, Improvement
from ..blocks import Block, Note, Section, Table, Text, not_available
from ..energy import total_j
from ..figures import val_loss_curves
from ..load import RunArtifacts
from ..modules import module_label
from .context import Context, figure_or_note

TITLE = "2. Training"
COLUMNS = ("run", "r", "alpha", "dropout", "lr", "target modules", "trainable params", "best val loss (step)",
           "loss / base (95% CI)", "duration", "tokens/s", "energy", "energy method")
NUMERIC = (False, True, True, True, True, False, True, True, True, True, True, True, False)
BASE_ROW_NAME = "base model (no adapter)"


def _ratio(imp: Improvement | None) -> str:
    """The adapter's loss as a share of the base's, with its paired interval."""
    if imp is None:
        return fmt.NA
    return f"{fmt.pct(imp.ratio, 1)} ({100 * imp.ratio_low:.1f} to {100 * imp.ratio_high:.1f})"


def _row(run: RunArtifacts, imp: Improvement | None, energy: Callable[[float | None], str]) -> tuple[str, ...]:
    s, m = run.settings, run.metrics
    best = fmt.num(m.best_val_loss, 4)
    if m.best_step is not None:
        best += f" ({m.best_step})"
    return (run.name, fmt.integer(s.r), fmt.sig(s.alpha), fmt.sig(s.dropout), fmt.sig(s.lr), module_label(run),
            fmt.integer(m.trainable_params), best, _ratio(imp), fmt.duration(m.duration_s),
            fmt.integer(m.tokens_per_s), energy(total_j(run.energy)), run.energy.method if run.energy else "n/a")


def _base_row(base: BaseValidation) -> tuple[str, ...]:
    na = fmt.NA
    return (BASE_ROW_NAME, na, na, na, na, na, "0", fmt.num(base.val_loss, 4), "100.0%", fmt.duration(base.duration_s),
            na, na, na)


def _improvements(runs: list[RunArtifacts], study) -> dict[str, Improvement | None]:
    row = study.sweep.row if study.sweep else (lambda name: None)
    return {r.name: (sr.improvement if (sr := row(r.name)) else None) for r in runs}


def _base_summary(base: BaseValidation, imps: dict[str, Improvement | None]) -> list[Block]:
    """What the base model scores and how many adapters are measurably better than it."""
    known = {name: imp for name, imp in imps.items() if imp is not None}
    text = (f"Base model (no adapter) on the same {base.val_examples} validation conversations "
            f"({fmt.integer(base.val_tokens)} assistant tokens, the training loss's mask): validation loss "
            f"{fmt.num(base.val_loss, 4)} (the dashed line in the figure).")
    if known:
        below = [n for n, imp in known.items() if imp.ratio_high < 1]
        worst_name, worst = max(known.items(), key=lambda kv: (kv[1].ratio, kv[0]))
        best_name, best = min(known.items(), key=lambda kv: (kv[1].ratio, kv[0]))
        text += (f" {len(below)} of {len(known)} adapters are below it with 95% confidence (paired over "
                 f"conversations: the interval of loss / base lies under 100%). Best: {best_name}, "
                 f"{fmt.pct(best.ratio, 1)} of the base loss ({fmt.num(best.delta, 3)} nats/token lower, 95% CI "
                 f"{fmt.num(best.delta_low, 3)} to {fmt.num(best.delta_high, 3)}); worst: {worst_name}, "
                 f"{fmt.pct(worst.ratio, 1)}.")
        widths = sorted((imp.ratio_high - imp.ratio_low) / 2 for imp in known.values())
        text += (f" With {base.val_examples} validation conversations these intervals are about "
                 f"±{fmt.pct(widths[len(widths) // 2], 1)} of the base loss: two adapters whose losses differ "
                 f"by less than that are not told apart by this validation set.")
    blocks: list[Block] = [Text(text)]
    other = sorted(n for n, imp in imps.items() if imp is None)
    if other:
        blocks.append(Note(f"Not compared with the base model (validated on other conversations: another "
                           f"max_length, subset or seed): {', '.join(other)}."))
    return blocks


def _curve(run: RunArtifacts, start: float | None) -> list[tuple[float, float]]:
    """The run's validation losses by step, from `start` at step 0: a fresh LoRA (B = 0) is the
    base model, so the base model's loss is every comparable run's step-0 point."""
    points = [(row.step, row.val_loss) for row in run.curve if row.val_loss is not None]
    return [(0, start), *points] if start is not None and points else points


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
    base = study.sweep.base if study.sweep else None
    imps = _improvements(runs, study)
    starts = {r.name: base.val_loss if base and imps[r.name] else None for r in runs}
    path = val_loss_curves({r.name: _curve(r, starts[r.name]) for r in runs}, ctx.figure_path("val_loss_curves"),
                           base.val_loss if base else None)
    energy = fmt.energy_formatter(total_j(x.energy) for x in runs)
    rows = ((_base_row(base),) if base else ()) + tuple(_row(r, imps[r.name], energy) for r in runs)
    blocks: list[Block] = [
        *_summary(runs),
        *(_base_summary(base, imps) if base else [Note("The base model's validation loss was not measured "
                                                       "(sweep.json has no `base`).")]),
        figure_or_note(path, "Validation loss of every run against optimizer step; dashed: the base model "
                             "without an adapter on the same conversations, which is also each run's step 0 "
                             "(a LoRA starts as the base model).", "validation-loss curves",
                       "no run logged a validation loss in metrics.jsonl"),
        Table(COLUMNS, rows,
              caption="loss / base: the run's best validation loss as a share of the base model's, with a 95% "
                      "interval paired over validation conversations. Energy: training and validation phases "
                      "together; the method says how it was obtained.",
              numeric=NUMERIC),
    ]
    pending = study.sweep.pending if study.sweep else []
    if pending:
        blocks.append(Note(f"{len(pending)} run(s) of the sweep had not finished: {', '.join(pending)}."))
    return Section("training", TITLE, tuple(blocks))
