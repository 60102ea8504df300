"""What every section builder gets: the study's artifacts and where figures go."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..blocks import Image, Note, not_available
from ..load import StudyArtifacts


@dataclass(frozen=True)
class Context:
    study: StudyArtifacts
    figures_dir: Path

    def figure_path(self, stem: str) -> Path:
        return self.figures_dir / f"{stem}.png"


def figure_or_note(path: Path | None, caption: str, what: str, reason: str) -> Image | Note:
    """The figure if it was drawn, else a note saying why it is absent."""
    return Image(path, caption) if path is not None else not_available(what, reason)
