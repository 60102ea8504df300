"""The whole report as one `Document`: a title, a lead (what the study is and its headline
finding), and the sections (sections.BUILDERS), numbered here by their position so the
numbering stays consistent whatever sections are added."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .. import fmt
from .blocks import Block, Document, Finding, Section, Text, not_available
from .judges import judges
from .load import StudyArtifacts
from .sections import BUILDERS, Context


def _lead(study: StudyArtifacts) -> list[Block]:
    # What the sweep trained on wins over what the config asked for (a run may override it).
    model = ((study.sweep.model if study.sweep else None) or (study.config.model.spec if study.config else None)
             or "an unrecorded base model")
    panel = list(judges(study.ranking))
    conversations = study.stats.conversations if study.stats else None
    text = (f"{len(study.runs)} LoRA configurations of {model}, trained on "
            f"{fmt.integer(conversations) if conversations is not None else 'an unrecorded number of'} synthetic "
            f"telecom support conversations, judged by {fmt.listing(panel) if panel else 'no judge yet'}; "
            f"every phase metered for energy. Built from the artifacts in {study.root}.")
    found = study.ranking.finding.headline if study.ranking else None
    result = Finding(found) if found else not_available("the study's finding", "no judge was compared with "
                                                        "validation loss (eval/ranking.json missing or without scores)")
    return [Text(text), result]


_NUMBER = re.compile(r"^\d+\.\s+")


def numbered(sections: list[Section]) -> tuple[Section, ...]:
    """"3. Judgement" by position; a number a builder put in its own title is replaced."""
    return tuple(replace(s, title=f"{i}. {_NUMBER.sub('', s.title)}") for i, s in enumerate(sections, 1))


def build_document(study: StudyArtifacts, figures_dir: Path) -> Document:
    ctx = Context(study, figures_dir)
    name = study.config.name if study.config else study.root.name
    return Document(title=f"telcotune study report: {name}", lead=tuple(_lead(study)),
                    sections=numbered([build(ctx) for build in BUILDERS]))
