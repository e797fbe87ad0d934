"""Reads of the KPI dashboards: GROUP BY queries over the nightly rollup tables.

Every function here reads the monthly rollups (``MonthlyOrderTotals`` and, with the
model filter, ``MonthlyOrderStats``; ``MonthlyStoreStats``, ``MonthlyCareStats``,
``MonthlyAdvisorStats``, ``MonthlyTierStats``; and ``RetentionStats``), never the
repair orders, and costs one query whatever the number of orders, customers or
days: the sums are grouped in SQL, by month or by a dimension, and Python only
arranges the few grouped rows. A period of 24 months is 24 rows per key of a
store; a group-level user without a store chosen reads the group's own rows (no
dealership), as few as a store's, where a table keeps them. The care funnel and
the advisors, whose rows are a store's advisors, are shown by store to such a
user (``by_store``): a row per advisor of every store is no page to read.

Every rate goes through ``analytics.scores`` (``share``, ``nps_from_counts``),
so each rule (one decimal, None when nothing was counted) lives once.

Filters: the store (group-level users), the period (whole months), the car
model and the value tier. A rollup without a dimension ignores its filter;
the pages say so under each table (``applies``).
"""

from analytics.kpis._common import (
    _ALIAS,
    _CENTS,
    _ONE_DECIMAL,
    PAYER_LABELS,
    TIERS,
    ZERO,
    Filter,
    KpiFilters,
    _advisor_columns,
    _group,
    _money,
    _monthly,
    _months,
    _order_dimensions,
    _orders,
    _rollup,
    _store_totals,
    _tier_months,
    advisor_label,
    by_store,
    change,
    kind_label,
    per,
)
from analytics.kpis.care import (
    ADVISOR_SUMS,
    FUNNEL_STAGES,
    AdvisorLine,
    CareFunnel,
    FunnelLine,
    _store_columns,
    advisor_lines,
    care_funnel,
)
from analytics.kpis.drilldown import (
    NO_ADVISOR,
    DrillFilters,
    Metric,
    SurveyGroup,
    _advisor_q,
    _care_rows,
    _local_midnight,
    _retention_cars,
    _survey_rows,
    care_stage,
    drill_customer_ids,
    drill_store_ids,
    drilldown_customers,
)
from analytics.kpis.orders import (
    BreakdownLine,
    OrderBreakdown,
    OrderMonth,
    _as_date,
    _breakdown_of,
    _order_months_of,
    _order_rows,
    order_breakdown,
    order_figures,
    order_months,
)
from analytics.kpis.retention import AGE_BAND_LABELS, Retention, RetentionLine, _band_rank, retention
from analytics.kpis.store import STORE_SUMS, StoreMonth, StoreTotals, churn_bases, store_months, store_totals
from analytics.kpis.tiers import TierValue, tier_months, tier_values
from analytics.scores import nps_from_counts, share

__all__ = [
    "ADVISOR_SUMS",
    "AGE_BAND_LABELS",
    "FUNNEL_STAGES",
    "NO_ADVISOR",
    "PAYER_LABELS",
    "STORE_SUMS",
    "TIERS",
    "ZERO",
    "_ALIAS",
    "_CENTS",
    "_ONE_DECIMAL",
    "AdvisorLine",
    "BreakdownLine",
    "CareFunnel",
    "DrillFilters",
    "Filter",
    "FunnelLine",
    "KpiFilters",
    "Metric",
    "OrderBreakdown",
    "OrderMonth",
    "Retention",
    "RetentionLine",
    "StoreMonth",
    "StoreTotals",
    "SurveyGroup",
    "TierValue",
    "_advisor_columns",
    "_advisor_q",
    "_as_date",
    "_band_rank",
    "_breakdown_of",
    "_care_rows",
    "_group",
    "_local_midnight",
    "_money",
    "_monthly",
    "_months",
    "_order_dimensions",
    "_order_months_of",
    "_order_rows",
    "_orders",
    "_retention_cars",
    "_rollup",
    "_store_columns",
    "_store_totals",
    "_survey_rows",
    "_tier_months",
    "advisor_label",
    "advisor_lines",
    "by_store",
    "care_funnel",
    "care_stage",
    "change",
    "churn_bases",
    "drill_customer_ids",
    "drill_store_ids",
    "drilldown_customers",
    "kind_label",
    "nps_from_counts",
    "order_breakdown",
    "order_figures",
    "order_months",
    "per",
    "retention",
    "share",
    "store_months",
    "store_totals",
    "tier_months",
    "tier_values",
]
