"""`telcotune data inspect`: conversations rendered with the model's template, the tokens the
loss mask covers marked; `telcotune data` still generates."""

from __future__ import annotations

import json

import pytest

from telcotune.cli import main

from .test_train_data import write_data


def _run(argv) -> int:
    with pytest.raises(SystemExit) as done:
        main(argv)
    return done.value.code


def test_inspect_marks_exactly_the_assistant_turns(tmp_path, tiny_model_dir, capsys):
    data = write_data(tmp_path / "data", n_train=4, n_val=2)
    assert _run(["data", "inspect", str(data), "--n", "2", "--model", str(tiny_model_dir)]) == 0
    out = capsys.readouterr().out
    rows = [json.loads(line) for line in (data / "train.jsonl").read_text().splitlines()][:2]
    assert out.count(" tokens trained (") == 2 and "trained tokens between [[ ]]" in out
    body = out.split("\n", 2)[2]  # after the legend line, which shows the marks too
    marked = [part.split("]]", 1)[0] for part in body.split("[[")[1:]]
    replies = [m["content"] for r in rows for m in r["messages"] if m["role"] == "assistant"]
    # each trained run is one reply and its end-of-turn token, never the role header or a user turn
    def words(text):  # the terminal wraps long lines
        return " ".join(text.split())

    assert [words(m) for m in marked] == [words(f"{r}<|im_end|>") for r in replies]
    assert "<|im_start|>assistant" not in "".join(marked)
    users = [m["content"] for r in rows for m in r["messages"] if m["role"] == "user"]
    assert all(u not in "".join(marked) for u in users)


def test_inspect_counts_come_from_the_training_mask(tmp_path, tiny_model_dir):
    from telcotune.artifacts.data import ConversationRow
    from telcotune.data.inspect import inspect_rows
    from telcotune.models import load_tokenizer
    from telcotune.train.tokenize import encode_conversation

    data = write_data(tmp_path / "data", n_train=3, n_val=1)
    rows = [ConversationRow.model_validate_json(line) for line in (data / "train.jsonl").read_text().splitlines()]
    tokenizer = load_tokenizer(tiny_model_dir)
    for row, item in zip(rows, inspect_rows(rows, tokenizer)):
        ids, targets = encode_conversation(tokenizer, row.plain_messages())
        assert (item.tokens, item.trained_tokens) == (len(ids), sum(targets))
        assert "".join(s.text for s in item.segments) == tokenizer.decode(ids)


def test_inspect_errors_name_the_split(tmp_path, tiny_model_dir, capsys):
    data = write_data(tmp_path / "data", n_train=2, n_val=1)
    assert _run(["data", "inspect", str(data), "--split", "dev", "--model", str(tiny_model_dir)]) == 2
    assert "--split dev: expected one of train, val, test, test_ood" in capsys.readouterr().err
    assert _run(["data", "inspect", str(data), "--split", "test", "--model", str(tiny_model_dir)]) == 2
    assert "test.jsonl: file not found" in capsys.readouterr().err


def test_data_without_out_is_an_error(capsys):
    assert _run(["data"]) == 2
    assert "--out is required" in capsys.readouterr().err
