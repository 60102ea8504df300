"""The report stage: one self-contained HTML page (and a Markdown twin with PNG figures) built
from a study folder's artifacts alone. It never imports the training or model code, so it runs
anywhere the artifacts are copied to."""

from .build import build_report
from .load import StudyArtifacts, load_study

__all__ = ["StudyArtifacts", "build_report", "load_study"]
