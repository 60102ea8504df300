"""`telcotune data inspect`: a split's first conversations as the model sees them, rendered with
its chat template, with the tokens the loss is computed on (the assistant-token mask training
uses, `train.tokenize.encode_conversation`) highlighted, like Axolotl's preprocess debug."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..artifacts.io import read_optional
from ..errors import ConfigError
from ..models import DEFAULT_MODEL, ModelRef
from ..paths import NAMED_SPLITS, DataPaths, StudyPaths

TRAINED_STYLE = "bold black on green"
PLAIN_MARKS = ("[[", "]]")
"""Around trained text when the output is not a terminal (no colour to show it)."""


@dataclass(frozen=True)
class Segment:
    text: str
    trained: bool


@dataclass(frozen=True)
class Inspected:
    id: str
    segments: list[Segment]
    tokens: int
    trained_tokens: int


def inspect_rows(rows, tokenizer) -> list[Inspected]:
    """Each row's rendered text cut into runs of trained and untrained tokens."""
    from ..train.tokenize import encode_conversation

    out = []
    for row in rows:
        ids, targets = encode_conversation(tokenizer, row.plain_messages())
        segments: list[Segment] = []
        start = 0
        for i in range(1, len(ids) + 1):
            if i == len(ids) or targets[i] != targets[start]:
                segments.append(Segment(tokenizer.decode(ids[start:i]), targets[start]))
                start = i
        out.append(Inspected(row.id, segments, len(ids), sum(targets)))
    return out


def study_model(data_dir: Path) -> ModelRef:
    """The model of the study the data folder belongs to (`<study>/data`), else the default."""
    from ..config import ExperimentConfig

    cfg = read_optional(StudyPaths(Path(data_dir).parent).resolved_config, ExperimentConfig)
    return cfg.model.ref() if cfg is not None else ModelRef(DEFAULT_MODEL)


def render(item: Inspected, color: bool) -> Text:
    text = Text()
    for seg in item.segments:
        if not seg.trained:
            text.append(seg.text, style="dim" if color else None)
        elif color:
            text.append(seg.text, style=TRAINED_STYLE)
        else:
            text.append(f"{PLAIN_MARKS[0]}{seg.text}{PLAIN_MARKS[1]}")
    return text


def inspect_command(data_dir: Path, split: str, n: int, model: str | None, console: Console | None = None) -> list[Inspected]:
    from ..train.tokenize import read_split

    if split not in NAMED_SPLITS:
        raise ConfigError(f"--split {split}: expected one of {', '.join(NAMED_SPLITS)}")
    rows = read_split(DataPaths(Path(data_dir)).split(split))[:n]
    ref = ModelRef(model) if model else study_model(data_dir)
    items = inspect_rows(rows, ref.load_tokenizer())
    console = console or Console(highlight=False)
    color = console.is_terminal
    legend = "highlighted" if color else f"between {PLAIN_MARKS[0]} {PLAIN_MARKS[1]}"
    console.print(f"{split}: {len(items)} conversation(s), tokenized for {ref.spec}; trained tokens {legend}",
                  markup=False)
    for item in items:
        console.rule(f"{item.id}: {item.trained_tokens} of {item.tokens} tokens trained "
                     f"({item.trained_tokens / max(1, item.tokens):.0%})", characters="-")
        console.print(render(item, color), markup=False, highlight=False)
    return items
