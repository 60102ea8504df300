"""People rate the study's answers, and the statistics say how far each LLM judge agrees with them.

`telcotune rate` serves a blind rating page (app.py) backed by one SQLite file (store.py);
human.py turns the ratings into people's ranking, inter-rater agreement, each judge's agreement
with people and the loss question, as typed results for ranking.json and the report.
"""

from .human import (
    HUMAN_JUDGE, HumanJudgeSection, InterRaterAgreement, JudgeVersusPeople, RaterPairAgreement, agreement_entry,
    human_judge_section, judge_entry, load_human_sections,
)
from .needed import RatingsNeeded
from .reliability import Estimate

__all__ = [
    "Estimate", "HUMAN_JUDGE", "HumanJudgeSection", "InterRaterAgreement", "JudgeVersusPeople", "RaterPairAgreement",
    "RatingsNeeded", "agreement_entry", "human_judge_section", "judge_entry", "load_human_sections",
]
