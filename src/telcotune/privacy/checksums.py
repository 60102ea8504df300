"""Check digits of the numbers the telecom recognizers look for: Luhn (IMEI, ICCID, payment
cards), ISO 13616 mod-97 (IBAN) and the E.212 mobile country code range (IMSI)."""

from __future__ import annotations


def digits_of(text: str) -> str:
    return "".join(ch for ch in text if ch.isdigit())


def luhn_valid(digits: str) -> bool:
    """True when `digits` (only digits) ends with a correct Luhn check digit."""
    if len(digits) < 2 or not digits.isdigit():
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def luhn_check_digit(payload: str) -> str:
    """The digit that makes `payload + digit` Luhn-valid (to build test numbers)."""
    return next(str(d) for d in range(10) if luhn_valid(payload + str(d)))


def iban_valid(text: str) -> bool:
    """ISO 13616: country letters, two check digits, 11-30 alphanumerics, mod 97 == 1."""
    iban = "".join(text.split()).upper()
    if not (15 <= len(iban) <= 34) or not iban[:2].isalpha() or not iban[2:4].isdigit() or not iban.isalnum():
        return False
    rearranged = iban[4:] + iban[:4]
    number = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(number) % 97 == 1


def mcc_plausible(digits: str) -> bool:
    """An IMSI's first three digits are a mobile country code: geographic MCCs lie in 200-799
    (ITU-T E.212; 2xx Europe ... 7xx South America). The list of assigned codes is not checked."""
    return len(digits) >= 3 and digits[:3].isdigit() and 200 <= int(digits[:3]) <= 799
