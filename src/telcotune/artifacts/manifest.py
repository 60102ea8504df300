"""The manifest.json record a stage writes last: what it was built from and what it wrote."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from .io import Record


class OutputFile(Record):
    size: int
    sha256: str


class StageManifest(Record):
    # Stages add their own facts (model, judges, backend, ...) beside the common fields.
    model_config = ConfigDict(frozen=True, extra="allow")

    stage: str
    config_hash: str
    inputs: dict[str, str]
    """Input file (relative to the study folder where it is inside it) -> sha256."""
    outputs: dict[str, OutputFile] = {}
    """Output file (relative to the stage folder) -> size and sha256, checked before the stage
    is trusted as current."""
    versions: dict[str, str]
    git_commit: str | None
    machine: dict[str, str]
    started_at: str
    finished_at: str
    holds_imported: bool = False
    """A data folder with imported (real) conversations: only local backends may see it
    (`privacy.onprem`)."""

    def extra(self, key: str) -> Any:
        return (self.model_extra or {}).get(key)
