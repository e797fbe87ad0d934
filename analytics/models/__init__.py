"""The analytics app's models, by subdomain; every model and constant is importable from here."""

# isort: off
# In the order of the old single module: the order the models register in.
from .customer_stats import CustomerStats
from .surveys import (
    DETRACTOR_CSAT_MAX,
    DETRACTOR_NPS_MAX,
    PROMOTER_NPS_MIN,
    SATISFIED_CSAT_MIN,
    Survey,
    SurveyResponse,
)
from .campaigns import Campaign, CampaignMember
from .daily_rollups import DailyAdvisorStats, DailyCareStats, DailyOrderStats, DailyStoreStats
from .monthly_rollups import (
    MonthlyAdvisorStats,
    MonthlyAdvisorTierStats,
    MonthlyAdvisorTotals,
    MonthlyCareStats,
    MonthlyCareTotals,
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyStoreStats,
    MonthlyTierMoves,
    MonthlyTierStats,
    MonthlyVisitorStats,
    WatchListEntry,
)
from .retention import RetentionStats, RollupRun
# isort: on

__all__ = [
    "DETRACTOR_CSAT_MAX",
    "DETRACTOR_NPS_MAX",
    "PROMOTER_NPS_MIN",
    "SATISFIED_CSAT_MIN",
    "Campaign",
    "CampaignMember",
    "CustomerStats",
    "DailyAdvisorStats",
    "DailyCareStats",
    "DailyOrderStats",
    "DailyStoreStats",
    "MonthlyAdvisorStats",
    "MonthlyAdvisorTierStats",
    "MonthlyAdvisorTotals",
    "MonthlyCareStats",
    "MonthlyCareTotals",
    "MonthlyOrderStats",
    "MonthlyOrderTotals",
    "MonthlyStoreStats",
    "MonthlyTierMoves",
    "MonthlyTierStats",
    "MonthlyVisitorStats",
    "RetentionStats",
    "RollupRun",
    "Survey",
    "SurveyResponse",
    "WatchListEntry",
]
