"""A study folder the nodes do not share: where a task trains on its own node, and how a finished
run's files travel back to the driver.

The scratch copy mirrors the study's layout (the sweep folder and the data folder at the same
relative place), so the run's manifest, whose inputs are keyed by paths relative to the run
folder, is the same file as when the run trains in the study folder itself. Only the finished
run's files are shipped (adapter, metrics, energy, config, manifest) into the study folder. Each
new checkpoint is also sent to the driver, which keeps the latest one per run in memory: a
retried task resumes from its node's scratch when the checkpoint is still there, else from the
driver's copy (its node was lost).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..fsio import atomic_dir, read_json, write_bytes
from ..manifest import hash_obj
from ..paths import DataPaths, RunPaths

SHIPPED_SPLITS = ("train", "val")


@dataclass(frozen=True)
class ScratchLayout:
    """The driver's sweep and data folders, mirrored under one scratch root."""

    sweep_dir: Path
    data_dir: Path

    def run(self, name: str) -> RunPaths:
        return RunPaths(self.sweep_dir / name)


def scratch_layout(root: str | Path, sweep_dir: Path, data_dir: Path) -> ScratchLayout:
    """Under ROOT/<key of the driver's sweep folder>/, with data_dir where it is relative to the sweep."""
    sweep_dir, data_dir = Path(sweep_dir).resolve(), Path(data_dir).resolve()
    rel = Path(os.path.relpath(data_dir, sweep_dir))
    ups = len([p for p in rel.parts if p == ".."])  # relpath puts every ".." first
    base = Path(root).expanduser() / hash_obj(str(sweep_dir))[:16]
    mirrored_sweep = base.joinpath(*["up"] * max(0, ups - 1), sweep_dir.name)
    return ScratchLayout(mirrored_sweep, Path(os.path.normpath(mirrored_sweep / rel)))


def data_files(data_dir: Path) -> dict[str, bytes]:
    """The splits a run reads, to ship to a node that cannot see the data folder."""
    return {DataPaths(data_dir).split(s).name: DataPaths(data_dir).split(s).read_bytes() for s in SHIPPED_SPLITS}


def place_data(data_dir: Path, files: dict[str, bytes]) -> None:
    """Write the shipped splits on this node (atomically; left alone when already identical)."""
    for name, content in files.items():
        path = data_dir / name
        if not (path.is_file() and path.read_bytes() == content):
            write_bytes(path, content)


def checkpoint_step(paths: RunPaths) -> int | None:
    """The step of the run's checkpoint in this folder (None when there is none)."""
    try:
        return int(read_json(paths.checkpoint_state)["state"]["step"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def collect_checkpoint(paths: RunPaths) -> dict[str, bytes]:
    return {f.name: f.read_bytes() for f in sorted(paths.checkpoint.iterdir()) if f.is_file()}


def place_checkpoint(paths: RunPaths, files: dict[str, bytes]) -> None:
    """A checkpoint shipped from the driver, for a retried task whose node lost its scratch."""
    with atomic_dir(paths.checkpoint) as tmp:
        for name, content in files.items():
            (tmp / name).write_bytes(content)


def collect_run(paths: RunPaths) -> dict[str, bytes]:
    """A finished run's files by path relative to its folder (the checkpoint is not shipped)."""
    out = {}
    for f in sorted(paths.root.rglob("*")):
        rel = f.relative_to(paths.root)
        if f.is_file() and rel.parts[0] != paths.checkpoint.name and not any(p.startswith(".") for p in rel.parts):
            out[rel.as_posix()] = f.read_bytes()
    return out


def write_run(paths: RunPaths, files: dict[str, bytes]) -> None:
    """The shipped run into the study folder, whole or not at all."""
    with atomic_dir(paths.root) as tmp:
        for rel, content in files.items():
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
