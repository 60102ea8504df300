"""How many more ratings a statistic needs: for an interval at all, or for a narrow enough one.

- With an interval of half-width h from n ratings: a bootstrap interval shrinks about as
  1/sqrt(n), so reaching the target half-width t takes about n (h / t)^2 ratings in all; the
  estimate is `ceil(n (h / t)^2) - n` more (0 when the target is met). It assumes new ratings
  are like the old ones (as informative, spread over as many new prompts); treat it as an order
  of magnitude, not a promise.
- Without an interval because the ratings come from fewer than two prompts: a prompt bootstrap
  needs two, so the estimate is the ratings that bring in the missing prompts (`per_prompt`
  ratings each: 1 for a statistic of single ratings, 2 for one that needs two raters per item).
- Without an interval for another reason (e.g. every rating was the same), no number is given
  and `basis` says why.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from ..rank.bootstrap import Interval
from .reliability import MIN_PROMPTS

TARGET_HALF_WIDTH = {"kappa": 0.10, "agreement": 0.10, "alpha": 0.10, "spearman": 0.20}
"""The 95% interval half-widths the estimates aim at, per kind of statistic. Kappa, alpha and
agreement shares live on [-1, 1] or [0, 1]: 0.10 tells "moderate" from "substantial". Rank
correlations over 16 runs vary more: 0.20 is already demanding."""


@dataclass(frozen=True)
class RatingsNeeded:
    statistic: str
    n_ratings: int
    """Ratings the statistic is computed from now."""
    half_width: float | None
    target_half_width: float | None
    """None for a statistic whose aim is to exist (an interval for every run)."""
    more_ratings: int | None
    """Estimated ratings still to collect; 0 when the target is met; None when no estimate."""
    basis: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def ratings_needed(statistic: str, kind: str, n_ratings: int, ci: Interval | None, n_prompts: int,
                   missing_reason: str | None, per_prompt: int = 1) -> RatingsNeeded:
    target = TARGET_HALF_WIDTH[kind]
    if ci is not None and n_ratings > 0:
        half = ci.width / 2
        more = max(0, math.ceil(n_ratings * (half / target) ** 2) - n_ratings)
        basis = (f"the {ci.level:.0%} interval's half-width {half:.2f} from {n_ratings} ratings, shrinking as "
                 f"1/sqrt(ratings), reaches {target:.2f} at about {n_ratings + more} ratings")
        return RatingsNeeded(statistic, n_ratings, half, target, more, basis)
    if n_prompts < MIN_PROMPTS:
        more = (MIN_PROMPTS - n_prompts) * per_prompt
        what = "ratings" if per_prompt == 1 else f"ratings ({per_prompt} raters per item)"
        basis = (f"no interval yet: it rests on {n_prompts} prompt(s) and a prompt bootstrap needs "
                 f"{MIN_PROMPTS}; {more} more {what} on other prompts give a first interval")
        return RatingsNeeded(statistic, n_ratings, None, target, more, basis)
    return RatingsNeeded(statistic, n_ratings, None, target, None,
                         f"no interval: {missing_reason or 'not computable'}; more varied ratings are needed")
