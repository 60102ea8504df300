"""The report's sections, one module each. Every `build(ctx)` returns a `Section` of blocks
(see blocks.py), drawing its figures into the report's figures folder as it goes."""

from __future__ import annotations

from collections.abc import Callable

from ..blocks import Section
from . import data, energy_quality, judgement, question, reproducibility, samples, targets, training
from .context import Context

BUILDERS: tuple[Callable[[Context], Section], ...] = (
    data.build, training.build, judgement.build, question.build, targets.build,
    energy_quality.build, samples.build, reproducibility.build,
)

__all__ = ["BUILDERS", "Context"]
