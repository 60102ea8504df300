"""The study's question: does a lower validation loss go with better judged answers? Answered
with the judges that can discriminate; the others are named with the reason they are left out."""

from __future__ import annotations

from ... import fmt
from ...rank import Interval, LossJudgeComparison
from ..blocks import Block, Bullets, Finding, Note, Section, Table, Text, not_available
from ..figures import LossRankPanel, loss_vs_rank
from ..judges import comparisons, kept, left_out_sentence
from .context import Context, figure_or_note

TITLE = "Does lower validation loss mean better answers?"


def _ci(ci: Interval | None) -> str:
    return fmt.interval(ci.low, ci.high) if ci else "[no CI]"


def _panel(c: LossJudgeComparison) -> LossRankPanel:
    losses, ranks = c.val_loss, c.judge_ranks
    points = tuple((run, losses[run], ranks[run]) for run in sorted(losses, key=losses.get) if run in ranks)
    subtitle = (f"tau-b {fmt.signed(c.correlation.kendall_tau_b)} {_ci(c.kendall_ci)}, "
                f"rho {fmt.signed(c.correlation.spearman_rho)} {_ci(c.spearman_ci)}")
    return LossRankPanel(c.judge_name, subtitle, points)


def _placed(run: str | None, rank: int | None) -> str:
    return f"{run}: {fmt.ordinal(rank)}" if run and rank else fmt.NA


def _row(c: LossJudgeComparison) -> tuple[str, ...]:
    return (c.judge_name, fmt.integer(c.n_runs), f"{fmt.signed(c.correlation.kendall_tau_b)} {_ci(c.kendall_ci)}",
            f"{fmt.signed(c.correlation.spearman_rho)} {_ci(c.spearman_ci)}",
            _placed(c.best_loss_run, c.best_loss_judge_rank), _placed(c.best_judged_run, c.best_judged_loss_rank),
            fmt.pct(c.best_loss_judged_best_share))


def build(ctx: Context) -> Section:
    study = ctx.study
    found = [p.comparison for p in kept(study.ranking) if p.comparison is not None]
    excluded = left_out_sentence(study.ranking)
    if not found:
        reason = (study.missing_reason("ranking") if study.ranking is None
                  else "ranking.json compares no judge with validation loss" if not comparisons(study.ranking)
                  else "no judge that can discriminate was compared with validation loss")
        blocks = [Finding(study.ranking.finding.headline)] if study.ranking and study.ranking.finding.headline else []
        return Section("question", TITLE, (*blocks, not_available("loss versus judge comparison", reason),
                                           *([Note(excluded)] if excluded else [])))
    path = loss_vs_rank([_panel(c) for c in found], ctx.figure_path("loss_vs_judge"))
    blocks: list[Block] = [
        Finding(study.ranking.finding.headline or ""),
        Text("Each judge's own conclusion:"),
        Bullets(tuple(f"{c.judge_name}: {c.finding or 'no finding recorded'}" for c in found)),
        *([Note(excluded + " Their comparisons with validation loss are not shown.")] if excluded else []),
        figure_or_note(path, "Best validation loss against judge rank, one point per run (rank 1 at the top). "
                             "If loss predicted quality, the points would run from the top left (lowest loss, "
                             "judged best) down to the bottom right.",
                       "loss versus judge rank figure", "no run has both a loss and a judge rank"),
        Table(("judge", "runs", "Kendall tau-b [CI]", "Spearman rho [CI]", "lowest loss: judge rank",
               "best judged: loss rank", "P(lowest loss judged best)"),
              tuple(_row(c) for c in found),
              caption="Correlations are between the loss order and the judged order; positive means lower "
                      "loss went with better judged answers. The last column is the share of bootstrap "
                      "resamples in which the lowest-loss run was judged best.",
              numeric=(False, True, True, True, False, False, True)),
    ]
    return Section("question", TITLE, tuple(blocks))
