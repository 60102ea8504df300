"""Stage manifests and the one stage skeleton: skip when current, else clear the manifest, work,
and write the manifest last.

A manifest records the stage's config hash, the sha256 of each input (keyed by its path relative
to the stage folder, so a copied or moved study stays current) and the size and sha256 of each
output. A stage is current only when all of these match: a truncated or edited output makes it
run again instead of being trusted.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .artifacts.io import read_record, write_record
from .artifacts.manifest import OutputFile, StageManifest
from .errors import StageError
from .paths import MANIFEST

TRACKED_PACKAGES = ("torch", "transformers", "peft", "trl", "datasets", "codecarbon", "pydantic")


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def hash_obj(obj: Any) -> str:
    """Stable sha256 of a JSON-serialisable object (keys sorted)."""
    blob = json.dumps(obj, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def hash_file(path: str | Path, chunk_bytes: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(chunk_bytes):
            h.update(chunk)
    return h.hexdigest()


def _files(paths: Iterable[str | Path]) -> list[Path]:
    """Files, and every file inside folders (sorted, hidden ones skipped)."""
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.is_file() and not f.name.startswith("."))
        else:
            out.append(p)
    return out


def _key(path: Path, base: Path | None) -> str:
    if base is None:
        return str(path)
    return Path(os.path.relpath(path.resolve(), base.resolve())).as_posix()


def hash_inputs(paths: Iterable[str | Path], base: str | Path | None = None) -> dict[str, str]:
    """sha256 of each input file (folders: of every file inside), keyed by path relative to
    `base` (the stage folder) when given."""
    base_dir = Path(base) if base is not None else None
    return {_key(f, base_dir): hash_file(f) for f in _files(paths)}


def describe_outputs(folder: Path, names: Iterable[str]) -> dict[str, OutputFile]:
    """Size and sha256 of each output (names relative to `folder`; folders expanded)."""
    files = _files(folder / n for n in names)
    return {f.relative_to(folder).as_posix(): OutputFile(size=f.stat().st_size, sha256=hash_file(f))
            for f in files}


def outputs_intact(folder: Path, outputs: Mapping[str, OutputFile]) -> bool:
    for name, expected in outputs.items():
        path = folder / name
        if not path.is_file() or path.stat().st_size != expected.size or hash_file(path) != expected.sha256:
            return False
    return True


def package_versions() -> dict[str, str]:
    versions = {"telcotune": __version__, "python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_commit() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
            cwd=Path(__file__).parent,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def read_manifest(folder: Path) -> StageManifest | None:
    """The folder's manifest; None when absent or unreadable (a torn manifest means the stage
    did not finish, which is what it is treated as)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        return None
    try:
        return read_record(path, StageManifest)
    except StageError:
        return None


def is_current(folder: Path, stage: str, config_hash: str, inputs: Mapping[str, str]) -> bool:
    """True when `folder` holds a finished `stage` built from this config and these inputs, and
    its outputs are the files the manifest describes."""
    manifest = read_manifest(folder)
    return (manifest is not None and manifest.stage == stage and manifest.config_hash == config_hash
            and manifest.inputs == dict(inputs) and outputs_intact(Path(folder), manifest.outputs))


class StageRun:
    """One execution of a stage in `folder`, the skeleton every stage uses:

        run = StageRun(folder, "evaluate", config_hash, inputs)
        if run.current:
            return <read the outputs>
        with run:                                # clears the old manifest: a half-redone
            ...                                  # stage never looks current
            run.complete(outputs=[...], extra={...})   # manifest written last, on success only
    """

    def __init__(self, folder: str | Path, stage: str, config_hash: str, inputs: Mapping[str, str]):
        self.folder = Path(folder)
        self.stage, self.config_hash, self.inputs = stage, config_hash, dict(inputs)
        self.started_at: str | None = None
        self._outputs: list[str] | None = None
        self._extra: dict[str, Any] = {}

    @property
    def current(self) -> bool:
        return is_current(self.folder, self.stage, self.config_hash, self.inputs)

    def __enter__(self) -> "StageRun":
        self.started_at = now_iso()
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / MANIFEST).unlink(missing_ok=True)
        return self

    def complete(self, outputs: Iterable[str], extra: Mapping[str, Any] | None = None) -> None:
        """Mark the work done; the manifest is written when the block exits without error."""
        self._outputs = list(outputs)
        self._extra = dict(extra or {})

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self._outputs is not None:
            write_manifest(self.folder, self.stage, self.config_hash, self.inputs,
                           self.started_at or now_iso(), self._outputs, self._extra)


def write_manifest(folder: Path, stage: str, config_hash: str, inputs: Mapping[str, str], started_at: str,
                   outputs: Iterable[str] = (), extra: Mapping[str, Any] | None = None) -> Path:
    folder = Path(folder)
    manifest = StageManifest(
        stage=stage, config_hash=config_hash, inputs=dict(inputs),
        outputs=describe_outputs(folder, outputs), versions=package_versions(), git_commit=git_commit(),
        machine={"platform": platform.platform(), "processor": platform.machine()},
        started_at=started_at, finished_at=now_iso(), **dict(extra or {}),
    )
    return write_record(folder / MANIFEST, manifest)
