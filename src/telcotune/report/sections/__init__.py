"""The report's sections, one module each, in reading order. Every `build(ctx)` returns a
`Section` of blocks (see blocks.py), drawing its figures into the report's figures folder as it
goes; document.py numbers them by their position here."""

from __future__ import annotations

from collections.abc import Callable

from ..blocks import Section
from . import (
    data, energy_quality, judgement, knowledge, people, planning, question, reproducibility, samples, separation,
    targets, training,
)
from .context import Context

BUILDERS: tuple[Callable[[Context], Section], ...] = (
    data.build, training.build, judgement.build, people.build, separation.build, question.build,
    targets.build, energy_quality.build, knowledge.build, planning.build, samples.build, reproducibility.build,
)

__all__ = ["BUILDERS", "Context"]
