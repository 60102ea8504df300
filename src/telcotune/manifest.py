"""Stage manifests: written last, they say a stage finished and what it was built from.

A stage is skipped when its manifest exists and records the same config hash and input hashes
as the current call; otherwise it runs (or resumes) and writes a new manifest at the end.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from . import __version__
from .fsio import read_json, write_json
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


def hash_inputs(paths: Iterable[str | Path]) -> dict[str, str]:
    """sha256 of each input file (folders: of every file inside, sorted)."""
    out: dict[str, str] = {}
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(x for x in p.rglob("*") if x.is_file() and not x.name.startswith(".")):
                out[str(f)] = hash_file(f)
        else:
            out[str(p)] = hash_file(p)
    return out


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


def write_manifest(
    folder: Path,
    stage: str,
    config_hash: str,
    inputs: Mapping[str, str],
    started_at: str,
    outputs: Iterable[str] = (),
    extra: Mapping[str, Any] | None = None,
) -> Path:
    manifest = {
        "stage": stage,
        "config_hash": config_hash,
        "inputs": dict(inputs),
        "outputs": sorted(outputs),
        "versions": package_versions(),
        "git_commit": git_commit(),
        "machine": {"platform": platform.platform(), "processor": platform.machine()},
        "started_at": started_at,
        "finished_at": now_iso(),
    }
    if extra:
        manifest.update(extra)
    return write_json(Path(folder) / MANIFEST, manifest)


def read_manifest(folder: Path) -> dict[str, Any] | None:
    path = Path(folder) / MANIFEST
    if not path.exists():
        return None
    try:
        return read_json(path)
    except (OSError, ValueError):
        return None


def is_current(folder: Path, stage: str, config_hash: str, inputs: Mapping[str, str]) -> bool:
    """True when `folder` holds a finished `stage` built from this config and these inputs."""
    manifest = read_manifest(folder)
    return (
        manifest is not None
        and manifest.get("stage") == stage
        and manifest.get("config_hash") == config_hash
        and manifest.get("inputs") == dict(inputs)
    )
