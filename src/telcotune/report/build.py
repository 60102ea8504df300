"""`build_report(workdir)`: the report stage. Reads the study's artifacts, draws the figures,
writes report/index.html (self-contained) and report/report.md with report/figures/*.png, and
manifest.json last. Skipped when the manifest says it was built from these same artifacts."""

from __future__ import annotations

from pathlib import Path

from ..fsio import write_text
from ..manifest import hash_inputs, hash_obj, is_current, now_iso, write_manifest
from ..paths import MANIFEST, StudyPaths
from .blocks import Document, Image
from .document import build_document
from .html import render_html
from .load import load_study
from .markdown import render_markdown

STAGE = "report"
REPORT_VERSION = 1
"""Bumped when the report's content changes, so existing reports are rebuilt."""
INDEX, MARKDOWN, FIGURES = "index.html", "report.md", "figures"


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
    out = StudyPaths(study.root).report
    index = out / INDEX
    config_hash = hash_obj({"stage": STAGE, "version": REPORT_VERSION})
    inputs = hash_inputs(study.inputs)
    if not force and index.is_file() and (out / MARKDOWN).is_file() and is_current(out, STAGE, config_hash, inputs):
        return index
    started_at = now_iso()
    (out / MANIFEST).unlink(missing_ok=True)  # a half-rebuilt report must not look current
    figures_dir = out / FIGURES
    figures_dir.mkdir(parents=True, exist_ok=True)
    doc = build_document(study, figures_dir)
    _remove_stale_figures(figures_dir, _images(doc))
    write_text(out / MARKDOWN, render_markdown(doc))
    write_text(index, render_html(doc))
    write_manifest(out, STAGE, config_hash, inputs, started_at,
                   outputs=[INDEX, MARKDOWN, *(f"{FIGURES}/{p.name}" for p in _images(doc))],
                   extra={"report_version": REPORT_VERSION})
    return index
