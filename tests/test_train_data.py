"""Hand-made conversation files for the training tests (helpers imported by the other
test_train* modules), and the checks on reading them."""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from telcotune.artifacts.data import ConversationRow

SYSTEM = "You are a telecom support assistant."
USER = [
    "My mobile data shows connected but no page loads.",
    "The router lights are red.",
    "I was charged for roaming in France.",
    "Wi-Fi calling drops at home.",
    "My fibre ONT lost its signal.",
]
ASSISTANT = [
    "Check the APN settings and restart the phone.",
    "Reset the router and check the cable.",
    "Roaming charges apply outside the fair use policy.",
    "Enable VoWiFi in Settings and update the phone software.",
    "Hello, thank you for contacting support. Let us fix this together step by step.",
]


@pytest.fixture(autouse=True)
def tiny_threads():
    """Tiny-model tests on one thread (as train_run does for tiny models: no OpenMP barrier
    stalls when other processes share the CPUs); the thread count is restored afterwards."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def conversation(i: int, turns: int) -> dict:
    rng = random.Random(i)
    messages = [{"role": "system", "content": SYSTEM}]
    for _ in range(turns):
        messages.append({"role": "user", "content": rng.choice(USER)})
        messages.append({"role": "assistant", "content": rng.choice(ASSISTANT)})
    return {"id": f"c{i}", "scenario_id": f"s{i % 7}", "term": "APN", "cause": "config",
            "context": "home", "persona": "calm", "messages": messages}


def conversation_row(i: int, turns: int) -> ConversationRow:
    return ConversationRow.model_validate(conversation(i, turns))


def write_data(folder: Path, n_train: int = 24, n_val: int = 6) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, n, offset in (("train", n_train, 0), ("val", n_val, 10_000)):
        rows = [conversation(offset + i, 1 + (offset + i) % 4) for i in range(n)]
        (folder / f"{name}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_read_split_rejects_rows_without_assistant_turn(tmp_path):
    from telcotune.errors import DataError
    from telcotune.train.tokenize import read_split

    path = tmp_path / "train.jsonl"
    path.write_text(json.dumps({"id": "x", "messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(DataError, match=r"train.jsonl: row 1 \(id x\): role_order: .* must end with an assistant turn"):
        read_split(path)


@pytest.mark.parametrize("messages, code", [
    ([{"role": "user", "content": "My data is down."}, {"role": "assistant", "content": "   "}], "empty_turn"),
    ([{"role": "assistant", "content": "Hello."}, {"role": "user", "content": "My data is down."},
      {"role": "assistant", "content": "Check the APN."}], "role_order"),
    ([{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
      {"role": "assistant", "content": "Check the APN."}], "role_order"),
])
def test_training_applies_the_data_stages_validation_with_its_reason_codes(tmp_path, messages, code):
    """A hand-made or imported folder never trains on end-of-turn tokens alone or on roles out of order."""
    from telcotune.errors import DataError
    from telcotune.train.tokenize import read_split

    path = tmp_path / "train.jsonl"
    rows = [conversation(1, 1), {"id": "bad", "messages": [{"role": "system", "content": "x"}, *messages]}]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(DataError, match=rf"train.jsonl: row 2 \(id bad\): {code}: "):
        read_split(path)


def test_read_split_rejects_unknown_role(tmp_path):
    from telcotune.errors import StageError
    from telcotune.train.tokenize import read_split

    path = tmp_path / "val.jsonl"
    path.write_text(json.dumps({"id": "c1", "messages": [{"role": "bot", "content": "hi"}]}) + "\n")
    with pytest.raises(StageError, match=r"val\.jsonl:1: messages\.0\.role: input should be"):
        read_split(path)


def test_missing_split_file_is_a_data_error(tmp_path, tiny_model_dir):
    from telcotune.errors import DataError
    from telcotune.models import load_tokenizer
    from telcotune.train.tokenize import tokenize_data

    (tmp_path / "train.jsonl").write_text(json.dumps(conversation(0, 1)) + "\n")
    with pytest.raises(DataError, match="val.jsonl: file not found"):
        tokenize_data(tmp_path, load_tokenizer(tiny_model_dir))
