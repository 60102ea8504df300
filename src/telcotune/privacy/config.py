"""The redactor's settings: operator-defined patterns, an optional spaCy NER model, phone
regions and values that are never redacted. One pydantic section, ready to sit in the
experiment schema as `privacy:`."""

from __future__ import annotations

import regex
from pydantic import Field, field_validator

from ..config import Section

DEFAULT_PHONE_REGIONS = ("GB", "US", "DE", "FR", "ES", "IT", "NL", "IN")
"""National formats tried in this order (a number is read in the first region where it is valid;
Canada shares the US plan). Set `phone_regions` to the operator's countries: each costs a pass."""
BUILTIN_ENTITIES = ("PHONE", "IMEI", "ICCID", "IMSI", "IBAN", "CARD", "EMAIL", "IP", "MAC", "ADDRESS",
                    "PERSON", "SIM_CODE")
_ENTITY_NAME = regex.compile(r"[A-Z][A-Z0-9_]{0,31}")


class PrivacyConfig(Section):
    patterns: dict[str, str] = Field(default_factory=dict)
    """Operator-defined entities, NAME: regular expression (e.g. ACCOUNT: 'ACC-\\d{8}'); each match becomes <NAME_n>."""
    ner_model: str | None = None
    """spaCy model (an installed package name or a folder) whose NER finds names of people; unset: names are not checked. Never downloaded."""
    phone_regions: list[str] = Field(default_factory=lambda: list(DEFAULT_PHONE_REGIONS))
    """Regions (ISO 3166 alpha-2) whose national phone number formats are recognised."""
    allow_list: list[str] = Field(default_factory=list)
    """Values never redacted, besides the built-in well-known addresses (exact text, case-insensitive)."""

    @field_validator("patterns")
    @classmethod
    def _check_patterns(cls, patterns: dict[str, str]) -> dict[str, str]:
        for name, pattern in patterns.items():
            if not _ENTITY_NAME.fullmatch(name):
                raise ValueError(f"{name!r}: entity names are upper case letters, digits and _ (e.g. ACCOUNT)")
            if name in BUILTIN_ENTITIES:
                raise ValueError(f"{name!r} is a built-in entity; choose another name")
            try:
                compiled = regex.compile(pattern)
            except regex.error as exc:
                raise ValueError(f"{name}: not a valid regular expression ({exc})") from None
            if compiled.fullmatch(""):
                raise ValueError(f"{name}: the pattern matches the empty string")
        return patterns

    @field_validator("phone_regions")
    @classmethod
    def _check_regions(cls, regions: list[str]) -> list[str]:
        import phonenumbers

        unknown = [r for r in regions if r.upper() not in phonenumbers.SUPPORTED_REGIONS]
        if unknown:
            raise ValueError(f"unknown phone regions {unknown} (ISO 3166 alpha-2 codes such as GB, US)")
        return [r.upper() for r in regions]
