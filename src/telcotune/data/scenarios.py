"""Scenarios: every (term, failure cause, usage context) cell not excluded by the glossary."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .glossary import Axis, Glossary, Term


@dataclass(frozen=True)
class Scenario:
    term: Term
    cause: Axis
    context: Axis

    @property
    def id(self) -> str:
        return f"{self.term.slug}--{self.cause.id}--{self.context.id}"

    def to_row(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "term": self.term.term,
            "cause": self.cause.id,
            "context": self.context.id,
            "cause_description": self.cause.description,
            "context_description": self.context.description,
            **self.term.model_dump(exclude={"term"}),
        }


def build_scenarios(glossary: Glossary) -> list[Scenario]:
    return [
        Scenario(term, cause, context)
        for term in glossary.terms
        for cause in glossary.failure_causes
        for context in glossary.usage_contexts
        if not any(ex.matches(term, cause.id, context.id) for ex in glossary.exclude)
    ]
