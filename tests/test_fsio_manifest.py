import pytest

from telcotune.fsio import atomic_path, read_jsonl, read_jsonl_tolerant, write_json, write_jsonl
from telcotune.manifest import StageRun, hash_inputs, is_current, write_manifest


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
    out.mkdir()
    (out / "a").write_text("output")
    inputs = hash_inputs([src], base=out)
    write_manifest(out, "data", "cfg1", inputs, started_at="t0", outputs=["a"])
    assert is_current(out, "data", "cfg1", inputs)
    assert not is_current(out, "data", "cfg2", inputs)
    assert not is_current(out, "train", "cfg1", inputs)
    src.write_text("changed")
    assert not is_current(out, "data", "cfg1", hash_inputs([src], base=out))


def test_a_stage_is_current_only_while_its_outputs_are_the_files_it_wrote(tmp_path):
    out = tmp_path / "stage"
    run = StageRun(out, "data", "cfg", {})
    with run:
        (out / "rows.jsonl").write_text('{"a": 1}\n{"b": 2}\n')
        (out / "sub").mkdir()
        (out / "sub" / "w.bin").write_bytes(b"12345")
        run.complete(["rows.jsonl", "sub"])
    assert run.current
    (out / "sub" / "w.bin").write_bytes(b"123")  # truncated
    assert not run.current
    (out / "sub" / "w.bin").write_bytes(b"12345")
    (out / "rows.jsonl").write_text('{"a": 1}\n{"b": 3}\n')  # same size, other content
    assert not run.current


def test_a_failed_stage_leaves_no_manifest(tmp_path):
    out = tmp_path / "stage"
    with pytest.raises(RuntimeError):
        with StageRun(out, "data", "cfg", {}) as run:
            run.complete([])
            raise RuntimeError("work failed")
    assert not (out / "manifest.json").exists()


def test_inputs_are_keyed_relative_to_the_stage_so_a_moved_study_stays_current(tmp_path):
    study = tmp_path / "study"
    (study / "data").mkdir(parents=True)
    (study / "data" / "train.jsonl").write_text("x")
    stage = study / "sweep"
    inputs = hash_inputs([study / "data" / "train.jsonl"], base=stage)
    assert list(inputs) == ["../data/train.jsonl"]
    moved = tmp_path / "moved"
    study.rename(moved)
    assert hash_inputs([moved / "data" / "train.jsonl"], base=moved / "sweep") == inputs


def test_write_json_creates_parents(tmp_path):
    p = write_json(tmp_path / "a" / "b.json", {"k": [1, 2]})
    assert p.read_text().startswith("{")
