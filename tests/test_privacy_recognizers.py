"""The telecom recognizers: check digits, formats, labels of overlapping matches, and no
false redaction of telecom vocabulary."""

from __future__ import annotations

import pytest

from telcotune.privacy.checksums import iban_valid, luhn_check_digit, luhn_valid, mcc_plausible

from .privacy_support import shared_engine
from .transcript_corpus import TELECOM_WORDS


@pytest.fixture(scope="module")
def engine():
    return shared_engine()


def found(engine, text):
    return [(s.entity, text[s.start:s.end]) for s in engine.spans(text)]


def test_checksums():
    assert luhn_valid("490154203237518") and not luhn_valid("490154203237519")
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert luhn_check_digit("49015420323751") == "8"
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and iban_valid("DE89370400440532013000")
    assert not iban_valid("GB82 WEST 1234 5698 7654 33") and not iban_valid("GB82")
    assert mcc_plausible("310150123456789") and not mcc_plausible("123456789012345")


@pytest.mark.parametrize("text, entity, value", [
    ("My IMEI is 490154203237518.", "IMEI", "490154203237518"),
    ("IMEI 49-015420-323751-8 please", "IMEI", "49-015420-323751-8"),
    ("the ICCID 8944100000000000000 on the card", "ICCID", "8944100000000000000"),
    ("SIM serial 8949 1234 5678 9012 347", "ICCID", "8949 1234 5678 9012 347"),
    ("IMSI 310150123456789 registered", "IMSI", "310150123456789"),
    ("msisdn 447911123456 is active", "PHONE", "447911123456"),
    ("call +44 7911 123456 now", "PHONE", "+44 7911 123456"),
    ("or on 07911 123456 tonight", "PHONE", "07911 123456"),
    ("US line (212) 555-0147.", "PHONE", "(212) 555-0147"),
    ("German mobile 01512 3456789.", "PHONE", "01512 3456789"),
    ("IBAN GB82 WEST 1234 5698 7654 32.", "IBAN", "GB82 WEST 1234 5698 7654 32"),
    ("paid by card 4111 1111 1111 1111 today", "CARD", "4111 1111 1111 1111"),
    ("card 5500-0000-0000-0004 please", "CARD", "5500-0000-0000-0004"),
    ("mail jane.doe@example.co.uk now", "EMAIL", "jane.doe@example.co.uk"),
    ("mail ops@corp.internal now", "EMAIL", "ops@corp.internal"),
    ("public IP 81.2.69.160 changed", "IP", "81.2.69.160"),
    ("prefix 2a02:c7f:5e1a:3c00:1d4b:77ff:fe21:9a0c here", "IP", "2a02:c7f:5e1a:3c00:1d4b:77ff:fe21:9a0c"),
    ("MAC 3C:5A:B4:1F:22:9E on the label", "MAC", "3C:5A:B4:1F:22:9E"),
    ("MAC 3c-5a-b4-1f-22-9e on the label", "MAC", "3c-5a-b4-1f-22-9e"),
    ("MAC 3c5a.b41f.229e on the label", "MAC", "3c5a.b41f.229e"),
    ("I live at 221B Baker Street now", "ADDRESS", "221B Baker Street"),
    ("postcode SW1A 1AA please", "ADDRESS", "SW1A 1AA"),
    ("billing in Springfield, IL 62704 ok", "ADDRESS", "Springfield, IL 62704"),
    ("wohne in der Hauptstraße 5 seit", "ADDRESS", "Hauptstraße 5"),
    ("account ACC-12345678 closed", "ACCOUNT", "ACC-12345678"),
    ("your PUK code is 12345678.", "SIM_CODE", "12345678"),
])
def test_recognizes(engine, text, entity, value):
    assert found(engine, text) == [(entity, value)]


@pytest.mark.parametrize("text", [
    "My IMEI is 990154203237519.",           # Luhn check digit wrong (and 990 is no country code)
    "the ICCID 8944100000000000009 on it",    # Luhn wrong
    "serial 7744100000000000005 ok",          # 19 digits, Luhn valid, not 89...
    "IBAN GB82 WEST 1234 5698 7654 33.",      # mod-97 wrong
    "card 4111 1111 1111 1112 please",        # Luhn wrong
    "reference 123456789012345 noted",        # 15 digits: no Luhn, MCC 123 impossible
    "call 0800 800 150 free of charge",       # freephone: a business number
    "the 2 way radio and 5 Main",             # no street type
    "Galaxy S23 5GB plan",                    # looks like a postcode, is a data size
    "firmware 1.0.2.3 installed",             # a version, not an IP address
])
def test_does_not_recognize(engine, text):
    assert found(engine, text) == []


def test_a_wrong_check_digit_is_no_imei(engine):
    # 15 digits with a plausible country code are still an IMSI candidate: redacted, not as IMEI.
    assert found(engine, "My IMEI is 490154203237519.") == [("IMSI", "490154203237519")]


def test_context_word_decides_the_label_of_an_ambiguous_number(engine):
    # 15 digits, Luhn-valid, plausible MCC: an IMEI or an IMSI; the word before it decides.
    value = "31026" + "012345678"
    value += luhn_check_digit(value)
    assert found(engine, f"IMSI {value} registered") == [("IMSI", value)]
    assert found(engine, f"IMEI {value} registered") == [("IMEI", value)]


def test_overlapping_matches_merge_into_one_span(engine):
    # An IMEI-looking 15-digit run followed directly by more digits of a card number.
    text = "Visa card 4539 1488 0343 6467, thanks"
    assert found(engine, text) == [("CARD", "4539 1488 0343 6467")]


@pytest.mark.parametrize("word", TELECOM_WORDS)
def test_telecom_vocabulary_survives(engine, word):
    assert found(engine, f"The agent said: {word} is fine.") == []


def test_telecom_vocabulary_count():
    assert len(set(TELECOM_WORDS)) >= 50
