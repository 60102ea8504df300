"""The recognizers: telecom identifiers with their check digits (IMEI, ICCID, IMSI, MSISDN,
E.164 phones, PUK codes), postal addresses, operator-defined patterns, and Presidio's own
recognizers for national phone formats, IBANs, payment cards, e-mail, IP and MAC addresses.

Each comes as an `Entry`: the Presidio recognizer, the entity it finds, and whether it is
*strict* (a match is personal data by its shape and check digits alone, so the verifier's
second pass may use it). Entity rules (priority, context words) decide between overlapping
matches in `spans.py`.
"""

from __future__ import annotations

from dataclasses import dataclass

import phonenumbers
import tldextract
from presidio_analyzer import EntityRecognizer, Pattern, PatternRecognizer
from presidio_analyzer.predefined_recognizers import (
    CreditCardRecognizer,
    EmailRecognizer,
    IbanRecognizer,
    IpRecognizer,
    MacAddressRecognizer,
    PhoneRecognizer,
)

from .checksums import digits_of, luhn_valid, mcc_plausible
from ..config import PrivacyConfig


@dataclass(frozen=True)
class EntityRule:
    priority: int
    """Higher wins when matches of different entities overlap and context does not decide."""
    context: tuple[str, ...] = ()
    """Words shortly before a match that make this entity the right label."""
    not_after: tuple[str, ...] = ()
    """Words just before a match that mean it is something else (a firmware version, ...)."""


RULES: dict[str, EntityRule] = {
    "EMAIL": EntityRule(95),
    "ICCID": EntityRule(90, ("iccid", "sim", "serial")),
    "IMEI": EntityRule(85, ("imei", "device", "handset", "serial")),
    "IBAN": EntityRule(80, ("iban", "bank")),
    "CARD": EntityRule(75, ("card", "visa", "mastercard", "amex", "credit", "debit", "payment")),
    "SIM_CODE": EntityRule(70, ("puk",)),
    "IMSI": EntityRule(60, ("imsi", "subscriber")),
    "MAC": EntityRule(55, ("mac", "hardware", "physical", "ethernet")),
    "PHONE": EntityRule(50, ("phone", "number", "mobile", "msisdn", "call", "tel", "cell", "landline")),
    "IP": EntityRule(40, ("ip", "ipv4", "ipv6"),
                     not_after=("firmware", "version", "ver", "v", "build", "release", "software", "os")),
    "ADDRESS": EntityRule(20, ("address", "live", "street", "postcode", "zip")),
    "PERSON": EntityRule(10),
}
OPERATOR_RULE = EntityRule(99)
"""Operator-defined patterns name exactly what the operator wants hidden: they win."""

WELL_KNOWN_VALUES = (
    # Addresses every support conversation may name that belong to no customer.
    "0.0.0.0", "127.0.0.1", "::1", "::", "255.255.255.255", "255.255.255.0", "255.255.0.0", "255.0.0.0",
    "192.168.0.1", "192.168.1.1", "192.168.0.254", "192.168.1.254", "192.168.8.1", "192.168.100.1",
    "10.0.0.1", "10.0.0.138", "8.8.8.8", "8.8.4.4", "1.1.1.1", "1.0.0.1", "9.9.9.9",
    "208.67.222.222", "208.67.220.220",
)


@dataclass(frozen=True)
class Entry:
    recognizer: EntityRecognizer
    entity: str
    strict: bool


def rule_for(entity: str) -> EntityRule:
    return RULES.get(entity, OPERATOR_RULE)


# -- telecom identifiers -------------------------------------------------------------------

_D15_GROUPED = r"(?<!\d)\d(?:[ -]?\d){14}(?!\d)"


class ImeiRecognizer(PatternRecognizer):
    """IMEI: 15 digits (also grouped as 35-209900-176148-1) whose last digit is a Luhn check."""

    def __init__(self) -> None:
        super().__init__(supported_entity="IMEI", name="ImeiRecognizer",
                         patterns=[Pattern("imei", _D15_GROUPED, 0.5)], context=list(RULES["IMEI"].context))

    def validate_result(self, pattern_text: str) -> bool:
        digits = digits_of(pattern_text)
        return len(digits) == 15 and luhn_valid(digits)


class IccidRecognizer(PatternRecognizer):
    """ICCID (the SIM card number): 19-20 digits starting 89 (telecom), Luhn check digit last."""

    def __init__(self) -> None:
        pattern = r"(?<!\d)8[ -]?9(?:[ -]?\d){17,18}(?!\d)"
        super().__init__(supported_entity="ICCID", name="IccidRecognizer",
                         patterns=[Pattern("iccid", pattern, 0.5)], context=list(RULES["ICCID"].context))

    def validate_result(self, pattern_text: str) -> bool:
        digits = digits_of(pattern_text)
        return len(digits) in (19, 20) and digits.startswith("89") and luhn_valid(digits)


class ImsiRecognizer(PatternRecognizer):
    """IMSI: 15 digits, a mobile country code (200-799) then the network code and the
    subscriber number. It has no check digit, so it is weaker than the others."""

    def __init__(self) -> None:
        super().__init__(supported_entity="IMSI", name="ImsiRecognizer",
                         patterns=[Pattern("imsi", r"(?<!\d)\d{15}(?!\d)", 0.5)],
                         context=list(RULES["IMSI"].context))

    def validate_result(self, pattern_text: str) -> bool:
        return mcc_plausible(pattern_text)


class MsisdnRecognizer(PatternRecognizer):
    """MSISDN: a phone number in international form without `+` (447700900123), valid for
    the country its code names."""

    def __init__(self) -> None:
        super().__init__(supported_entity="PHONE", name="MsisdnRecognizer",
                         patterns=[Pattern("msisdn", r"(?<![\d+])[1-9]\d{9,14}(?!\d)", 0.4)],
                         context=list(RULES["PHONE"].context))

    def validate_result(self, pattern_text: str) -> bool:
        return personal_phone("+" + pattern_text, None, require_valid=True)


class E164Recognizer(PatternRecognizer):
    """International phone numbers written with `+` (+44 7700 900123, +1 (415) 555-2671)."""

    def __init__(self) -> None:
        pattern = r"(?<![\w+])\+[1-9](?:[ .\-]?\(?\d\)?){6,14}(?!\d)"
        super().__init__(supported_entity="PHONE", name="E164Recognizer",
                         patterns=[Pattern("e164", pattern, 0.5)], context=list(RULES["PHONE"].context))

    def validate_result(self, pattern_text: str) -> bool:
        return personal_phone(pattern_text, None, require_valid=False)


SERVICE_NUMBER_TYPES = frozenset({
    phonenumbers.PhoneNumberType.TOLL_FREE, phonenumbers.PhoneNumberType.PREMIUM_RATE,
    phonenumbers.PhoneNumberType.SHARED_COST, phonenumbers.PhoneNumberType.UAN,
})
"""Freephone, premium-rate and shared-cost numbers belong to businesses (the operator's own
hotline among them), not to customers: they stay."""


def personal_phone(text: str, region: str | None, *, require_valid: bool) -> bool:
    """True for a number that may be someone's: possible (or valid) and not a service number."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        return False
    ok = phonenumbers.is_valid_number(number) if require_valid else phonenumbers.is_possible_number(number)
    return ok and phonenumbers.number_type(number) not in SERVICE_NUMBER_TYPES


class SimCodeRecognizer(PatternRecognizer):
    """A PUK (8 digits) given after the word PUK: a per-SIM secret. The word itself stays."""

    def __init__(self) -> None:
        pattern = r"(?<=\bpuk2?\b[^\d\n]{0,24})\d{8}(?!\d)"
        super().__init__(supported_entity="SIM_CODE", name="SimCodeRecognizer",
                         patterns=[Pattern("puk", pattern, 0.9)])


# -- postal addresses ----------------------------------------------------------------------

_STREET_TYPES = (
    "Street|St|Road|Rd|Avenue|Ave|Lane|Ln|Drive|Boulevard|Blvd|Way|Court|Ct|Place|Pl|Close|Crescent|"
    "Terrace|Square|Sq|Gardens|Grove|Parkway|Pkwy|Highway|Hwy|Row|Mews|Walk|Hill|Park|Circle|Cir"
)
_US_STATES = (
    "AL|AK|AZ|AR|CA|CO|CT|DE|FL|GA|HI|ID|IL|IN|IA|KS|KY|LA|ME|MD|MA|MI|MN|MS|MO|MT|NE|NV|NH|NJ|NM|NY|"
    "NC|ND|OH|OK|OR|PA|RI|SC|SD|TN|TX|UT|VT|VA|WA|WV|WI|WY|DC"
)
_WORD = r"[A-Z][a-zà-ÿ'’\-]+"
ADDRESS_PATTERNS = (
    # 221B Baker Street / 45 Old Mill Rd (case-sensitive: capitalised street names; a full stop stays)
    Pattern("street", rf"(?-i:\b\d{{1,5}}[A-Za-z]?,?\s+(?:{_WORD}\.?\s+){{1,4}}(?:{_STREET_TYPES})\b)", 0.6),
    # Hauptstraße 5 / Lindenweg 12a
    Pattern("street_de", r"(?-i:\b[A-ZÄÖÜ][a-zäöüß]+(?:straße|strasse|str\.|weg|gasse|platz|allee|ring|damm)\s+\d{1,4}[a-z]?\b)", 0.6),
    # UK postcodes: SW1A 1AA, M1 1AE (not '5GB' data sizes)
    Pattern("uk_postcode", r"(?-i:\b[A-Z]{1,2}\d[A-Z\d]?\s?\d(?!GB|MB|KB|TB)[A-Z]{2}\b)", 0.5),
    # Springfield, IL 62704
    Pattern("us_city_zip", rf"(?-i:\b{_WORD}(?:\s{_WORD})?,\s(?:{_US_STATES})\s\d{{5}}(?:-\d{{4}})?\b)", 0.6),
    # 10115 Berlin (5-digit code then a capitalised city, after a street)
    Pattern("de_plz_city", r"(?-i:(?<=,\s?)\d{5}\s[A-ZÄÖÜ][a-zäöüß]+\b)", 0.5),
)


class AddressRecognizer(PatternRecognizer):
    """Postal addresses where a pattern fits: a numbered street, a UK postcode, a US city with
    state and ZIP, a German street and postcode. Free-form addresses need an NER model."""

    def __init__(self) -> None:
        super().__init__(supported_entity="ADDRESS", name="AddressRecognizer",
                         patterns=list(ADDRESS_PATTERNS), context=list(RULES["ADDRESS"].context))


# -- Presidio's recognizers, named as telcotune names them ---------------------------------

_SUFFIXES = tldextract.TLDExtract(cache_dir=None, suffix_list_urls=(), fallback_to_snapshot=True)
"""The public-suffix list from the snapshot bundled with tldextract: no fetch, no cache file."""


class OfflineEmailRecognizer(EmailRecognizer):
    """Presidio's e-mail pattern, checked against the bundled suffix list (never fetched).
    An address on a private domain (name@corp.internal) is still reported, at the pattern's score."""

    def __init__(self) -> None:
        super().__init__(supported_entity="EMAIL", name="OfflineEmailRecognizer")

    def validate_result(self, pattern_text: str) -> bool | None:
        domain = pattern_text.rpartition("@")[2]
        return True if _SUFFIXES(domain).fqdn else None


class NationalPhoneRecognizer(PhoneRecognizer):
    """Presidio's phone recognizer (libphonenumber's matcher) for national formats of the
    configured regions. The first region, in the configured order, whose matcher finds a
    number decides what it is: a service number (freephone, premium, shared cost) stays."""

    MIN_DIGITS = 7

    def analyze(self, text, entities, nlp_artifacts=None):
        if sum(ch.isdigit() for ch in text) < self.MIN_DIGITS:  # most turns: no number to parse
            return []
        decided: dict[tuple[int, int], bool] = {}
        results = []
        for region in self.supported_regions:
            for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=self.leniency):
                span = (match.start, match.end)
                if span in decided:
                    continue
                decided[span] = self._personal(match, text)
                if decided[span]:
                    results.append(self._get_recognizer_result(match, text, region, nlp_artifacts))
        return EntityRecognizer.remove_duplicates(results)

    @staticmethod
    def _personal(match: phonenumbers.PhoneNumberMatch, text: str) -> bool:
        found = text[match.start:match.end]
        if sum(ch.isdigit() for ch in found) < NationalPhoneRecognizer.MIN_DIGITS or found.count(".") >= 3:  # dotted quads are IPs
            return False
        return phonenumbers.number_type(match.number) not in SERVICE_NUMBER_TYPES


def operator_recognizer(name: str, pattern: str) -> PatternRecognizer:
    return PatternRecognizer(supported_entity=name, name=f"Operator{name.title()}Recognizer",
                             patterns=[Pattern(name.lower(), pattern, 1.0)])


def build_entries(cfg: PrivacyConfig) -> list[Entry]:
    """Every recognizer the redactor runs (the NER recognizer is added by the engine)."""
    entries = [
        Entry(ImeiRecognizer(), "IMEI", True),
        Entry(IccidRecognizer(), "ICCID", True),
        Entry(ImsiRecognizer(), "IMSI", True),
        Entry(MsisdnRecognizer(), "PHONE", True),
        Entry(E164Recognizer(), "PHONE", True),
        Entry(SimCodeRecognizer(), "SIM_CODE", True),
        Entry(IbanRecognizer(supported_entity="IBAN"), "IBAN", True),
        Entry(CreditCardRecognizer(supported_entity="CARD"), "CARD", True),
        Entry(OfflineEmailRecognizer(), "EMAIL", True),
        Entry(IpRecognizer(supported_entity="IP"), "IP", True),
        Entry(MacAddressRecognizer(supported_entity="MAC"), "MAC", True),
        Entry(NationalPhoneRecognizer(supported_entity="PHONE", supported_regions=tuple(cfg.phone_regions)),
              "PHONE", False),
        Entry(AddressRecognizer(), "ADDRESS", False),
    ]
    entries += [Entry(operator_recognizer(name, pattern), name, True) for name, pattern in cfg.patterns.items()]
    return entries
