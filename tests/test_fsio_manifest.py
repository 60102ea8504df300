import pytest

from telcotune.fsio import atomic_path, read_jsonl, read_jsonl_tolerant, write_json, write_jsonl
from telcotune.manifest import hash_inputs, is_current, write_manifest


def test_atomic_write_leaves_nothing_on_failure(tmp_path):
    target = tmp_path / "out.json"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("boom")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []


def test_jsonl_roundtrip_and_bad_line_named(tmp_path):
    p = tmp_path / "rows.jsonl"
    assert write_jsonl(p, [{"a": 1}, {"b": "é"}]) == 2
    assert read_jsonl(p) == [{"a": 1}, {"b": "é"}]
    p.write_text('{"a": 1}\n{oops\n')
    with pytest.raises(ValueError, match="rows.jsonl:2"):
        read_jsonl(p)
    assert read_jsonl_tolerant(p) == [{"a": 1}]  # a torn last line is a crash, not corruption


def test_manifest_is_current_only_for_same_config_and_inputs(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("x")
    out = tmp_path / "stage"
    inputs = hash_inputs([src])
    write_manifest(out, "data", "cfg1", inputs, started_at="t0", outputs=["a"])
    assert is_current(out, "data", "cfg1", inputs)
    assert not is_current(out, "data", "cfg2", inputs)
    assert not is_current(out, "train", "cfg1", inputs)
    src.write_text("changed")
    assert not is_current(out, "data", "cfg1", hash_inputs([src]))


def test_write_json_creates_parents(tmp_path):
    p = write_json(tmp_path / "a" / "b.json", {"k": [1, 2]})
    assert p.read_text().startswith("{")
