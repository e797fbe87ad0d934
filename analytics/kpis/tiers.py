"""Customer value by tier."""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Subquery, Sum

from analytics.kpis._common import (
    _ONE_DECIMAL,
    TIERS,
    ZERO,
    KpiFilters,
    _group,
    _money,
    _monthly,
    _months,
    _tier_months,
    per,
)
from analytics.kpis.orders import _as_date
from analytics.models import (
    MonthlyOrderTotals,
    MonthlyTierStats,
)

# --- Customer value by tier -----------------------------------------------------------------------


@dataclasses.dataclass
class TierValue:
    tier: str
    customers: int
    visits: int
    revenue: Decimal

    @property
    def value_per_customer(self) -> Decimal | None:
        """Customer lifetime value as the page defines it: the tier's revenue over the period per customer."""
        return per(self.revenue, self.customers)

    @property
    def visits_per_customer(self) -> Decimal | None:
        return per(self.visits, self.customers, places=_ONE_DECIMAL)


def tier_values(*, user, filters: KpiFilters) -> list[TierValue]:
    """Revenue and visits of each value tier over the period (MonthlyOrderTotals by tier, one
    query) over the active customers of that tier as of the last nightly run (the newest month of
    MonthlyTierStats, one query). The tier filter applies; the model filter does not (a customer
    has no one model)."""
    orders = _group(
        _months(_monthly(MonthlyOrderTotals, user=user, filters=filters), filters.start, filters.until),
        ["tier"],
        {"visits": Sum("visits", default=0), "revenue": Sum("revenue", default=ZERO)},
    )
    tiers_now = _monthly(MonthlyTierStats, user=user, filters=filters)
    newest = tiers_now.order_by("-month").values("month")[:1]
    counts = {
        row["tier"]: row["n"]
        for row in _group(tiers_now.filter(month=Subquery(newest)), ["tier"], {"n": Sum("customers", default=0)})
    }
    sums = {row["tier"]: row for row in orders}
    tiers = [filters.tier] if filters.tier else list(TIERS)
    return [
        TierValue(
            tier=tier,
            customers=counts.get(tier, 0),
            visits=sums.get(tier, {}).get("visits") or 0,
            revenue=_money(sums.get(tier, {}).get("revenue")),
        )
        for tier in tiers
    ]


def tier_months(*, user, filters: KpiFilters) -> dict[datetime.date, dict[str, int]]:
    """Customers of each tier in each month's tier snapshot (one query over MonthlyTierStats)."""
    result = {month: dict.fromkeys(TIERS, 0) for month in filters.months}
    for row in _group(_tier_months(user=user, filters=filters), ["month", "tier"], {"n": Sum("customers", default=0)}):
        month = _as_date(row["month"])
        if month in result and row["tier"] in result[month]:
            result[month][row["tier"]] = row["n"]
    return result
