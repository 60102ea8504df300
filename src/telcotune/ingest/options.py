"""What an import is asked to do (`ImportOptions`), from the command line's strings
(`--pattern NAME=REGEX`, `--system-prompt TEXT|FILE`, ...) or from an experiment's
`data.source` section."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from ..config import ImportSourceConfig, PrivacyConfig, SplitConfig
from ..errors import ConfigError
from ..manifest import hash_obj
from .formats import Columns, parse_columns
from .roles import normal_label, parse_role_map
from .split import parse_split


@dataclass(frozen=True)
class ImportOptions:
    sources: tuple[Path, ...]
    format: str = "auto"
    columns: Columns = Columns()
    role_map: dict[str, str] = field(default_factory=dict)
    group_by: str | None = None
    system_prompt: str | None = None
    """Replaces every conversation's system message; None: its own, else the default."""
    mix_synthetic: Path | None = None
    synthetic_share: float = 0.5
    split: SplitConfig = field(default_factory=SplitConfig)
    seed: int = 0
    privacy: PrivacyConfig = field(default_factory=PrivacyConfig)

    def fingerprint(self) -> str:
        """What the output depends on besides the input files."""
        return hash_obj({
            "format": self.format, "columns": self.columns.__dict__, "role_map": self.role_map,
            "group_by": self.group_by, "system_prompt": self.system_prompt,
            "synthetic_share": self.synthetic_share if self.mix_synthetic else None,
            "split": self.split.model_dump(), "seed": self.seed, "privacy": self.privacy.model_dump(),
        })


def parse_patterns(items: list[str]) -> dict[str, str]:
    """`ACCOUNT=ACC-\\d{8}` items -> {name: regex} (the regex may itself hold `=`)."""
    patterns = {}
    for item in items:
        name, eq, regex = item.partition("=")
        if not eq or not name.strip() or not regex:
            raise ConfigError(f"--pattern: {item!r} is not NAME=REGEX (e.g. ACCOUNT=ACC-\\d{{8}})")
        patterns[name.strip()] = regex
    return patterns


def system_prompt_text(value: str | None) -> str | None:
    """`--system-prompt` is the text itself, or a file holding it."""
    if value is None:
        return None
    path = Path(value)
    if len(value) < 4096 and path.is_file():
        try:
            text = path.read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"--system-prompt: cannot read {path} ({exc})") from None
    else:
        text = value.strip()
    if not text:
        raise ConfigError("--system-prompt: empty")
    return text


def privacy_config(patterns: dict[str, str], ner_model: str | None, phone_regions: list[str] | None,
                   allow_list: list[str] | None) -> PrivacyConfig:
    values = {"patterns": patterns, "ner_model": ner_model, "allow_list": allow_list or []}
    if phone_regions:
        values["phone_regions"] = phone_regions
    try:
        return PrivacyConfig(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"privacy.{where}: {err['msg']}") from None


def options_from_cli(sources: list[Path], *, format: str, columns: list[str], role_map: list[str],
                     group_by: str | None, system_prompt: str | None, mix_synthetic: Path | None,
                     synthetic_share: float, split: str, seed: int, patterns: list[str],
                     ner_model: str | None, phone_regions: list[str] | None,
                     allow_list: list[str] | None) -> ImportOptions:
    return ImportOptions(
        sources=tuple(sources), format=format, columns=parse_columns(columns), role_map=parse_role_map(role_map),
        group_by=group_by, system_prompt=system_prompt_text(system_prompt), mix_synthetic=mix_synthetic,
        synthetic_share=synthetic_share, split=parse_split(split), seed=seed,
        privacy=privacy_config(parse_patterns(patterns), ner_model, phone_regions, allow_list))


def options_from_config(source: ImportSourceConfig, seed: int, mix_synthetic: Path | None) -> ImportOptions:
    """`data.source` of a study; `mix_synthetic`: the study's synthetic data folder, when mixed."""
    return ImportOptions(
        sources=tuple(Path(p) for p in source.path), format=source.format, columns=Columns(**source.columns),
        role_map={normal_label(speaker): role for speaker, role in source.role_map.items()},
        group_by=source.group_by, system_prompt=system_prompt_text(source.system_prompt),
        mix_synthetic=mix_synthetic, synthetic_share=source.synthetic_share, split=source.split, seed=seed,
        privacy=source.privacy)
