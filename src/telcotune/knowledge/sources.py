"""The questions a knowledge evaluation scores: glossary questions and MCQ files, each cut to a
seeded subset under a limit, with a record of where they came from."""

from __future__ import annotations

import random
from pathlib import Path

from ..config import KnowledgeConfig
from ..data.glossary import load_glossary
from ..errors import ConfigError
from ..manifest import hash_file
from .glossary_mcq import SOURCE as GLOSSARY_SOURCE
from .glossary_mcq import glossary_questions
from .mcq import McqError, Question, load_mcq
from .record import Source


def collect_questions(cfg: KnowledgeConfig, glossary_path: Path, seed: int) -> tuple[list[Question], list[Source]]:
    """Every source `cfg` names, in order: the glossary's questions, then each MCQ file's."""
    questions: list[Question] = []
    sources: list[Source] = []
    if cfg.glossary_mcq:
        built = glossary_questions(load_glossary(glossary_path), seed=seed, distractors=cfg.distractors)
        kept = _subset(built, cfg.limit, seed, GLOSSARY_SOURCE)
        questions += kept
        sources.append(Source(GLOSSARY_SOURCE, "glossary", str(glossary_path), hash_file(glossary_path),
                              len(kept), len(built)))
    for file in map(Path, cfg.mcq):
        loaded = load_mcq(file)
        name = loaded[0].source
        clash = next((s for s in sources if s.name == name), None)
        if clash is not None:
            raise McqError(f"{file}: its questions would be named {name!r}, like those of {clash.path}; "
                           "rename one of the files")
        kept = _subset(loaded, cfg.limit, seed, name)
        questions += kept
        sources.append(Source(name, "file", str(file), hash_file(file), len(kept), len(loaded)))
    if not questions:
        raise ConfigError("knowledge: no questions; enable the glossary questions (--glossary-mcq, "
                          "eval.knowledge.glossary_mcq) or give an MCQ file (--mcq FILE, eval.knowledge.mcq)")
    return questions, sources


def _subset(questions: list[Question], limit: int | None, seed: int, source: str) -> list[Question]:
    if limit is None or limit >= len(questions):
        return questions
    keep = set(random.Random(f"{seed}/{source}").sample(range(len(questions)), limit))
    return [q for i, q in enumerate(questions) if i in keep]
