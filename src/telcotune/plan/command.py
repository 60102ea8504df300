"""`telcotune plan`: print, for each judge of a finished (pilot) study, the prompts, judge
calls, minutes and money a study needs to reach a target, with the variance it rests on."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.table import Table

from .estimate import PlanEstimate, StudyPlan, make_target, plan_study
from .variance import VarianceComponents


def minutes_text(e: PlanEstimate) -> str:
    return "n/a" if e.minutes is None else f"{e.minutes:,.0f}" if e.minutes >= 10 else f"{e.minutes:.1f}"


def money_text(e: PlanEstimate) -> str:
    if e.cost_usd is not None:
        return f"${e.cost_usd:,.2f}"
    return "none" if "no API cost" in e.cost_note else "unpriced"


def _table(plan: StudyPlan) -> Table:
    table = Table(title=f"Plan to {plan.target.describe('(judge units)')}", title_justify="left")
    table.add_column("judge", overflow="fold")
    for name in ("protocol", "prompts (range)", "judge calls", "minutes", "cost"):
        table.add_column(name, justify="left" if name == "protocol" else "right", no_wrap=True)
    for e in plan.estimates:
        table.add_row(e.judge, e.protocol, f"{e.prompts:,} ({e.prompts_low:,}-{e.prompts_high:,})",
                      f"{e.judge_calls:,}", minutes_text(e), money_text(e))
    return table


def _components(c: VarianceComponents) -> str:
    if c.judge_noise is None:
        rest = f"prompt x run + judge noise {c.residual:.2f} (not separable: no answer was scored twice)"
    else:
        rest = f"prompt x run {c.interaction:.2f}, judge noise {c.judge_noise:.2f}"
    return f"variance between prompts {c.prompt:.2f}, between runs {c.run:.2f}, {rest}"


def _judge_note(e: PlanEstimate) -> str:
    parts = [f"pilot ±{e.pilot_halfwidth_mean:.2f} for a run, ±{e.pilot_halfwidth_difference:.2f} for a "
             f"paired difference ({e.unit})"]
    if e.prompts_for_mean is not None:
        parts.append(f"{e.prompts_for_mean.n:,} prompts for a run's interval, "
                     f"{e.prompts_for_difference.n:,} for a paired difference (the larger is planned)")
    if e.components is not None:
        parts.append(_components(e.components))
    parts.append(f"{e.answers:,} answers")
    if e.minutes is None:
        parts.append(f"no minutes: {e.minutes_note}")
    parts.append(f"cost: {e.cost_note}")
    return f"{e.judge} ({e.protocol}): " + "; ".join(parts) + "."


def plan_notes(plan: StudyPlan) -> list[str]:
    notes = [f"Pilot: {plan.workdir}, {plan.pilot_prompts} prompts, {len(plan.runs)} runs. Range: the "
             f"prompts the pilot's own uncertainty about its variance allows ({plan.target.level:.0%}). "
             f"Minutes: answering plus judging at the pilot's recorded seconds per answer and per call."]
    notes += [_judge_note(e) for e in plan.estimates]
    warnings = sorted({e.warning for e in plan.estimates if e.warning})
    notes += [f"Warning: {w}." for w in warnings]
    notes += [f"{where}: no plan ({why})." for where, why in plan.skipped.items()]
    return notes


def print_plan(plan: StudyPlan, console: Console | None = None) -> None:
    console = console or Console()
    console.print(_table(plan))
    for note in plan_notes(plan):
        console.print(note, highlight=False)


def plan_command(workdir: str | Path, target_halfwidth: float | None = None,
                 detect_difference: float | None = None, power: float = 0.8,
                 console: Console | None = None) -> StudyPlan:
    """Plan a study from the pilot in `workdir` and print it; returns the plan."""
    plan = plan_study(workdir, make_target(target_halfwidth, detect_difference, power))
    print_plan(plan, console)
    return plan
