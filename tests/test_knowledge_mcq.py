"""MCQ JSONL files: good rows load (index or letter answers, optional id and category), every
bad row stops loading with the file, the line and the field named, and the README's TeleQnA
converter produces a file that loads."""

import json
import re
from pathlib import Path

import pytest

from telcotune.knowledge.mcq import McqError, load_mcq

ROOT = Path(__file__).resolve().parents[1]
GOOD = {"question": "What does APN stand for?", "options": ["Access Point Name", "Area Paging Node"], "answer": 0}


def write(tmp_path, *rows, name="bench.jsonl"):
    path = tmp_path / name
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def test_rows_load_with_letters_indices_ids_and_categories(tmp_path):
    path = write(tmp_path, GOOD, "",
                 {"id": "q-2", "question": "Which band reaches further?", "options": ["2.4 GHz", "5 GHz", "6 GHz"],
                  "answer": "a", "category": "wifi"},
                 {"id": 7, "question": "Q3", "options": ["x", "y", "z"], "answer": "C"})
    first, second, third = load_mcq(path)
    assert (first.id, first.answer, first.category, first.source) == ("bench:1", 0, None, "bench")
    assert (second.id, second.answer, second.category, second.options) == ("q-2", 0, "wifi", ("2.4 GHz", "5 GHz", "6 GHz"))
    assert (third.id, third.answer) == ("7", 2)
    assert second.chance == pytest.approx(1 / 3)


@pytest.mark.parametrize("row, message", [
    ({k: v for k, v in GOOD.items() if k != "options"}, r"bench.jsonl:2: options: missing field"),
    ({k: v for k, v in GOOD.items() if k != "answer"}, r"bench.jsonl:2: answer: missing field"),
    ({**GOOD, "answer": 2}, r"bench.jsonl:2: answer: index 2 is out of range for 2 options \(0 to 1; indices are 0-based\)"),
    ({**GOOD, "answer": -1}, r"bench.jsonl:2: answer: index -1 is out of range"),
    ({**GOOD, "answer": "C"}, r"bench.jsonl:2: answer: letter 'C' names option 3 but the row has 2 options"),
    ({**GOOD, "answer": "option 1"}, r"bench.jsonl:2: answer: 'option 1' is not an option index \(0-based integer\) or a letter A-Z"),
    ({**GOOD, "answer": True}, r"bench.jsonl:2: answer: True is not an option index"),
    ("{not json", r"bench.jsonl:2: not valid JSON"),
    ('["a list"]', r"bench.jsonl:2: expected a JSON object"),
    ({**GOOD, "choices": ["a", "b"]}, r"bench.jsonl:2: choices: unknown field \(fields: id, question, options, answer, category\)"),
    ({**GOOD, "options": ["only one"]}, r"bench.jsonl:2: options: expected a list of at least 2 strings"),
    ({**GOOD, "options": "A or B"}, r"bench.jsonl:2: options: expected a list"),
    ({**GOOD, "options": ["same", "same"]}, r"bench.jsonl:2: options\[1\]: repeats options\[0\]"),
    ({**GOOD, "options": ["fine", " "]}, r"bench.jsonl:2: options\[1\]: expected a non-empty string"),
    ({**GOOD, "question": ""}, r"bench.jsonl:2: question: expected a non-empty string"),
    ({**GOOD, "category": 3}, r"bench.jsonl:2: category: expected a non-empty string"),
    ({**GOOD, "id": "bench:1"}, r"bench.jsonl:2: id: 'bench:1' repeats line 1"),
])
def test_a_bad_row_names_the_file_line_and_field(tmp_path, row, message):
    path = write(tmp_path, GOOD, row)
    with pytest.raises(McqError, match=message):
        load_mcq(path)


def test_missing_and_empty_files_are_named(tmp_path):
    with pytest.raises(McqError, match=r"nothere.jsonl: MCQ file not found"):
        load_mcq(tmp_path / "nothere.jsonl")
    with pytest.raises(McqError, match=r"bench.jsonl: no questions"):
        load_mcq(write(tmp_path, ""))


def test_the_readme_teleqna_converter_writes_a_loadable_file(tmp_path, monkeypatch):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"<!-- teleqna-converter -->\s*```python\n(.*?)```", readme, re.S)
    assert block, "README.md lost its TeleQnA converter block"
    teleqna = {
        "question 0": {"question": "What does RSRP measure?", "option 1": "Received power of reference signals",
                       "option 2": "Transmit power", "option 3": "Noise", "answer": "option 1: Received power of reference signals",
                       "explanation": "...", "category": "Standards specifications"},
        "question 1": {"question": "Which release introduced 5G NR?", "option 1": "Rel-8", "option 2": "Rel-15",
                       "answer": "option 2: Rel-15", "explanation": "...", "category": "Standards overview"},
    }
    (tmp_path / "TeleQnA.txt").write_text(json.dumps(teleqna), encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    exec(compile(block.group(1), "README.md", "exec"), {})
    first, second = load_mcq(tmp_path / "teleqna.jsonl")
    assert (first.id, first.answer, first.category, len(first.options)) == ("question 0", 0, "Standards specifications", 3)
    assert (second.answer, second.options) == (1, ("Rel-8", "Rel-15"))
