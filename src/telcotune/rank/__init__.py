"""Ranking statistics for judged LoRA runs: pointwise and pairwise (Bradley-Terry) rankings
with prompt-bootstrap intervals, position bias, judge agreement, and the study's question:
does the lowest validation loss go with the best judged answers?

Pure statistics: plain Python data in, frozen dataclasses out (each with a JSON-ready
`to_dict()` for ranking.json). All randomness comes from an explicit seed.
"""

from .agreement import JudgeAgreement, JudgePairAgreement, judge_agreement, ratings_from_rows
from .bootstrap import Interval, bootstrap_ci, cluster_weights, percentile_interval
from .correlation import Correlation, rank_correlation
from .inputs import PairVerdict, RankInputError, ScoreRow
from .krippendorff import KrippendorffAlpha, krippendorff_alpha_interval, krippendorff_alpha_ordinal
from .loss_vs_judge import LossJudgeComparison, loss_vs_judge, plain_finding
from .pairwise import (
    BradleyTerryFit, PairOutcome, PairwiseEntry, PairwiseRanking, PositionBias, bradley_terry,
    consistent_outcomes, position_bias, rank_pairwise,
)
from .pointwise import PointwiseEntry, PointwiseRanking, rank_pointwise

__all__ = [
    "BradleyTerryFit", "Correlation", "Interval", "JudgeAgreement", "JudgePairAgreement",
    "KrippendorffAlpha", "LossJudgeComparison", "PairOutcome", "PairVerdict", "PairwiseEntry",
    "PairwiseRanking", "PointwiseEntry", "PointwiseRanking", "PositionBias", "RankInputError",
    "ScoreRow", "bootstrap_ci", "bradley_terry", "cluster_weights", "consistent_outcomes",
    "judge_agreement", "krippendorff_alpha_interval", "krippendorff_alpha_ordinal", "loss_vs_judge", "percentile_interval",
    "plain_finding", "position_bias", "rank_correlation", "rank_pairwise", "rank_pointwise",
    "ratings_from_rows",
]
