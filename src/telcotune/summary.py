"""The table `telcotune run` ends with: the best run by each judge, by validation loss and by
energy, and where the report is. Read from the stage artifacts only."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .adapters import BASE_RUN
from .artifacts.io import read_record
from .artifacts.ranking import Ranking
from .artifacts.sweep import SweepSummary
from .paths import StudyPaths

console = Console()


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def summary_rows(paths: StudyPaths) -> list[tuple[str, str, str]]:
    """(criterion, run, detail) rows."""
    sweep = read_record(paths.sweep_paths.summary, SweepSummary).runs
    ranking = read_record(paths.eval_paths.ranking, Ranking)
    rows = []
    for judge, section in ranking.judges.items():
        entries = [e for e in (section.pointwise.entries if section.pointwise else ())
                   if e.run != BASE_RUN and e.mean is not None]
        if entries and len({e.mean for e in entries}) == 1:
            rows.append((f"best by {judge}", "(all tied)", f"every run scored {_fmt(entries[0].mean, '.2f')}"))
        elif entries:
            rows.append((f"best by {judge}", entries[0].run, f"score {_fmt(entries[0].mean, '.2f')}"))
    by_loss = min((r for r in sweep if r.best_val_loss is not None), key=lambda r: r.best_val_loss, default=None)
    if by_loss:
        rows.append(("best by validation loss", by_loss.name, f"loss {by_loss.best_val_loss:.4f}"))
    by_energy = min((r for r in sweep if r.energy_kwh is not None), key=lambda r: r.energy_kwh, default=None)
    if by_energy:
        rows.append(("least training energy", by_energy.name,
                     f"{by_energy.energy_kwh * 1000:.2f} Wh ({by_energy.energy_method or '?'})"))
    for judge, section in ranking.judges.items():
        if section.loss_vs_judge and section.loss_vs_judge.finding:
            rows.append((f"finding ({judge})", "", section.loss_vs_judge.finding))
    return rows


def print_summary(paths: StudyPaths) -> None:
    table = Table(title=f"study {paths.root}", show_lines=False)
    for column in ("criterion", "run", "detail"):
        table.add_column(column, overflow="fold")
    for row in summary_rows(paths):
        table.add_row(*row)
    console.print(table)
    console.print(f"report: {paths.report_paths.index}")
