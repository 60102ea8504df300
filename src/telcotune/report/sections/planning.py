"""Planning the next study: this study read as a pilot by the planner (`telcotune plan`), with
the prompts, judge calls, minutes and money each judge would need for the planner's default
target (intervals of at most +-`config.PLAN_HALFWIDTH`). The numbers and their notes come from plan/ (plan_study, plan_notes); the
report only lays them out."""

from __future__ import annotations

from ...errors import TelcotuneError
from ...plan import make_target, plan_study
from ...plan.command import minutes_text, money_text, plan_notes
from ..blocks import Bullets, Section, Table, Text, not_available
from .context import Context

TITLE = "Planning the next study"
UNIT = "in each judge's unit (score points; log-strength for pairwise)"


def build(ctx: Context) -> Section:
    study = ctx.study
    if study.ranking is None:
        return Section("planning", TITLE, (not_available("the plan", study.missing_reason("ranking")),))
    boot = study.ranking.bootstrap
    try:
        plan = plan_study(study.root, make_target(None, None), n_resamples=boot.n_resamples,
                          seed=boot.seed)
    except TelcotuneError as exc:
        return Section("planning", TITLE, (not_available("the plan", str(exc)),))
    rows = tuple((e.judge, e.protocol, f"{e.prompts:,} ({e.prompts_low:,}-{e.prompts_high:,})", f"{e.answers:,}",
                  f"{e.judge_calls:,}", minutes_text(e), money_text(e)) for e in plan.estimates)
    blocks = [
        Text(f"How large a study would have to be for {plan.target.describe(UNIT)}, estimated "
             f"from this study's own judgments (variance between prompts, between runs, and judge noise). "
             f"For another target: `telcotune plan --workdir {study.root} --target-halfwidth X` or "
             f"`--detect-difference D`."),
        Table(("judge", "protocol", "prompts (range)", "answers", "judge calls", "minutes", "cost"), rows,
              caption="Prompts per prompt set are what every run answers; the range comes from the pilot's own "
                      "uncertainty about its variance.",
              numeric=(False, False, True, True, True, True, True)) if rows else
        not_available("prompt counts", "no judge's judgments gave a variance to plan from"),
        Bullets(tuple(plan_notes(plan))),
    ]
    return Section("planning", TITLE, tuple(blocks))
