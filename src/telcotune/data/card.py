"""The data folder as other tools read it: a Hugging Face dataset card (`README.md` whose YAML
header names the four splits, so `datasets.load_dataset(folder)` does not fold `test_ood` into
`test`) and LLaMA-Factory's `dataset_info.json` (OpenAI-style messages, one entry per split)."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..fsio import write_json, write_text
from ..paths import NAMED_SPLITS, DataPaths

HF_SPLIT = {"train": "train", "val": "validation", "test": "test", "test_ood": "test_ood"}
"""telcotune's split file -> the split name `datasets` gives it (its convention is `validation`)."""
LLAMAFACTORY_PREFIX = "telcotune_"
"""LLaMA-Factory dataset names: `telcotune_train`, `telcotune_val`, ... (`dataset:` in its YAML)."""


def present_splits(paths: DataPaths) -> list[str]:
    """The split files the folder holds, in `NAMED_SPLITS` order."""
    return [name for name in NAMED_SPLITS if paths.split(name).is_file()]


def llamafactory_name(split: str) -> str:
    return LLAMAFACTORY_PREFIX + split


def card_text(paths: DataPaths, counts: dict[str, int], source: str) -> str:
    header = {"configs": [{"config_name": "default", "data_files": [
        {"split": HF_SPLIT[name], "path": paths.split(name).name} for name in counts]}],
        "task_categories": ["text-generation"], "language": ["en"], "tags": ["telecom", "customer-support", "telcotune"]}
    rows = "\n".join(f"| {HF_SPLIT[name]} | `{paths.split(name).name}` | {n} |" for name, n in counts.items())
    return (f"---\n{yaml.safe_dump(header, sort_keys=False)}---\n\n"
            f"# Telecom support conversations ({source})\n\n"
            "Written by telcotune. Each row holds `messages` (system prompt first, then user and\n"
            "assistant turns, OpenAI style: `role`, `content`); training learns the assistant turns.\n"
            "Scenarios never cross splits; `test_ood` holds terms kept out of every other split.\n\n"
            "| split | file | conversations |\n| --- | --- | --- |\n"
            f"{rows}\n\n"
            "```python\nfrom datasets import load_dataset\nds = load_dataset(\"path/to/this/folder\")\n```\n\n"
            "For LLaMA-Factory, set `dataset_dir` to this folder and `dataset: "
            f"{llamafactory_name('train')}` (`eval_dataset: {llamafactory_name('val')}`).\n")


def dataset_info(paths: DataPaths, splits: list[str]) -> dict:
    """LLaMA-Factory's dataset registry for the folder (its documented `sharegpt` formatting with
    OpenAI-style tags)."""
    tags = {"role_tag": "role", "content_tag": "content", "user_tag": "user", "assistant_tag": "assistant",
            "system_tag": "system"}
    return {llamafactory_name(name): {"file_name": paths.split(name).name, "formatting": "sharegpt",
                                      "columns": {"messages": "messages"}, "tags": tags}
            for name in splits}


def count_rows(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for line in f if line.strip())


def write_interop_files(paths: DataPaths, source: str = "synthetic") -> None:
    """README.md and dataset_info.json for the split files `paths` holds that have rows (written
    before the folder's manifest, which lists them)."""
    counts = {name: count_rows(paths.split(name)) for name in present_splits(paths)}
    counts = {name: n for name, n in counts.items() if n}  # `datasets` refuses a split without rows
    write_text(paths.card, card_text(paths, counts, source))
    write_json(paths.dataset_info, dataset_info(paths, list(counts)))
