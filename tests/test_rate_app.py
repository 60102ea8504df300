"""The rating app over HTTP on a free 127.0.0.1 port: join, rate, undo and finish; blindness (no
run name in anything the page receives); the access key; the loopback Host check; errors in
the serve API's format; pointwise scores; and the `telcotune rate` command line."""

from __future__ import annotations

import csv
import json

import httpx
import pytest

from telcotune.cli import main
from telcotune.paths import EvalPaths
from telcotune.rate.app import RatingSession, create_app
from telcotune.rate.commands import open_store
from telcotune.rate.records import SCORE_FIELDS
from telcotune.serve.app import LOOPBACK_HOSTS
from telcotune.serve.server import ServerThread

from .rate_study import ALL_RUNS, JUDGES, run_of, write_study

KEY = "rating-key-789"
PER_RATER = 6


@pytest.fixture()
def study(tmp_path):
    return write_study(tmp_path / "study", n_prompts=4)


def serve(study, protocol="pairwise", **options) -> ServerThread:
    store, book = open_store(study.root, (protocol,))
    return ServerThread(create_app(RatingSession(store, book, protocol, PER_RATER), **options))


def post(server, path, body, **headers) -> httpx.Response:
    return httpx.post(f"{server.base_url}/api/{path}", json=body, headers=headers, timeout=30)


def assert_error(response, status, code, match=""):
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["code"] == code and match in error["message"], error
    return error


def test_join_rate_undo_finish_and_stay_blind(study):
    seen: list[str] = []
    with serve(study) as server:
        view = post(server, "join", {"name": "Ada"}).json()
        seen.append(json.dumps(view))
        assert view["progress"] == {"done": 0, "total": PER_RATER} and not view["finished"]
        assert [m["role"] for m in view["item"]["conversation"]] == ["customer", "assistant", "customer"]
        shown = [run_of(text) for text in view["item"]["answers"]]
        first_key = view["item"]["key"]
        view = post(server, "rate", {"rater": "Ada", "item": first_key, "verdict": "B", "comment": "clearer"}).json()
        seen.append(json.dumps(view))
        assert view["progress"]["done"] == 1 and view["item"]["key"] != first_key
        assert_error(post(server, "rate", {"rater": "Ada", "item": first_key, "verdict": "A"}), 409, "already_rated")
        view = post(server, "undo", {"rater": "Ada"}).json()
        seen.append(json.dumps(view))
        assert view["item"]["key"] == first_key and view["progress"]["done"] == 0
        assert view["undone"] == {"verdict": "B", "scores": {}, "comment": "clearer"}
        while not view["finished"]:
            view = post(server, "rate", {"rater": "Ada", "item": view["item"]["key"], "verdict": "A"}).json()
            seen.append(json.dumps(view))
        assert view["progress"] == {"done": PER_RATER, "total": PER_RATER} and view["item"] is None
        seen.append(post(server, "join", {"name": "ada"}).text)  # the same person, resuming: still finished
        assert json.loads(seen[-1])["finished"]
        health = httpx.get(f"{server.base_url}/health").json()
        assert health == {"status": "ok", "auth_required": False, "protocol": "pairwise", "per_rater": PER_RATER}
    ratings = open_store(study.root, ("pairwise",))[0].ratings()
    assert len(ratings) == PER_RATER
    first = next(r for r in ratings if r.runs == tuple(shown))  # re-rated after the undo
    assert first.verdict == "A" and first.comment == ""
    blob = "\n".join(seen)
    for secret in (*ALL_RUNS, *JUDGES, "prompt_id", "run", "priority", "reason"):
        assert secret not in blob, secret


def test_errors_are_in_the_serve_format(study):
    with serve(study) as server:
        assert_error(post(server, "rate", {"rater": "Zed", "item": "x", "verdict": "A"}), 404, "unknown_rater")
        post(server, "join", {"name": "Ada"})
        assert_error(post(server, "rate", {"rater": "Ada", "item": "nope", "verdict": "A"}), 404, "unknown_item")
        assert_error(post(server, "rate", {"rater": "Ada", "item": "x", "verdict": "C"}), 422, "invalid_request",
                     "verdict")
        assert_error(post(server, "join", {"name": "   "}), 400, "invalid_rating", "name")
        assert_error(post(server, "join", {"name": "Ada", "admin": True}), 422, "invalid_request", "admin")
        big = httpx.post(f"{server.base_url}/api/join", content=b"{" + b" " * 70_000 + b"}",
                         headers={"Content-Type": "application/json"})
        assert_error(big, 413, "request_too_large")
        page = httpx.get(f"{server.base_url}/")
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
        assert "http" not in page.text.replace("http-equiv", "")  # nothing loaded from elsewhere


def test_the_access_key_and_the_loopback_host_check(study):
    with serve(study, api_key=KEY, allowed_hosts=LOOPBACK_HOSTS) as server:
        assert_error(post(server, "join", {"name": "Ada"}), 401, "invalid_api_key")
        assert_error(post(server, "join", {"name": "Ada"}, Authorization="Bearer wrong"), 401, "invalid_api_key")
        ok = post(server, "join", {"name": "Ada"}, Authorization=f"Bearer {KEY}")
        assert ok.status_code == 200 and ok.json()["item"]
        assert httpx.get(f"{server.base_url}/health").json()["auth_required"] is True
        rebound = httpx.get(f"{server.base_url}/health", headers={"Host": "attacker.example"})
        assert rebound.status_code == 400


def test_pointwise_needs_every_criterion_from_1_to_10(study):
    with serve(study, protocol="pointwise") as server:
        view = post(server, "join", {"name": "Ada"}).json()
        assert [c["name"] for c in view["criteria"]] == list(SCORE_FIELDS) and len(view["item"]["answers"]) == 1
        key = view["item"]["key"]
        partial = {"rater": "Ada", "item": key, "scores": {"overall": 7}}
        assert_error(post(server, "rate", partial), 422, "invalid_rating", "scores.accuracy: missing")
        too_high = {"rater": "Ada", "item": key, "scores": {name: 11 for name in SCORE_FIELDS}}
        assert_error(post(server, "rate", too_high), 422, "invalid_rating", "from 1 to 10")
        verdict = {"rater": "Ada", "item": key, "verdict": "A"}
        assert_error(post(server, "rate", verdict), 422, "invalid_rating", "not a verdict")
        scores = {name: 3 + i for i, name in enumerate(SCORE_FIELDS)}
        view = post(server, "rate", {"rater": "Ada", "item": key, "scores": scores}).json()
        assert view["progress"]["done"] == 1
    (rating,) = open_store(study.root, ("pointwise",))[0].ratings()
    assert rating.scores == {k: float(v) for k, v in scores.items()} and rating.verdict is None


# ---------------------------------------------------------------- the command line


def test_cli_refuses_other_hosts_without_a_key_and_missing_studies(study, tmp_path, capsys):
    for argv, message in (
        (["rate", "--workdir", str(study.root), "--host", "0.0.0.0"], "--host 0.0.0.0: raters on other machines"),
        (["rate", "--workdir", str(study.root), "--api-key-env", "TELCOTUNE_TEST_UNSET_VAR"], "not set"),
        (["rate", "--workdir", str(study.root), "--protocol", "both"], "--protocol: must be one of"),
        (["rate", "--workdir", str(tmp_path / "absent")], "no such study folder"),
        (["rate", "--workdir", str(tmp_path / "absent"), "--export", str(tmp_path / "x.csv")], "no such study"),
        (["rate", "--workdir", str(study.root), "--export", str(tmp_path / "x.csv")], "no ratings yet"),
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert message in " ".join(err.split()), err
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit):
        main(["rate", "--workdir", str(tmp_path / "empty")])
    assert "no answers to rate" in " ".join(capsys.readouterr().err.split())


def test_cli_imports_and_exports(study, tmp_path, capsys):
    source = tmp_path / "paper.csv"
    with open(source, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["rater", "protocol", "prompt_id", "run_a", "run_b", "verdict", "overall", "comment",
                         "rated_at"])
        writer.writerow(["Ada", "pairwise", "p01", "r4-qv", "base", "A", "", "on paper", "2025-05-01T10:00:00Z"])
        writer.writerow(["Ben", "pointwise", "p02", "r8-attn", "", "", "6", "", "2025-05-01T10:05:00Z"])
    main_ok(["rate", "--workdir", str(study.root), "--import", str(source)])
    assert "imported 2 rating(s)" in capsys.readouterr().out
    main_ok(["rate", "--workdir", str(study.root), "--import", str(source)])
    out_text = capsys.readouterr().out
    assert "imported 0 rating(s)" in out_text and "2 already present" in out_text
    out = tmp_path / "out.csv"
    main_ok(["rate", "--workdir", str(study.root), "--export", str(out)])
    assert "exported 2 rating(s)" in capsys.readouterr().out
    rows = list(csv.DictReader(out.open()))
    assert [(r["rater"], r["run_a"], r["run_b"], r["verdict"], r["overall"]) for r in rows] == [
        ("Ada", "r4-qv", "base", "A", ""), ("Ben", "r8-attn", "", "", "6")]
    assert EvalPaths(study.eval).ratings.is_file()
    source.write_text(source.read_text().replace("pointwise,p02", "pointwise,p77"))
    with pytest.raises(SystemExit):
        main(["rate", "--workdir", str(study.root), "--import", str(source)])
    assert f"{source}: line 3: prompt_id: 'p77'" in " ".join(capsys.readouterr().err.split())


def main_ok(argv):
    try:
        main(argv)
    except SystemExit as exit_:
        assert exit_.code in (0, None)
