"""The offline `rubric` judge: template references score high, weak answers score low, and the
judge is conversation-aware and deterministic."""

from __future__ import annotations

import pytest

from telcotune.data.conversation import prompt_of, reference_of, with_system
from telcotune.data.glossary import load_glossary
from telcotune.data.plan import plan_conversations
from telcotune.data.scenarios import build_scenarios
from telcotune.data.template import TemplateWriter
from telcotune.judge.rubric import CRITERIA, TIE_MARGIN, RubricJudge, RubricScore, overall

from .conftest import ROOT

SHIPPED = ROOT / "src/telcotune/glossaries/telecom.yaml"
GENERIC = "Please restart your device and contact us if the problem persists."


@pytest.fixture(scope="module")
def glossary():
    return load_glossary(SHIPPED)


@pytest.fixture(scope="module")
def judge(glossary):
    return RubricJudge.from_glossary(glossary)


def conversation_row(plan) -> dict:
    """A conversation row as the data stage writes it."""
    return {"id": plan.id, "persona": plan.persona,
            "misconception": None if plan.misconception is None else plan.misconception.kind,
            "messages": with_system(TemplateWriter(plan.to_dict()).conversation())}


@pytest.fixture(scope="module")
def sample(glossary):
    """~50 scenarios spread over every term, cause and context, one conversation each:
    (scenario row, conversation row)."""
    scenarios = build_scenarios(glossary)[::31]
    plans = plan_conversations(scenarios, per_scenario=1, seed=11, mistake_rate=0.4, max_turns=4)
    return [(plan.scenario.to_row(), conversation_row(plan)) for plan in plans]


@pytest.fixture(scope="module")
def single_turn(glossary):
    """One-turn conversations, with and without a misconception of every kind."""
    plans = plan_conversations(build_scenarios(glossary)[::3], per_scenario=1, seed=5, mistake_rate=0.6,
                               max_turns=1)
    return [(plan.scenario.to_row(), conversation_row(plan), plan) for plan in plans]


def scenario_of(glossary, scenario_id: str) -> dict:
    return next(s.to_row() for s in build_scenarios(glossary) if s.id == scenario_id)


def first_turn(text: str, misconception=None) -> dict:
    return {"messages": with_system([{"role": "user", "content": text}]), "misconception": misconception}


# ------------------------------------------------------------------------------ references


def test_the_rubric_imports_nothing_of_the_generator():
    """It scores against the glossary entry, the conversation and its own criteria only."""
    import ast

    generator = {"telcotune.data.guidance", "telcotune.data.phrasing", "telcotune.data.template"}
    for path in (ROOT / "src/telcotune/judge").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                module = node.module or ""
                resolved = "telcotune." + module.lstrip(".").replace("..", ".") if node.level == 2 else module
                names = {f"{resolved}.{a.name}" for a in node.names} | {resolved}
                assert not names & generator, (path.name, resolved)
                assert not any(n.startswith(("telcotune.data.guidance", "telcotune.data.phrasing",
                                             "telcotune.data.template")) for n in names), path.name


APN_WORDS = ("Sorry about this. The APN is the gateway settings a phone uses to reach the operator's data network. "
             "Open Settings > Mobile network > Access point names and compare every field with the operator's "
             "published values. Select or add the correct APN and make sure it is the active profile. Reset network "
             "settings and restart the phone. Test mobile data with Wi-Fi switched off. If the APN matches the "
             "published values and data still fails after a network settings reset and restart, I'll escalate it "
             "to our technical team.")
APN_OTHER_WORDS = ("Sorry about this. The APN is the set of gateway details your phone needs to get onto our data "
                   "network. Go into Settings, open Mobile network and then Access point names, and go through every "
                   "field against the values we publish. Pick the right APN and make it the one in use. Reset your "
                   "network settings and switch the phone off and on again. Then try mobile data with Wi-Fi turned "
                   "off. If the APN details are right and data still fails after the reset, I'll pass this to our "
                   "technical team.")
PUK_WORDS = ("I'm sorry your SIM is locked. A PUK is an 8-digit code that unblocks a SIM after the SIM PIN has been "
             "entered wrongly three times. First I need to verify your identity before giving out the PUK. Then I "
             "can give you the PUK from our account system, or you can find it on the card the SIM came in. Enter "
             "the PUK and then set a new SIM PIN you will remember. Please note that ten wrong PUK attempts block "
             "the SIM permanently.")
PUK_OTHER_WORDS = ("I'm sorry your SIM is locked. The PUK is an eight-digit unlock code for when the SIM PIN was "
                   "typed in wrong three times. Before I share it I have to confirm who you are. After that I'll "
                   "read the PUK from your account, or you'll find it printed on the card your SIM was attached to. "
                   "Type the PUK in, then choose a new SIM PIN that's easy for you to remember. Be careful: ten "
                   "incorrect PUK entries lock the SIM for good.")


@pytest.mark.parametrize("scenario_id, words, other_words", [
    ("apn--misconfiguration--home", APN_WORDS, APN_OTHER_WORDS),
    ("puk--user-error--home", PUK_WORDS, PUK_OTHER_WORDS),
])
def test_steps_in_other_words_score_close_to_the_glossarys_words(judge, glossary, scenario_id, words, other_words):
    scenario = scenario_of(glossary, scenario_id)
    conv = first_turn("My phone has a problem, can you help?")
    glossary_words, paraphrase = judge.score(words, scenario, conv), judge.score(other_words, scenario, conv)
    assert glossary_words.overall >= 8
    assert paraphrase.overall >= glossary_words.overall - 1.5, paraphrase.rationale
    generic = judge.score(GENERIC, scenario, conv)
    assert paraphrase.overall >= generic.overall + 3


def test_copying_the_system_prompt_or_repeating_itself_scores_low(judge, glossary, sample):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    conv = first_turn("Mobile data shows connected but no page loads.")
    system = conv["messages"][0]["content"]
    echo = judge.score(system, scenario, conv)
    assert echo.overall <= 2 and "copies the conversation" in echo.rationale
    customer = judge.score("Mobile data shows connected but no page loads.", scenario, conv)
    assert customer.overall <= 2
    looped = judge.score(" ".join(["Reset network settings and restart the phone."] * 12), scenario, conv)
    assert looped.overall <= 2 and "loops" in looped.rationale
    assert judge.score(APN_WORDS, scenario, conv).overall >= 8  # the same judge, a real answer


def test_generic_answer_scores_clearly_lower_than_the_reference(judge, sample):
    for scenario, conv in sample:
        ref = judge.score(reference_of(conv["messages"]), scenario, conv)
        generic = judge.score(GENERIC, scenario, conv)
        assert generic.overall <= ref.overall - 2, (conv["id"], ref.rationale, generic.rationale)


def test_another_terms_reference_scores_lower(judge, single_turn):
    """A fluent, well-formed answer about a different term loses to the right one."""
    rows = [(s, c) for s, c, _ in single_turn][::4]
    pairs = [(a, b) for a, b in zip(rows, rows[5:] + rows[:5]) if a[0]["term"] != b[0]["term"]]
    assert len(pairs) >= 100
    worse = 0
    for (scenario, conv), (_, other_conv) in pairs:
        own = judge.score(reference_of(conv["messages"]), scenario, conv).overall
        other = judge.score(reference_of(other_conv["messages"]), scenario, conv).overall
        worse += other < own - 1
    assert worse == len(pairs)


# ------------------------------------------------------------------------------ criteria


def test_empty_answer_scores_one_everywhere(judge, sample):
    scenario, conv = sample[0]
    for answer in ("", "   \n "):
        s = judge.score(answer, scenario, conv)
        assert s.overall == 1.0 and s.rationale == "empty answer"
        assert s.criteria and set(s.criteria.values()) == {1.0}


def test_looping_answer_is_penalised_on_conciseness(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    sentence = "Please open Settings and compare every APN field with the operator's published values."
    once = judge.score(sentence + " Then restart the phone and test mobile data with Wi-Fi switched off.", scenario)
    looped = judge.score(" ".join([sentence] * 20), scenario)
    assert looped.criteria["conciseness"] <= 2 < once.criteria["conciseness"]
    assert "repetitive" in looped.rationale
    assert looped.overall < once.overall


def test_unrelated_glossary_terms_are_penalised(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    grounded = ("The APN (Access Point Name) is the gateway setting your phone uses to reach our data "
                "network. Please open Settings > Mobile network > Access point names and compare every field "
                "with our published values; MMS uses the same settings.")
    invented = grounded + " This is usually caused by CGNAT, port forwarding and your DHCP lease on the VDSL line."
    a, b = judge.score(grounded, scenario), judge.score(invented, scenario)
    assert a.criteria["invented_terms"] == 10  # APN, its aliases and the related MMS are fine
    assert b.criteria["invented_terms"] <= 2.5
    assert "unrelated terms: CGNAT" in b.rationale
    # a term the customer brought up is not invented
    conv = first_turn("Mobile data shows connected but no page loads. Is this a CGNAT thing?")
    assert "CGNAT" not in judge.score(grounded + " It is not CGNAT.", scenario, conv).rationale


def test_without_a_glossary_only_markers_count(glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    plain = RubricJudge()
    assert plain.score("Check CGNAT and DHCP on the VDSL line, please.", scenario).criteria["invented_terms"] == 10
    s = plain.score("As an AI language model I cannot check. Call +44 800 123 4567 or see https://x.example.",
                    scenario)
    assert s.criteria["invented_terms"] == 1
    assert "AI disclaimer" in s.rationale and "URL" in s.rationale and "phone number" in s.rationale


def test_misconception_correction_beats_no_correction(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    conv = first_turn("Mobile data shows connected but no page loads. I assumed APN and MMS were the same thing.",
                      "confuses-related")
    body = ("Please open Settings > Mobile network > Access point names and compare every field with our "
            "published values, then reset network settings and restart the phone.")
    corrected = judge.score("Actually, APN and MMS are related, but not the same: the APN is the gateway "
                            "setting your phone uses to reach our data network. " + body, scenario, conv)
    plain = judge.score(body, scenario, conv)
    assert corrected.criteria["misconception"] >= 8 > 4 >= plain.criteria["misconception"]
    assert "corrects the misconception" in corrected.rationale
    assert "ignores the misconception" in plain.rationale
    # no misconception in the conversation: the criterion does not apply and is left out of the mean
    none = judge.score(body, scenario, first_turn("Mobile data shows connected but no page loads."))
    assert "misconception" not in none.criteria and "misconception" in none.skipped
    assert "no misconception" in none.rationale


def test_template_corrections_of_every_kind_are_recognised(judge, single_turn):
    kinds = set()
    for scenario, conv, plan in single_turn:
        if plan.misconception is None:
            continue
        ref = reference_of(conv["messages"])
        paragraphs = ref.split("\n\n")
        without = "\n\n".join(paragraphs[:1] + paragraphs[2:])  # the correction is the 2nd paragraph
        with_score = judge.score(ref, scenario, conv).criteria["misconception"]
        without_score = judge.score(without, scenario, conv).criteria["misconception"]
        assert with_score >= 8 and without_score < with_score, (conv["id"], plan.misconception)
        kinds.add(plan.misconception.kind)
    assert kinds == {"confuses-related", "wrong-fix", "wrong-blame", "wrong-meaning"}


def test_term_named_and_explained(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    named = judge.score("Please check your APN settings and restart the phone.", scenario)
    explained = judge.score("The Access Point Name is the gateway setting a phone uses to reach the "
                            "operator's data network.", scenario)
    missing = judge.score("Please restart your phone and try again.", scenario)
    assert explained.criteria["term"] == 10 > named.criteria["term"] >= 6 > 4 >= missing.criteria["term"]
    assert "does not name APN" in missing.rationale


def test_steps_are_matched_fuzzily_and_counted(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    two = judge.score("Go to Settings, then Mobile network, then Access point names, and compare each field "
                      "with the values the operator publishes. After that, reset your network settings and "
                      "restart your phone.", scenario)
    assert "covers 2/4 steps" in two.rationale
    four = judge.score("Go to Settings, then Mobile network, then Access point names, and compare each field "
                       "with the values the operator publishes. Select the correct APN and make it the "
                       "active profile. Reset your network settings and restart your phone. Finally, test "
                       "mobile data with Wi-Fi switched off.", scenario)
    assert "covers 4/4 steps" in four.rationale and four.criteria["steps"] == 10
    assert two.criteria["steps"] < four.criteria["steps"]


def test_escalation_cue_and_condition(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    base = "Please check the APN settings. "
    full = judge.score(base + "If the APN matches the published values and data still fails after a network "
                       "settings reset and restart, I'll escalate this to our technical team.", scenario)
    vague = judge.score(base + "Otherwise I can pass this to a specialist.", scenario)
    none = judge.score(base, scenario)
    assert full.criteria["escalation"] == 10 > vague.criteria["escalation"] >= 6 > none.criteria["escalation"]


def test_tone_rewards_politeness_and_penalises_rudeness_and_shouting(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    steps = "open Settings > Mobile network > Access point names and compare every field."
    polite = judge.score("I'm sorry about the trouble, and thanks for your patience. Please " + steps, scenario)
    neutral = judge.score("Open " + steps[5:], scenario)
    rude = judge.score("Obviously you broke it, it's your fault. Just " + steps, scenario)
    shouting = judge.score("JUST OPEN THE SETTINGS AND FIX YOUR APN NOW. " + steps, scenario)
    assert polite.criteria["tone"] > neutral.criteria["tone"] > rude.criteria["tone"]
    assert shouting.criteria["tone"] < neutral.criteria["tone"] and "shouting" in shouting.rationale


@pytest.mark.parametrize("answer", [
    "Lo siento mucho. Por favor abra Ajustes y compruebe la configuración del punto de acceso; si sigue sin "
    "funcionar, reinicie el teléfono.",
    "asdkj qwe zxcvb lorp fnarg blee wubba snorf kwip tregl vorn glimp",
    "您好，很抱歉给您带来不便。请重新启动您的手机并检查网络设置。",
])
def test_other_languages_and_gibberish_score_low(judge, glossary, answer):
    s = judge.score(answer, scenario_of(glossary, "apn--misconfiguration--home"))
    assert s.overall <= 2 and "not readable" in s.rationale


# ------------------------------------------------------------------------------ conversation awareness


def test_follow_up_turns_are_judged_on_what_is_left(judge, sample):
    multi = [(s, c) for s, c in sample if len(prompt_of(c["messages"])) > 2]
    assert multi
    for scenario, conv in multi:
        s = judge.score(reference_of(conv["messages"]), scenario, conv)
        # the term was introduced earlier and (unless the customer asks about it) is not required again
        if "term" in s.skipped:
            assert "term introduced earlier" in s.rationale
        assert "steps" in s.criteria or "all steps given earlier" in s.rationale


def test_resolved_conversation_expects_an_acknowledgement(judge, glossary):
    scenario = scenario_of(glossary, "apn--misconfiguration--home")
    conv = {"messages": with_system([
        {"role": "user", "content": "Mobile data shows connected but no page loads."},
        {"role": "assistant", "content": "The APN is the gateway setting your phone uses. Please open Settings "
                                         "> Mobile network > Access point names and compare every field with "
                                         "the operator's published values."},
        {"role": "user", "content": "That fixed it, thank you!"}]), "misconception": None}
    thanks = judge.score("Great news, I'm glad it's working. If data fails again even though the APN matches "
                         "the published values, contact us and we'll bring in a specialist.", scenario, conv)
    more = judge.score("Please reset network settings and restart the phone, then test mobile data with Wi-Fi "
                       "switched off.", scenario, conv)
    assert thanks.criteria["steps"] == 10 and "acknowledges the fix" in thanks.rationale
    assert more.criteria["steps"] < 5
    assert "term" not in thanks.criteria  # named in the earlier assistant turn


# ------------------------------------------------------------------------------ compare, API, determinism


def test_compare_prefers_the_reference_in_both_orders(judge, sample):
    for scenario, conv in sample[::5]:
        ref = reference_of(conv["messages"])
        ab = judge.compare(ref, GENERIC, scenario, conv)
        ba = judge.compare(GENERIC, ref, scenario, conv)
        assert (ab.verdict, ba.verdict) == ("A", "B")
        assert ab.a == ba.b and ab.b == ba.a
    scenario, conv = sample[0]
    same = judge.compare(GENERIC, GENERIC, scenario, conv)
    assert same.verdict == "tie" and abs(same.a.overall - same.b.overall) < TIE_MARGIN


def test_score_shape_and_weighted_mean(judge, sample):
    scenario, conv = sample[1]
    s = judge.score(reference_of(conv["messages"]), scenario, conv)
    assert isinstance(s, RubricScore)
    assert set(s.criteria) | set(s.skipped) == set(CRITERIA)
    assert all(1 <= v <= 10 for v in s.criteria.values()) and 1 <= s.overall <= 10
    expected = sum(CRITERIA[c] * v for c, v in s.criteria.items()) / sum(CRITERIA[c] for c in s.criteria)
    assert s.overall == pytest.approx(expected, abs=0.01) == overall(s.criteria)
    d = s.to_dict()
    assert d["criteria"] == s.criteria and d["overall"] == s.overall and d["rationale"] == s.rationale
    assert judge.compare("a", "b", scenario, conv).to_dict()["verdict"] in ("A", "B", "tie")
    with pytest.raises(AttributeError):
        s.overall = 5  # frozen


def test_deterministic(judge, glossary, sample):
    fresh = RubricJudge.from_glossary(SHIPPED)
    answers = [reference_of(c["messages"]) for _, c in sample[:10]] + [GENERIC, "", "SORRY!! " * 30]
    for scenario, conv in sample[:10]:
        for answer in answers:
            a = judge.score(answer, scenario, conv)
            assert a == judge.score(answer, scenario, conv) == fresh.score(answer, scenario, conv)
    assert RubricJudge.from_glossary().score(GENERIC, *sample[0]) == judge.score(GENERIC, *sample[0])


def test_flat_name_list_and_scenario_objects(glossary):
    flat = RubricJudge([name for term in glossary.terms for name in term.names()])
    scenario = next(s for s in build_scenarios(glossary) if s.id == "apn--misconfiguration--home")
    answer = "Please compare every APN field with our published values; CGNAT and DHCP are not involved."
    s = flat.score(answer, scenario)  # a Scenario is read through its to_row()
    assert s == flat.score(answer, scenario.to_row())
    assert "unrelated terms: CGNAT, DHCP" in s.rationale
