"""A run's resumable state and its checkpoint (RUN_DIR/checkpoint/: state.pt and state.json).

The checkpoint holds the LoRA weights, AdamW and scheduler state, RNG states (torch, python),
the step (the data position is step x grad_accum micro-batches into a stream whose order
depends only on seed and epoch), the metrics rows so far, best validation loss and
early-stopping counter (and best weights), energy readings, the resolved precision, and the run
identity (config hash, input hashes): a checkpoint of other settings is discarded. A checkpoint
that cannot be read is reported, never silently ignored.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import torch

from ..fsio import atomic_dir, read_json, write_json
from ..paths import RunPaths


@dataclass
class State:
    step: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    tokens_seen: int = 0
    target_tokens: int = 0
    padded_tokens: int = 0
    train_time_s: float = 0.0
    val_time_s: float = 0.0
    duration_s: float = 0.0
    best_val_loss: float | None = None
    best_step: int | None = None
    best_losses: dict[str, Any] | None = None
    """The best validation's per-conversation losses (an ExampleLosses as JSON)."""
    bad_evals: int = 0
    stopped_early: bool = False
    energy: dict[str, list[dict]] = field(default_factory=dict)
    sessions: int = 0
    precision: str | None = None

    def to_json(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Checkpoint:
    state: State
    tensors: dict[str, Any]
    """trainable, optimizer, scheduler, rng, best_weights."""


def seed_everything(seed: int) -> None:
    random.seed(seed)
    torch.manual_seed(seed)


def rng_state() -> dict[str, Any]:
    state = {"torch": torch.get_rng_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    random.setstate(_tuplify(state["python"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _tuplify(x):
    return tuple(_tuplify(v) for v in x) if isinstance(x, (list, tuple)) else x


def save_checkpoint(paths: RunPaths, identity: dict[str, Any], state: State, tensors: dict[str, Any]) -> None:
    """Everything a resume needs, replacing the previous checkpoint atomically."""
    with atomic_dir(paths.checkpoint) as tmp:
        torch.save(tensors, tmp / paths.checkpoint_tensors.name)
        write_json(tmp / paths.checkpoint_state.name, {**identity, "state": state.to_json()})


def load_checkpoint(paths: RunPaths, identity: dict[str, Any]) -> tuple[Checkpoint | None, str | None]:
    """(checkpoint, None) if one of this run exists; (None, why not) otherwise, where `why not`
    is None when there simply is none or it belongs to other settings (nothing to report)."""
    if not paths.checkpoint_state.is_file() and not paths.checkpoint_tensors.is_file():
        return None, None
    try:
        meta = read_json(paths.checkpoint_state)
        if any(meta.get(k) != v for k, v in identity.items()):
            return None, None
        tensors = torch.load(paths.checkpoint_tensors, weights_only=True)
        return Checkpoint(State(**meta["state"]), tensors), None
    except Exception as exc:  # torn, truncated or from another version
        return None, f"{paths.checkpoint} cannot be read ({type(exc).__name__}: {str(exc)[:120]})"
