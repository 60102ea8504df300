"""The knowledge scorer on the tiny models against a hand computation: every option's
log-likelihood from an explicit loop (one forward pass per option token over the whole
sequence, no cache, no batching), and the accuracy counted by hand from those numbers."""

import math

import pytest
import torch

from telcotune.adapters import AdapterHost
from telcotune.knowledge.encoding import encode_question
from telcotune.knowledge.mcq import Question
from telcotune.knowledge.record import ModelScores, QuestionScores
from telcotune.knowledge.results import build_result, question_key
from telcotune.knowledge.scoring import _score_full, score_questions
from telcotune.models import load_model, load_tokenizer

SYSTEM = "You are a customer support assistant."
QUESTIONS = [
    Question("q1", "My mobile data shows connected but no page loads. What should I check?",
             ("Check the APN settings", "Reset the router", "Enable VoWiFi in Settings", "Roaming charges apply"),
             0, "mobile", "t"),
    Question("q2", "Why was I charged?", ("Roaming", "The fibre ONT lost its signal and the router lights are red"),
             0, "billing", "t"),
    Question("q3", "Wi-Fi calling drops at home.", ("Enable VoWiFi in Settings and update the phone software",
                                                     "Hello", "Check the cable"), 2, "mobile", "t"),
    Question("q4", "The router lights are red; the fibre ONT lost its signal. What now?",
             ("Reset the router and check the cable", "Thank you for contacting support"), 1, None, "t"),
    Question("q5", "Hi", ("step by step", "fix this together", "I understand"), 1, "billing", "t"),
]


def per_token_loop(model, encoded):
    """Sum of log p(option token | everything before it), one full forward per token."""
    out = []
    with torch.inference_mode():
        for question in encoded:
            sums = []
            for option in question.options:
                ids, total = list(question.context), 0.0
                for token in option:
                    logits = model(input_ids=torch.tensor([ids])).logits[0, -1].float()
                    total += torch.log_softmax(logits, dim=-1)[token].item()
                    ids.append(token)
                sums.append(total)
            out.append(sums)
    return out


def flat(nested):
    return [x for row in nested for x in row]


def encoded_questions(model_dir):
    tokenizer = load_tokenizer(model_dir)
    return [encode_question(tokenizer, q, SYSTEM) for q in QUESTIONS]


@pytest.fixture(params=["llama", "qwen2"])
def model_dir(request, tiny_model_dir, tiny_qwen_dir):
    return tiny_model_dir if request.param == "llama" else tiny_qwen_dir


def test_batched_scores_equal_the_per_token_loop(model_dir, one_torch_thread):
    model = load_model(model_dir).eval()
    encoded = encoded_questions(model_dir)
    expected = per_token_loop(model, encoded)
    for batch_size in (1, 2, 16):  # one question, uneven chunks, everything in one batch
        scores = score_questions(model, encoded, batch_size=batch_size)
        for q, got, want in zip(encoded, scores, expected):
            assert [s.tokens for s in got] == [len(o) for o in q.options]
            assert [s.logprob for s in got] == pytest.approx(want, abs=2e-4)
    with torch.inference_mode():
        full = _score_full(model, encoded)  # the path for models without a plain cache
    assert flat([[s.logprob for s in q] for q in full]) == pytest.approx(flat(expected), abs=2e-4)


def test_option_tokens_are_those_past_the_context():
    tokenizer = load_tokenizer_tiny()
    q = encode_question(tokenizer, QUESTIONS[0], SYSTEM)
    for text, option in zip(QUESTIONS[0].options, q.options):
        whole = tokenizer.apply_chat_template([{"role": "system", "content": SYSTEM},
                                               {"role": "user", "content": QUESTIONS[0].question}],
                                              add_generation_prompt=True, tokenize=False) + text
        assert list(q.context) + list(option) == tokenizer(whole, add_special_tokens=False)["input_ids"]
        assert tokenizer.decode(option) == text


def load_tokenizer_tiny():
    from .conftest import build_tiny_tokenizer

    return build_tiny_tokenizer()


def test_an_adapter_is_scored_as_itself_on_the_shared_base(tiny_model_dir, tmp_path, one_torch_thread):
    from peft import LoraConfig, get_peft_model

    torch.manual_seed(3)
    peft_model = get_peft_model(load_model(tiny_model_dir), LoraConfig(r=4, lora_alpha=16, init_lora_weights=False,
                                                                       target_modules=["q_proj", "v_proj"]))
    peft_model.save_pretrained(tmp_path / "adapter")
    encoded = encoded_questions(tiny_model_dir)
    expected = per_token_loop(peft_model.eval(), encoded)
    host = AdapterHost(tiny_model_dir)
    host.load("r4", tmp_path / "adapter")
    with host.use("r4") as model:
        got = score_questions(model, encoded, batch_size=3)
    with host.use("base") as model:
        base = score_questions(model, encoded, batch_size=3)
    assert flat([[s.logprob for s in q] for q in got]) == pytest.approx(flat(expected), abs=2e-4)
    assert flat([[s.logprob for s in q] for q in base]) != pytest.approx(flat(expected), abs=1e-2)


def test_accuracy_is_the_hand_count_of_right_choices(tiny_model_dir, one_torch_thread):
    model = load_model(tiny_model_dir).eval()
    encoded = encoded_questions(tiny_model_dir)
    loop = per_token_loop(model, encoded)
    by_mean = [max(range(len(s)), key=lambda i: s[i] / len(q.options[i])) for s, q in zip(loop, encoded)]
    by_sum = [max(range(len(s)), key=lambda i: s[i]) for s in loop]
    right_mean = sum(pick == q.answer for pick, q in zip(by_mean, QUESTIONS))
    right_sum = sum(pick == q.answer for pick, q in zip(by_sum, QUESTIONS))

    scores = score_questions(model, encoded, batch_size=2)
    rows = tuple(QuestionScores(question_key(q), tuple(s.logprob for s in opts), tuple(s.tokens for s in opts))
                 for q, opts in zip(QUESTIONS, scores))
    model_scores = ModelScores("base", "x", rows, 1.0, None, "missing", "off")
    result = build_result("tiny", QUESTIONS, [], SYSTEM, {"base": model_scores})
    base = result.for_run("base")
    assert base.accuracy.successes == right_mean and base.accuracy.total == len(QUESTIONS)
    assert base.accuracy_sum.successes == right_sum
    assert base.accuracy.value == pytest.approx(right_mean / len(QUESTIONS))
    mobile = [i for i, q in enumerate(QUESTIONS) if q.category == "mobile"]
    assert base.categories["mobile"].successes == sum(by_mean[i] == QUESTIONS[i].answer for i in mobile)
    assert set(base.categories) == {"mobile", "billing"}  # the uncategorised question counts overall only
    assert result.chance == pytest.approx(sum(1 / len(q.options) for q in QUESTIONS) / len(QUESTIONS))
    assert not math.isnan(base.accuracy.low)


def test_a_sliding_window_model_is_scored_on_whole_sequences(tmp_path, one_torch_thread):
    from transformers import Qwen2Config, Qwen2ForCausalLM

    from telcotune.knowledge.scoring import _cached_scorer

    from .conftest import build_tiny_tokenizer

    tokenizer = build_tiny_tokenizer()
    torch.manual_seed(0)
    model = Qwen2ForCausalLM(Qwen2Config(
        vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4,
        num_key_value_heads=2, max_position_embeddings=512, use_sliding_window=True, sliding_window=16,
        max_window_layers=0, tie_word_embeddings=True)).eval()
    encoded = [encode_question(tokenizer, q, SYSTEM) for q in QUESTIONS[:3]]
    with torch.inference_mode():
        assert _cached_scorer(model, [q.context for q in encoded]) is None  # its cache is not plain
    scores = score_questions(model, encoded, batch_size=2)
    assert flat([[s.logprob for s in q] for q in scores]) == pytest.approx(flat(per_token_loop(model, encoded)), abs=2e-4)
