"""Serving from a study folder: which run `--run` picks (names, best-judge, best-loss, clear
errors listing the runs), the training system prompt, and the terminal chat on the tiny model
(streamed replies equal batched greedy ones, history, /reset, /exit)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from telcotune.data.conversation import SYSTEM_PROMPT
from telcotune.errors import ConfigError
from telcotune.artifacts.io import write_record
from telcotune.artifacts.ranking import BootstrapSettings, Ranking
from telcotune.config import DecodingConfig, ExperimentConfig, TrainConfig
from telcotune.decoding import PLAIN_GREEDY
from telcotune.fsio import write_json, write_jsonl
from telcotune.generation import generate_batch
from telcotune.serve.chat import ChatSession, run_chat
from telcotune.serve.choice import choose_run
from telcotune.serve.engine import ChatEngine
from telcotune.serve.errors import InputTooLong, TooManyTokens, UnknownModel
from telcotune.serve.limits import ServeLimits
from telcotune.serve.system_prompt import training_system_prompt
from telcotune.serve.target import adapter_target, study_target
from telcotune.paths import StudyPaths

from . import fake_study as fake
from .test_evaluate import make_adapter

STUDY_PROMPT = "You are the support assistant of TestTel. Answer briefly."
RUNS = {"r4-a": 1.5, "r4-b": 2.5}
# The first judge decides best-judge; its order starts with base, which is skipped.
JUDGE_SCORES = {"rubric": {"base": 7.0, "r4-b": 6.0, "r4-a": 5.0}, "local:x": {"r4-a": 7.0, "r4-b": 6.0, "base": 5.0}}


def ranking_of(judge_scores: dict[str, dict[str, float]], pairwise_only: bool = False) -> Ranking:
    judges = {}
    for judge, scores in judge_scores.items():
        section = fake.judge_section(judge, RUNS, scores, (-0.5, 0.5), with_pairwise=True)
        judges[judge] = section.model_copy(update={"pointwise": None}) if pairwise_only else section
    return Ranking(runs=["base", *RUNS], val_loss=RUNS, loss_order=sorted(RUNS, key=RUNS.get), prompt_sets={"test": 5},
                   judges=judges, agreement=None, bootstrap=BootstrapSettings(n_resamples=200, seed=0),
                   finding=fake.finding(judges))


def build_study(root: Path, model_dir: Path, ranking: Ranking | None = None, *, with_config: bool = True,
                evaluated: bool = True) -> StudyPaths:
    """A study folder as `telcotune run` leaves it, with two hand-made adapters."""
    study = StudyPaths(root)
    if with_config:
        write_record(study.resolved_config, ExperimentConfig(model={"spec": str(model_dir)}))
    write_jsonl(study.data / "train.jsonl", [{"id": "c1", "messages": [
        {"role": "system", "content": STUDY_PROMPT}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"}]}])
    for seed, (name, loss) in enumerate(RUNS.items(), start=1):
        run = study.run(name)
        run.mkdir(parents=True)
        make_adapter(model_dir, run, seed=seed)
        fake.write_run(run, TrainConfig(r=4, targets="qv"), fake.run_metrics(loss), model=str(model_dir))
    (study.sweep / "r4-unfinished").mkdir()  # no manifest: not offered
    if evaluated:
        write_record(study.eval_paths.ranking, ranking or ranking_of(JUDGE_SCORES))
    return study


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(scope="module")
def study(tmp_path_factory, tiny_model_dir) -> StudyPaths:
    return build_study(tmp_path_factory.mktemp("study"), tiny_model_dir)


@pytest.fixture(scope="module")
def engine(study) -> ChatEngine:
    return ChatEngine.load(study_target(study.root, None), ServeLimits(max_input_tokens=400, max_new_tokens=64))


def test_run_choice_by_name_and_by_ranking(study):
    assert choose_run(study, "r4-a").name == "r4-a"
    assert choose_run(study, "base").name == "base"
    best_judge = choose_run(study, "best-judge")
    assert best_judge.name == "r4-b" and "rubric" in best_judge.why  # base skipped, first judge wins
    assert choose_run(study, "best-loss").name == "r4-a"


def test_run_choice_errors_list_the_runs(study, tmp_path, tiny_model_dir):
    with pytest.raises(ConfigError, match=r"r4-zz.*available runs: r4-a, r4-b \(or base"):
        choose_run(study, "r4-zz")
    with pytest.raises(ConfigError, match="r4-unfinished"):
        choose_run(study, "r4-unfinished")
    bare = StudyPaths(tmp_path / "bare")
    bare.root.mkdir()
    with pytest.raises(ConfigError, match="no trained adapter"):
        choose_run(bare, "best-judge")
    unevaluated = build_study(tmp_path / "unevaluated", tiny_model_dir, evaluated=False)
    with pytest.raises(ConfigError, match=r"ranking.json not found.*telcotune evaluate.*r4-a, r4-b"):
        choose_run(unevaluated, "best-judge")
    # best-loss needs no evaluation: the sweep's validation losses answer it
    assert choose_run(unevaluated, "best-loss").name == "r4-a"
    pairwise_only = build_study(tmp_path / "pairwise", tiny_model_dir,
                                ranking=ranking_of({"j": JUDGE_SCORES["rubric"]}, pairwise_only=True))
    with pytest.raises(ConfigError, match="no pointwise judge ranking"):
        choose_run(pairwise_only, "best-judge")


def test_targets_from_study_and_from_adapter(study, tmp_path, tiny_model_dir):
    target = study_target(study.root, ["best-judge", "r4-b", "base"])
    assert list(target.adapters) == ["r4-b"] and target.default == "r4-b"
    assert target.model_spec == str(tiny_model_dir) and target.system_prompt == STUDY_PROMPT
    assert list(study_target(study.root, None).adapters) == ["r4-a", "r4-b"]
    # an adapter inside a study layout takes the study's model and prompt; a loose one needs --model
    inside = adapter_target(study.run("r4-a") / "adapter")
    assert (inside.default, inside.model_spec, inside.system_prompt) == ("r4-a", str(tiny_model_dir), STUDY_PROMPT)
    make_adapter(tiny_model_dir, tmp_path / "loose", seed=3)
    loose = adapter_target(tmp_path / "loose" / "adapter", "some-model")
    assert (loose.default, loose.model_spec, loose.system_prompt) == ("loose", "some-model", SYSTEM_PROMPT)
    with pytest.raises(ConfigError, match="no trained adapter"):
        study_target(tmp_path / "nowhere", ["r4-a"])


def test_a_study_without_config_takes_the_base_model_from_its_runs(tmp_path, tiny_model_dir):
    """`data` + `sweep` leave no study config.json; every run's own config names its base model."""
    study = build_study(tmp_path / "noconf", tiny_model_dir, with_config=False, evaluated=False)
    target = study_target(study.root, ["r4-a"])
    assert target.model_spec == str(tiny_model_dir) and list(target.adapters) == ["r4-a"]
    assert adapter_target(study.run("r4-b") / "adapter").model_spec == str(tiny_model_dir)


def test_training_system_prompt_falls_back(tmp_path):
    assert training_system_prompt(None) == SYSTEM_PROMPT
    assert training_system_prompt(StudyPaths(tmp_path)) == SYSTEM_PROMPT  # no data/train.jsonl
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "train.jsonl").write_text(json.dumps({"id": "c1", "messages": [{"role": "user", "content": "x"}]}) + "\n")
    assert training_system_prompt(StudyPaths(tmp_path)) == SYSTEM_PROMPT


def test_engine_validates_before_generating(engine):
    hello = [{"role": "user", "content": "hello"}]
    with pytest.raises(UnknownModel, match="r4-a, r4-b, base"):
        engine.prepare("r9", hello, 8)
    with pytest.raises(TooManyTokens, match="at most 64"):
        engine.prepare("r4-a", hello, 65)
    with pytest.raises(InputTooLong, match="at most 400"):
        engine.prepare("r4-a", [{"role": "user", "content": "router " * 400}], 8)
    assert engine.conversation(hello)[0] == {"role": "system", "content": STUDY_PROMPT}
    own = [{"role": "system", "content": "be terse"}, *hello]
    assert engine.conversation(own) == own


@pytest.mark.parametrize("model", ["r4-a", "base", "r4-b"])
def test_streamed_reply_equals_batched_greedy(engine, model):
    """Swapping adapters per reply answers exactly like a model holding only that adapter."""
    conversation = [{"role": "user", "content": "My router lights are red, what now?"}]
    pieces: list[str] = []
    stats = engine.reply(engine.prepare(model, conversation, 12), pieces.append, decoding=PLAIN_GREEDY)
    with engine.bank.use(model) as held:
        expected = generate_batch(held, engine.tokenizer, [engine.conversation(conversation)], max_new_tokens=12)[0]
    assert "".join(pieces) == stats.text == expected.text
    assert stats.completion_tokens == expected.new_tokens and stats.prompt_tokens == expected.prompt_tokens
    assert stats.finish_reason in ("stop", "length")


STRONG_PENALTIES = DecodingConfig(repetition_penalty=1.6, no_repeat_ngram=2)
BATCH = [[{"role": "user", "content": text}] for text in
         ("My mobile data says connected but no page loads.", "Roaming in Spain, no signal at all.",
          "Why is my bill higher this month?")]


@pytest.mark.parametrize("decoding", [DecodingConfig(), STRONG_PENALTIES], ids=["default", "strong"])
def test_batched_answers_equal_served_replies(engine, decoding):
    """The evaluation's batched decode loop picks each reply's tokens as the server does, with
    the same penalties and n-gram bans (one implementation, `telcotune.decoding`)."""
    served = [engine.reply(engine.prepare("r4-a", c, 24), lambda _: None, decoding=decoding) for c in BATCH]
    conversations = [engine.conversation(c) for c in BATCH]
    with engine.bank.use("r4-a") as held:
        batched = generate_batch(held, engine.tokenizer, conversations, max_new_tokens=24, decoding=decoding,
                                 batch_size=3)
        plain = generate_batch(held, engine.tokenizer, conversations, max_new_tokens=24, batch_size=3)
    assert [r.text for r in batched] == [s.text for s in served]
    assert [r.new_tokens for r in batched] == [s.completion_tokens for s in served]
    assert [r.text for r in batched] != [r.text for r in plain]  # the penalties did change the replies


def test_adapters_answer_differently(engine):
    conversation = [{"role": "user", "content": "Wi-Fi calling drops at home."}]
    texts = {m: engine.reply(engine.prepare(m, conversation, 10), lambda _: None).text for m in engine.names}
    assert len(set(texts.values())) == 3, texts  # otherwise the swap tests above prove nothing


def test_chat_loop_streams_keeps_history_resets_and_exits(engine):
    session = ChatSession(engine, "r4-b", max_new_tokens=8)
    script = io.StringIO("My data is slow\n\nand roaming?\n/reset\nhello again\n/exit\nnever read\n")
    out = io.StringIO()
    run_chat(session, script, out)
    text = out.getvalue()
    assert "chatting with r4-b" in text and "(conversation cleared)" in text
    assert text.count("assistant> ") == 3  # the empty line is skipped, nothing after /exit
    assert [m["role"] for m in session.history] == ["user", "assistant"]  # only after the reset
    assert session.history[0]["content"] == "hello again"
    assert session.history[1]["content"] in text  # the reply was written out as it streamed


def test_chat_drops_oldest_turns_when_the_context_is_full(engine):
    session = ChatSession(engine, "r4-a", max_new_tokens=4)
    session.history = [{"role": "user", "content": "roaming " * 90}, {"role": "assistant", "content": "ok"}] * 2
    out = io.StringIO()
    session.reply("and now?", out)
    assert "oldest turns dropped" in out.getvalue()
    assert session.history[-2]["content"] == "and now?" and len(session.history) < 6
    out = io.StringIO()
    run_chat(ChatSession(engine, "r4-a", max_new_tokens=4), io.StringIO("router " * 500 + "\n"), out)
    assert "message not sent" in out.getvalue()  # too long even alone: said, and the chat goes on


def test_an_adapter_with_non_finite_weights_is_refused(study, tmp_path, tiny_model_dir):
    import shutil

    from safetensors.torch import load_file, save_file

    folder = tmp_path / "diverged"
    shutil.copytree(study.run("r4-a") / "adapter", folder)
    weights = load_file(folder / "adapter_model.safetensors")
    first = sorted(weights)[0]
    weights[first] = weights[first].fill_(float("nan"))
    save_file(weights, folder / "adapter_model.safetensors")
    with pytest.raises(ConfigError, match=f"adapter_model.safetensors: tensor {first} holds NaN"):
        ChatEngine.load(adapter_target(folder, str(tiny_model_dir)))
