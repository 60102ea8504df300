"""Reading the YAML files a user writes (experiment configs, sweep files, glossaries): UTF-8 text,
one-line errors naming the file and line, and a bound on what YAML aliases expand to: an anchor
used many times over (`*a` inside lists of `*a`) can turn a few kilobytes into gigabytes of
repeated values, so the document's size counted with every alias expanded is limited."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from .errors import TelcotuneError

MAX_EXPANDED_NODES = 200_000
"""The most YAML values a file may hold with every alias expanded (the shipped 52-term glossary
holds about 2,000)."""


def expanded_size(node: Node, memo: dict[int, int] | None = None) -> int:
    """Values in `node` counting a shared (aliased) node once per use."""
    memo = {} if memo is None else memo
    if id(node) in memo:
        return memo[id(node)]
    memo[id(node)] = 1  # a recursive alias counts once, not forever
    if isinstance(node, SequenceNode):
        size = 1 + sum(expanded_size(child, memo) for child in node.value)
    elif isinstance(node, MappingNode):
        size = 1 + sum(expanded_size(k, memo) + expanded_size(v, memo) for k, v in node.value)
    else:
        size = 1
    memo[id(node)] = size
    return size


def _where(exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    return f"line {mark.line + 1}: " if mark is not None else ""


def load_yaml(path: str | Path, error: type[TelcotuneError]) -> Any:
    """The YAML document in `path`; `error(message)` for a missing, binary, non-UTF-8, invalid or
    alias-bloated file, the message one line naming the file (and line)."""
    path = Path(path)
    if not path.is_file():
        raise error(f"{path}: file not found")
    data = path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise error(f"{path}: not UTF-8 text (byte 0x{data[exc.start]:02x} at offset {exc.start})") from None
    if "\x00" in text:
        raise error(f"{path}: a binary file, not YAML text")
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        size = expanded_size(node)
        if size > MAX_EXPANDED_NODES:
            raise error(f"{path}: its YAML aliases expand to {size:,} values (at most {MAX_EXPANDED_NODES:,}); "
                        f"write the values out instead of repeating anchors")
        return loader.construct_document(node)
    except yaml.YAMLError as exc:
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise error(f"{path}: not valid YAML: {_where(exc)}{problem}") from None
    finally:
        loader.dispose()
