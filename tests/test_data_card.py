"""The data folder loads as four splits with `datasets` (its dataset card) and registers with
LLaMA-Factory (`dataset_info.json`)."""

from __future__ import annotations

import json

import pytest

from telcotune.config import DataConfig
from telcotune.data.stage import run_data_stage
from telcotune.fsio import read_jsonl
from telcotune.manifest import read_manifest

# The keys LLaMA-Factory's data/README.md documents for a dataset_info.json entry.
LLAMAFACTORY_KEYS = {"hf_hub_url", "ms_hub_url", "script_url", "file_name", "file_sha1", "subset", "folder",
                     "ranking", "formatting", "columns", "tags", "split", "num_samples"}
LLAMAFACTORY_COLUMNS = {"prompt", "query", "response", "history", "messages", "system", "tools", "images",
                        "videos", "audios", "chosen", "rejected", "kto_tag"}
LLAMAFACTORY_TAGS = {"role_tag", "content_tag", "user_tag", "assistant_tag", "observation_tag",
                     "function_tag", "system_tag"}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    out = tmp_path_factory.mktemp("card") / "data"
    run_data_stage(DataConfig(per_scenario=1, ood_terms=["APN", "DNS"]), out, progress=False)
    return out


def test_load_dataset_gives_four_splits_of_the_files_sizes(data_dir, tmp_path):
    datasets = pytest.importorskip("datasets")
    ds = datasets.load_dataset(str(data_dir), cache_dir=str(tmp_path / "hf"))
    sizes = {name: len(read_jsonl(data_dir / f"{name}.jsonl")) for name in ("train", "val", "test", "test_ood")}
    assert sizes["test_ood"] > 0 and sizes["test"] > 0
    assert {name: ds[name].num_rows for name in ds} == {
        "train": sizes["train"], "validation": sizes["val"], "test": sizes["test"], "test_ood": sizes["test_ood"]}
    first = ds["test_ood"][0]["messages"]
    assert first[0]["role"] == "system" and {m["role"] for m in first[1:]} == {"user", "assistant"}
    assert ds["test_ood"][0]["term"] in ("APN", "DNS")


def test_dataset_info_is_llamafactory_sharegpt_with_openai_tags(data_dir):
    info = json.loads((data_dir / "dataset_info.json").read_text())
    assert set(info) == {"telcotune_train", "telcotune_val", "telcotune_test", "telcotune_test_ood"}
    for name, entry in info.items():
        assert set(entry) <= LLAMAFACTORY_KEYS and set(entry["columns"]) <= LLAMAFACTORY_COLUMNS
        assert set(entry["tags"]) <= LLAMAFACTORY_TAGS
        assert entry["formatting"] == "sharegpt"
        row = read_jsonl(data_dir / entry["file_name"])[0]
        messages = row[entry["columns"]["messages"]]
        tags = entry["tags"]
        roles = {tags["system_tag"], tags["user_tag"], tags["assistant_tag"]}
        assert all(m[tags["role_tag"]] in roles and isinstance(m[tags["content_tag"]], str) for m in messages)


def test_card_and_registry_are_stage_outputs(data_dir):
    outputs = set(read_manifest(data_dir).outputs)
    assert {"README.md", "dataset_info.json"} <= outputs


def test_an_empty_split_is_left_out(tmp_path):
    from telcotune.data.card import write_interop_files
    from telcotune.paths import DataPaths

    (tmp_path / "train.jsonl").write_text('{"id": "a", "messages": []}\n')
    (tmp_path / "val.jsonl").write_text("")
    write_interop_files(DataPaths(tmp_path))
    assert set(json.loads((tmp_path / "dataset_info.json").read_text())) == {"telcotune_train"}
    assert "val.jsonl" not in (tmp_path / "README.md").read_text().split("---")[1]
