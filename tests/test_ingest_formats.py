"""Reading transcripts: the three formats, auto-detection, turn order, role mapping, merging
and cutting, and one-line errors for bad input that never quote a conversation."""

from __future__ import annotations

import json

import pytest

from telcotune.ingest.formats import Columns, parse_columns, read_source
from telcotune.ingest.roles import DEFAULT_ROLES, Normalized, Rejected, normalize, parse_role_map, role_table
from telcotune.ingest.split import parse_split
from telcotune.ingest.transcript import Transcript, TranscriptError, Turn

SECRET = "my card is 4111 1111 1111 1111"


def write_jsonl(path, records):
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def speakers(source):
    return [[t.speaker for t in tr.turns] for tr in source.transcripts]


def test_openai_jsonl(tmp_path):
    path = write_jsonl(tmp_path / "a.jsonl", [
        {"id": "t1", "account": {"id": "A1"}, "messages": [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": [{"type": "text", "text": "hello"}, {"type": "image_url"}]}]}])
    source = read_source(path, group_by="account.id")
    assert source.format == "openai"
    (tr,) = source.transcripts
    assert (tr.file, tr.record, tr.group) == ("a.jsonl", 1, "A1")
    assert [(t.speaker, t.text) for t in tr.turns] == [("user", "hi"), ("assistant", "hello")]


def test_sharegpt_json_array(tmp_path):
    path = tmp_path / "s.json"
    path.write_text(json.dumps([{"id": 7, "conversations": [{"from": "system", "value": "be nice"},
                                                            {"from": "human", "value": "q"},
                                                            {"from": "gpt", "value": "a"}]}]))
    source = read_source(path)
    assert source.format == "sharegpt" and speakers(source) == [["system", "human", "gpt"]]
    assert source.transcripts[0].group == "7"


def test_csv_turn_rows_are_ordered_by_timestamp(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("ticket;at;who;body;cust\n"
                    "T2;2024-03-01T10:05:00Z;agent;second answer;C9\n"
                    "T1;2024-03-01T09:01:00+00:00;agent;answer;C1\n"
                    "T1;2024-03-01T09:00:00Z;customer;question;C1\n"
                    "T2;2024-03-01T10:00:00Z;customer;second question;C9\n", encoding="utf-8")
    columns = parse_columns(["id=ticket,order=at", "role=who", "text=body"])
    source = read_source(path, columns=columns, group_by="cust")
    assert source.format == "csv"
    assert [(tr.record, tr.group, [t.text for t in tr.turns]) for tr in source.transcripts] == [
        (2, "C9", ["second question", "second answer"]), (3, "C1", ["question", "answer"])]


def test_turn_rows_in_jsonl_with_turn_numbers(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", [
        {"conversation_id": "c1", "turn": 10, "role": "agent", "text": "answer"},
        {"conversation_id": "c1", "turn": 2, "role": "customer", "text": "question"}])
    source = read_source(path)
    assert source.format == "csv" and speakers(source) == [["customer", "agent"]]


def test_auto_detection_failure_says_what_it_looked_for(tmp_path):
    path = write_jsonl(tmp_path / "x.jsonl", [{"dialog": []}])
    with pytest.raises(TranscriptError, match=r"x.jsonl: line 1: cannot tell the format.*set --format"):
        read_source(path)


@pytest.mark.parametrize("content, kwargs, message", [
    ("", {}, r"bad.jsonl: empty source"),
    ("\n\n", {}, r"bad.jsonl: empty source"),
    ('{"messages": []}\n{"messages": [\n', {}, r"bad.jsonl: line 2: not valid JSON"),
    ('{"id": 1}\n', {"fmt": "openai"}, r"bad.jsonl: line 1: field 'messages': missing"),
    ('{"messages": [{"role": "user"}]}\n', {}, None),  # content missing: an empty turn, rejected later
    ('{"messages": [{"content": "' + SECRET + '"}]}\n', {}, r"bad.jsonl: line 1: field messages\[0\].role: missing"),
    ('{"messages": [{"role": "user", "content": 5}]}\n', {}, r"line 1: field messages\[0\].content: expected text"),
    ('{"messages": [{"role": "user", "content": "' + SECRET + '"}]}\n', {"group_by": "customer"},
     r"bad.jsonl: line 1: field 'customer': missing \(--group-by\)"),
    ('[1, 2]', {}, r"bad.jsonl: record 1: expected a JSON object"),
])
def test_bad_jsonl_input(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content, encoding="utf-8")
    if message is None:
        read_source(path, **kwargs)
        return
    with pytest.raises(TranscriptError, match=message) as exc:
        read_source(path, **kwargs)
    assert "\n" not in str(exc.value) and "4111" not in str(exc.value)


@pytest.mark.parametrize("content, kwargs, message", [
    ("conversation_id,role,body\nc1,user," + SECRET + "\n", {}, r"bad.csv: row 1: column 'text': missing \(columns: conversation_id, role, body\)"),
    ("conversation_id,role,text\n", {}, r"bad.csv: empty source"),
    ("conversation_id,role,text\nc1,,x\n", {}, r"bad.csv: row 2: column 'role': missing"),
    ("conversation_id,role,text,turn\nc1,user,x,1\nc1,agent,y,later\n", {}, r"bad.csv: row 3: column 'turn': neither a turn number nor an ISO 8601 timestamp"),
    ("conversation_id,role,text,acct\nc1,user,x,A1\nc1,agent,y,A2\n", {"group_by": "acct"}, r"bad.csv: row 3: column 'acct': differs"),
    ("conversation_id,role,text\nc1,user,x\n", {"group_by": "acct"}, r"bad.csv: row 2: column 'acct': missing"),
    ("conversation_id,role,text\nc1,user,x\n", {"fmt": "openai"}, r"bad.csv: a CSV file can only hold the csv format"),
])
def test_bad_csv_input(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(TranscriptError, match=message) as exc:
        read_source(path, **kwargs)
    assert "4111" not in str(exc.value)


def test_unreadable_files(tmp_path):
    with pytest.raises(TranscriptError, match=r"missing.jsonl: cannot read"):
        read_source(tmp_path / "missing.jsonl")
    (tmp_path / "latin1.csv").write_bytes("conversation_id,role,text\nc1,user,caf\xe9\n".encode("latin-1"))
    with pytest.raises(TranscriptError, match=r"latin1.csv: not UTF-8 text \(byte \d+\)"):
        read_source(tmp_path / "latin1.csv")


def test_option_parsers():
    assert parse_columns(["id=ticket", "role=speaker,text=msg"]) == Columns(id="ticket", role="speaker", text="msg")
    with pytest.raises(TranscriptError, match="--columns: 'who=x'"):
        parse_columns(["who=x"])
    assert parse_role_map(["Agent=assistant,Live Chat Bot=assistant", "caller=user"]) == {
        "agent": "assistant", "live_chat_bot": "assistant", "caller": "user"}
    with pytest.raises(TranscriptError, match="--role-map: 'agent=helper'"):
        parse_role_map(["agent=helper"])
    assert parse_split("0.7, 0.2, 0.1").val == pytest.approx(0.2)
    with pytest.raises(TranscriptError, match="--split: .*sum to 1"):
        parse_split("0.5,0.2,0.1")
    with pytest.raises(TranscriptError, match="--split: '0.8,0.2' is not three shares"):
        parse_split("0.8,0.2")


# -- roles ----------------------------------------------------------------------------------

def transcript(*turns):
    return Transcript("f.jsonl", 1, "g", tuple(Turn(s, t, f"f.jsonl: line 1: field messages[{i}].role")
                                                 for i, (s, t) in enumerate(turns)))


TABLE = role_table({"supervisor": "assistant", "event": "drop"})


def test_normalize_merges_cuts_and_keeps_the_system_message():
    result = normalize(transcript(
        ("system", "You help."), ("bot", "Welcome! How can I help?"), ("customer", "My 4G is down."),
        ("Customer", "Since today."), ("event", "chat transferred"), ("agent", "Let me check."),
        ("supervisor", "Fixed the APN."), ("system", "agent left"), ("customer", "Thanks!"), ("customer", "  ")), TABLE)
    assert isinstance(result, Normalized)
    assert result.system == "You help."
    assert result.turns == ({"role": "user", "content": "My 4G is down.\nSince today."},
                            {"role": "assistant", "content": "Let me check.\nFixed the APN."})
    assert result.changes == {"merged_turns": 2, "leading_assistant_dropped": 1, "trailing_customer_dropped": 1,
                              "dropped_turns": 1, "system_turns_dropped": 1, "empty_turns_dropped": 1}


@pytest.mark.parametrize("turns, reason", [
    ((("customer", "hello?"), ("customer", "anyone?")), "no_assistant_turn"),
    ((("agent", "Hello, how can I help?"),), "no_customer_turn"),
    ((("agent", "Hi"), ("customer", "bye")), "no_assistant_turn"),
    ((), "no_assistant_turn"),
])
def test_conversations_without_both_roles_are_rejected(turns, reason):
    result = normalize(transcript(*turns), TABLE)
    assert isinstance(result, Rejected) and result.reason == reason


def test_long_conversations_are_cut_to_whole_exchanges():
    turns = [t for i in range(12) for t in (("customer", f"question {i}"), ("agent", f"answer {i}"))]
    result = normalize(transcript(*turns), TABLE)
    assert len(result.turns) == 16 and result.turns[-1]["content"] == "answer 7"
    assert result.changes["cut_to_limits"] == 1


def test_unknown_speaker_stops_the_import_with_its_location():
    with pytest.raises(TranscriptError, match=r"f.jsonl: line 1: field messages\[1\].role: unknown role \(the label is "
                                              r"not shown: it may be a name\); map it with "
                                              r"--role-map SPEAKER=user\|assistant\|system\|drop") as exc:
        normalize(transcript(("customer", "q"), ("Maria Lopez", "a")), TABLE)
    assert "Maria" not in str(exc.value)


def test_default_roles_cover_common_exports():
    for speaker in ("human", "gpt", "agent", "customer", "bot", "operator", "system"):
        assert speaker in DEFAULT_ROLES
