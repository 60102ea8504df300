"""Glossary files (schema version 1): telecom terms crossed with failure causes and usage
contexts. Errors name the file, the entry and the field."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from ..errors import GlossaryError
from ..yamlfile import load_yaml

SLUG = r"^[a-z0-9]+(-[a-z0-9]+)*$"


def slugify(text: str) -> str:
    """A term's id part: lower-case ASCII words joined by `-`. A term that ASCII cannot spell
    exactly (accents, CJK, emoji) gets a stable hash of its normalised text appended, so two
    different Unicode terms never share an id and no id is empty or starts with `-`."""
    normal = unicodedata.normalize("NFKC", text).casefold().strip()
    ascii_text = unicodedata.normalize("NFKD", normal).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")
    if normal.isascii() and slug:
        return slug
    digest = hashlib.sha256(normal.encode("utf-8")).hexdigest()[:8]
    return f"{slug}-{digest}" if slug else f"t-{digest}"


class _Strict(BaseModel):
    # strict: `version: true` or `version: "1"` are errors, not 1.
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class Axis(_Strict):
    id: str = Field(pattern=SLUG)
    description: str = Field(min_length=1)


class Term(_Strict):
    term: str = Field(min_length=1)
    expansion: str | None = None
    category: str = Field(pattern=SLUG)
    aliases: list[str] = Field(default_factory=list)
    definition: str = Field(min_length=1)
    symptoms: list[str] = Field(min_length=1)
    resolution_steps: list[str] = Field(min_length=2)
    escalate_when: str = Field(min_length=1)
    related: list[str] = Field(default_factory=list)

    @property
    def slug(self) -> str:
        return slugify(self.term)

    def names(self) -> list[str]:
        """Every way the assistant may name the term: the term, its expansion, its aliases."""
        return [self.term, *([self.expansion] if self.expansion else []), *self.aliases]

    @field_validator("symptoms", "resolution_steps")
    @classmethod
    def _non_empty_items(cls, items: list[str]) -> list[str]:
        if any(not s or not s.strip() for s in items):
            raise ValueError("items must be non-empty strings")
        return items


class Exclusion(_Strict):
    term: str | None = None
    cause: str | None = None
    context: str | None = None

    @model_validator(mode="after")
    def _names_something(self) -> "Exclusion":
        if not (self.term or self.cause or self.context):
            raise ValueError("an exclusion names at least one of term, cause, context")
        return self

    def matches(self, term: Term, cause: str, context: str) -> bool:
        return (
            (self.term is None or slugify(self.term) == term.slug)
            and (self.cause is None or self.cause == cause)
            and (self.context is None or self.context == context)
        )


class Glossary(_Strict):
    version: int
    domain: str = Field(min_length=1)
    failure_causes: list[Axis] = Field(min_length=1)
    usage_contexts: list[Axis] = Field(min_length=1)
    terms: list[Term] = Field(min_length=1)
    exclude: list[Exclusion] = Field(default_factory=list)

    @field_validator("version")
    @classmethod
    def _version_one(cls, value: int) -> int:
        if value != 1:
            raise ValueError(f"unsupported glossary version {value}; this telcotune reads version 1")
        return value

    def term_by_name(self, name: str) -> Term | None:
        wanted = slugify(name)
        return next((t for t in self.terms if t.slug == wanted), None)

    def cause(self, cause_id: str) -> Axis:
        return next(c for c in self.failure_causes if c.id == cause_id)

    def context(self, context_id: str) -> Axis:
        return next(c for c in self.usage_contexts if c.id == context_id)


def _entry_label(raw: dict, loc: tuple) -> str:
    """`terms[3] (APN).resolution_steps` from a pydantic error location."""
    parts, node = [], raw
    for i, key in enumerate(loc):
        if isinstance(key, int):
            label = f"[{key}]"
            item = node[key] if isinstance(node, list) and key < len(node) else None
            if isinstance(item, dict):
                name = item.get("term") or item.get("id")
                if name and i + 1 < len(loc):
                    label += f" ({name})"
            parts.append(label)
            node = item
        else:
            parts.append(("." if parts else "") + str(key))
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts)


def _check_unique(glossary: Glossary, path: Path) -> None:
    def dupes(section: str, keys: list[str], names: list[str]) -> None:
        seen: dict[str, int] = {}
        for i, key in enumerate(keys):
            if key in seen:
                j = seen[key]
                raise GlossaryError(
                    f"{path}: {section}[{i}] ({names[i]}): duplicate of {section}[{j}] ({names[j]}): "
                    f"both have the id {key!r}")
            seen[key] = i

    dupes("terms", [t.slug for t in glossary.terms], [t.term for t in glossary.terms])
    for section in ("failure_causes", "usage_contexts"):
        ids = [c.id for c in getattr(glossary, section)]
        dupes(section, ids, ids)


def _check_exclusions(glossary: Glossary, path: Path) -> None:
    causes = {c.id for c in glossary.failure_causes}
    contexts = {c.id for c in glossary.usage_contexts}
    for i, ex in enumerate(glossary.exclude):
        if ex.term is not None and glossary.term_by_name(ex.term) is None:
            raise GlossaryError(f"{path}: exclude[{i}].term: unknown term {ex.term!r}")
        if ex.cause is not None and ex.cause not in causes:
            raise GlossaryError(f"{path}: exclude[{i}].cause: unknown failure cause {ex.cause!r}")
        if ex.context is not None and ex.context not in contexts:
            raise GlossaryError(f"{path}: exclude[{i}].context: unknown usage context {ex.context!r}")


def load_glossary(path: str | Path) -> Glossary:
    path = Path(path)
    if not path.is_file():
        raise GlossaryError(f"{path}: glossary file not found")
    raw = load_yaml(path, GlossaryError)
    if not isinstance(raw, dict):
        raise GlossaryError(f"{path}: expected a mapping with version, domain, failure_causes, "
                            "usage_contexts and terms")
    try:
        glossary = Glossary.model_validate(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        msg = "unknown field" if err["type"] == "extra_forbidden" else err["msg"]
        if err["type"] == "missing":
            msg = "missing field"
        more = f" (and {len(exc.errors()) - 1} more problems)" if len(exc.errors()) > 1 else ""
        raise GlossaryError(f"{path}: {_entry_label(raw, err['loc'])}: {msg}{more}") from None
    _check_unique(glossary, path)
    _check_exclusions(glossary, path)
    return glossary
