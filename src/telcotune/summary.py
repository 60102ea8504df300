"""The table `telcotune run` ends with: which judges can discriminate (and why the others are left
out), the best run and top tier by each of those, by validation loss and by energy, the
recommended configuration, knowledge gained or forgotten, the study's finding, and where the report is. Read from the stage
artifacts only, through the report's loader and its shared choices (report/choice.py), so the
summary and the report cannot say different things."""

from __future__ import annotations

from rich.console import Console
from rich.table import Table

from .adapters import BASE_RUN
from .fmt import listing
from .paths import StudyPaths
from .rank import Recommendation
from .report.choice import choices, nothing_to_recommend
from .report.judges import JudgedProtocol, judged_protocols, ranked
from .report.load import StudyArtifacts, load_study
from .report.sections.knowledge import knowledge_sentence

console = Console()


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def _judge_rows(p: JudgedProtocol) -> list[tuple[str, str, str]]:
    if not p.discriminates:
        return [(p.label, "left out", "cannot discriminate: " + "; ".join(p.reasons))]
    entries = [e for e in ranked(p.section, p.protocol) if e.run != BASE_RUN and e.value is not None]
    rows = []
    if entries:
        what = "score" if p.protocol == "pointwise" else "strength"
        rows.append((f"best by {p.label}", entries[0].run, f"{what} {_fmt(entries[0].value, '.2f')}"))
    s = p.separation
    if s is not None:
        detail = listing(list(s.tier)) if s.discriminates else "cannot tell the runs apart"
        rows.append((f"top tier ({p.label})", f"{len(s.tier)} of {s.n_runs}", detail))
    return rows


def _recommendation_rows(study: StudyArtifacts) -> list[tuple[str, str, str]]:
    found = choices(study)
    none = nothing_to_recommend(study, found)
    if none is not None:
        return [("recommended", "none", none)]
    return [(f"recommended ({c.judged.label})", c.outcome.run if isinstance(c.outcome, Recommendation) else "none",
             c.outcome.reason) for c in found]


def summary_rows(paths: StudyPaths) -> list[tuple[str, str, str]]:
    """(criterion, run, detail) rows."""
    study = load_study(paths.root)
    ranking = study.ranking
    protocols = judged_protocols(ranking)
    rows = [row for p in protocols for row in _judge_rows(p)]
    sweep = study.sweep.runs if study.sweep else []
    by_loss = min((r for r in sweep if r.best_val_loss is not None), key=lambda r: r.best_val_loss, default=None)
    if by_loss:
        rows.append(("best by validation loss", by_loss.name, f"loss {by_loss.best_val_loss:.4f}"))
    by_energy = min((r for r in sweep if r.energy_kwh is not None), key=lambda r: r.energy_kwh, default=None)
    if by_energy:
        rows.append(("least training energy", by_energy.name,
                     f"{by_energy.energy_kwh * 1000:.2f} Wh ({by_energy.energy_method or '?'})"))
    if ranking is not None:
        rows += _recommendation_rows(study)
        if ranking.knowledge is not None:
            rows.append(("knowledge", "", knowledge_sentence(ranking.knowledge)))
        rows += [(f"finding ({p.label})", "", p.comparison.finding)
                 for p in protocols if p.discriminates and p.comparison and p.comparison.finding]
        if ranking.finding.headline:
            rows.append(("finding", "", ranking.finding.headline))
    return rows


def print_summary(paths: StudyPaths) -> None:
    table = Table(title=f"study {paths.root}", show_lines=False)
    for column in ("criterion", "run", "detail"):
        table.add_column(column, overflow="fold")
    for row in summary_rows(paths):
        table.add_row(*row)
    console.print(table)
    console.print(f"report: {paths.report_paths.index}")
