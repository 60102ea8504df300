"""`build_report(workdir)`: the report stage. Reads the study's artifacts, draws the figures,
writes report/index.html (self-contained) and report/report.md with report/figures/*.png, and
manifest.json last. Skipped when the manifest says it was built from these same artifacts."""

from __future__ import annotations

from pathlib import Path

from ..fsio import write_text
from ..manifest import StageRun, hash_inputs, hash_obj
from ..paths import ReportPaths, StudyPaths
from .blocks import Document, Image
from .document import build_document
from .html import render_html
from .load import load_study
from .markdown import render_markdown

STAGE = "report"
REPORT_VERSION = 3
"""Bumped when the report's content changes, so existing reports are rebuilt."""


def _images(doc: Document) -> list[Path]:
    return [b.path for s in doc.sections for b in s.blocks if isinstance(b, Image)]


def _remove_stale_figures(figures_dir: Path, keep: list[Path]) -> None:
    """Figures a previous build drew that this one did not (e.g. pairwise judging was dropped)."""
    names = {p.name for p in keep}
    for path in figures_dir.glob("*.png"):
        if path.name not in names:
            path.unlink()


def build_report(workdir: str | Path, force: bool = False) -> Path:
    """Build the report of the study folder `workdir`; returns the path of index.html.

    StageError when `workdir` holds no study. Missing optional artifacts (no pairwise judging,
    no test_ood, no energy) become "Not available" notes in their section."""
    study = load_study(workdir)
    out = ReportPaths(StudyPaths(study.root).report)
    stage = StageRun(out.root, STAGE, hash_obj({"stage": STAGE, "version": REPORT_VERSION}),
                     hash_inputs(study.inputs, base=out.root))
    if not force and stage.current:
        return out.index
    with stage:
        out.figures.mkdir(parents=True, exist_ok=True)
        doc = build_document(study, out.figures)
        _remove_stale_figures(out.figures, _images(doc))
        write_text(out.markdown, render_markdown(doc))
        write_text(out.index, render_html(doc))
        outputs = [out.index.name, out.markdown.name, *(f"{out.figures.name}/{p.name}" for p in _images(doc))]
        stage.complete(outputs, extra={"report_version": REPORT_VERSION})
    return out.index
