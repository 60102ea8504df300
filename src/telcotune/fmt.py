"""Number formatting for tables and sentences. Missing values print as "n/a", never as 0."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

NA = "n/a"
J_PER_WH = 3600.0
J_PER_KWH = 3.6e6


def _missing(x: object) -> bool:
    return x is None or (isinstance(x, float) and not math.isfinite(x))


def num(x: float | None, digits: int = 3) -> str:
    return NA if _missing(x) else f"{x:.{digits}f}"


def sig(x: float | None, digits: int = 3) -> str:
    """Significant digits, for values whose magnitude varies (learning rates, energies)."""
    return NA if _missing(x) else f"{x:.{digits}g}"


def integer(x: float | None) -> str:
    return NA if _missing(x) else f"{int(round(x)):,}"


def pct(x: float | None, digits: int = 0) -> str:
    return NA if _missing(x) else f"{100 * x:.{digits}f}%"


def signed(x: float | None, digits: int = 2) -> str:
    """A correlation: two decimals, and never "-0.00"."""
    if _missing(x):
        return NA
    text = f"{x:.{digits}f}"
    return text[1:] if text.startswith("-") and float(text) == 0 else text


def interval(low: float | None, high: float | None, digits: int = 2) -> str:
    if _missing(low) or _missing(high):
        return NA
    return f"[{signed(low, digits)}, {signed(high, digits)}]"


def duration(seconds: float | None) -> str:
    if _missing(seconds):
        return NA
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _short(x: float) -> str:
    """Three or four meaningful digits without scientific notation: 1,834 / 27.5 / 0.42."""
    if abs(x) >= 100:
        return f"{x:,.0f}"
    if abs(x) >= 10:
        return f"{x:.1f}"
    return f"{x:.2f}" if abs(x) >= 0.01 else f"{x:.2g}"


def energy(joules: float | None) -> str:
    """Joules in the unit that keeps the number readable: J, Wh or kWh."""
    if _missing(joules):
        return NA
    if abs(joules) < J_PER_WH:
        return f"{_short(joules)} J"
    if abs(joules) < J_PER_KWH:
        return f"{_short(joules / J_PER_WH)} Wh"
    return f"{_short(joules / J_PER_KWH)} kWh"


def energy_unit(max_joules: float) -> tuple[str, float]:
    """(unit, joules per unit) for an axis whose largest value is `max_joules`."""
    if max_joules < J_PER_WH:
        return "J", 1.0
    if max_joules < J_PER_KWH:
        return "Wh", J_PER_WH
    return "kWh", J_PER_KWH


def energy_formatter(joules: Iterable[float | None]) -> Callable[[float | None], str]:
    """Formats energies in one unit (that of the largest of `joules`), so a table's rows compare
    at a glance instead of mixing J and Wh."""
    known = [abs(j) for j in joules if not _missing(j)]
    unit, per = energy_unit(max(known)) if known else ("J", 1.0)
    return lambda j: NA if _missing(j) else f"{_short(j / per)} {unit}"


def ordinal(n: int) -> str:
    """1st, 2nd, 3rd, 4th, 11th, 12th, 13th, 21st, ..."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def plural(n: int, noun: str) -> str:
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def listing(items: list[str]) -> str:
    """"a", "a and b", "a, b and c"."""
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"
