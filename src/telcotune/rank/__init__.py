"""Ranking statistics for judged LoRA runs: pointwise and pairwise (Bradley-Terry) rankings
with intervals over prompts that hold their level at few prompts, paired comparisons (tiers,
separability, P(best)), position bias, judge agreement, and the study's question: does the
lowest validation loss go with the best judged answers?

Pure statistics: plain Python data in, frozen dataclasses out (each with a JSON-ready
`to_dict()` for ranking.json). All randomness comes from an explicit seed.
"""

from .agreement import JudgeAgreement, JudgePairAgreement, judge_agreement, ratings_from_rows
from .bootstrap import Interval, bootstrap_ci, cluster_weights, percentile_interval
from .finding import StudyFinding, loss_verdict, study_finding
from .interval import SMALL_SAMPLE_PROMPTS, scaled_bootstrap_interval, t_interval
from .correlation import Correlation, rank_correlation
from .inputs import PairVerdict, RankInputError, ScoreRow
from .krippendorff import KrippendorffAlpha, krippendorff_alpha_interval, krippendorff_alpha_ordinal
from .loss_vs_judge import LossJudgeComparison, loss_vs_judge, plain_finding
from .pairwise import (
    BradleyTerryFit, PairOutcome, PairwiseEntry, PairwiseRanking, PositionBias, bradley_terry,
    consistent_outcomes, position_bias, rank_pairwise,
)
from .paired import PairDifference, Separation, TierEntry, separate_pairwise, separate_pointwise
from .pointwise import PointwiseEntry, PointwiseRanking, rank_pointwise
from .recommend import NoRecommendation, Recommendation, no_judge_separates, recommend

__all__ = [
    "BradleyTerryFit", "Correlation", "Interval", "JudgeAgreement", "JudgePairAgreement",
    "KrippendorffAlpha", "LossJudgeComparison", "PairOutcome", "PairVerdict", "PairwiseEntry",
    "PairwiseRanking", "PointwiseEntry", "PointwiseRanking", "PositionBias", "RankInputError",
    "ScoreRow", "bootstrap_ci", "bradley_terry", "cluster_weights", "consistent_outcomes",
    "judge_agreement", "krippendorff_alpha_interval", "krippendorff_alpha_ordinal", "loss_vs_judge", "percentile_interval",
    "plain_finding", "position_bias", "rank_correlation", "rank_pairwise", "rank_pointwise",
    "ratings_from_rows",
    # paired comparisons, tiers, recommendation and the headline
    "NoRecommendation", "PairDifference", "Recommendation", "SMALL_SAMPLE_PROMPTS", "Separation",
    "StudyFinding", "TierEntry", "loss_verdict", "no_judge_separates", "recommend",
    "scaled_bootstrap_interval", "separate_pairwise", "separate_pointwise", "study_finding",
    "t_interval",
]
