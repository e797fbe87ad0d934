"""The store's month: churn, complaints, surveys, insurance and the club."""

import dataclasses
import datetime
from decimal import Decimal

from django.db.models import Q, Sum

from analytics.kpis._common import _ONE_DECIMAL, KpiFilters, _group, _monthly, _months, _tier_months, per
from analytics.kpis.orders import OrderMonth, _as_date
from analytics.models import (
    MonthlyStoreStats,
)
from analytics.scores import nps_from_counts, share
from customers.models import Customer

# --- The store's month: churn, complaints, surveys, insurance, club -------------------------------

STORE_SUMS = (
    "new_customers",
    "at_risk_customers",
    "lost_customers",
    "recovered_customers",
    "complaints",
    "csat_count",
    "csat_sum",
    "csat_satisfied",
    "nps_count",
    "nps_promoters",
    "nps_detractors",
    "lapsed_nps_count",
    "lapsed_nps_promoters",
    "lapsed_nps_detractors",
    "insurance_due",
    "insurance_renewed",
    "membership_joins",
)


@dataclasses.dataclass
class StoreMonth:
    month: datetime.date
    counts: dict[str, int]
    visits: int = 0  # the store's visits of the month (all models and tiers)
    # The churn rate's base: customers active or at risk at the month's end (tier snapshot), None without one.
    base: int | None = None

    def __getattr__(self, name: str) -> int:
        # Read the sums as attributes (month.lost_customers); only the rollup's columns.
        if name in STORE_SUMS:
            return self.counts.get(name, 0)
        raise AttributeError(name)

    @property
    def churn_rate(self) -> Decimal | None:
        """Lost in the month ÷ (customers active or at risk at the month's end + those lost in it)."""
        if self.base is None:
            return None
        return share(self.lost_customers, self.base + self.lost_customers)

    @property
    def complaint_rate(self) -> Decimal | None:
        """Complaints per 100 returning visits."""
        return share(self.complaints, self.visits)

    @property
    def csat(self) -> Decimal | None:
        """% of the CSAT answers that were 4 or 5."""
        return share(self.csat_satisfied, self.csat_count)

    @property
    def csat_average(self) -> Decimal | None:
        return per(self.csat_sum, self.csat_count, places=_ONE_DECIMAL)

    @property
    def nps(self) -> Decimal | None:
        """NPS of the returning customers only."""
        return nps_from_counts(promoters=self.nps_promoters, detractors=self.nps_detractors, answers=self.nps_count)

    @property
    def nps_all_count(self) -> int:
        return self.nps_count + self.lapsed_nps_count

    @property
    def nps_with_lapsed(self) -> Decimal | None:
        """NPS of the returning and the lapsed customers together (churn-adjusted)."""
        return nps_from_counts(
            promoters=self.nps_promoters + self.lapsed_nps_promoters,
            detractors=self.nps_detractors + self.lapsed_nps_detractors,
            answers=self.nps_all_count,
        )

    @property
    def insurance_renewal_rate(self) -> Decimal | None:
        return share(self.insurance_renewed, self.insurance_due)


def store_months(*, user, filters: KpiFilters, orders: list[OrderMonth] | None = None) -> list[StoreMonth]:
    """The store figures of each month of the period (one query over MonthlyStoreStats), with the
    month's visits from ``orders`` (``order_months``) for the complaint rate. Store-level figures:
    the model and tier filters do not apply."""
    rows = _group(
        _months(_monthly(MonthlyStoreStats, user=user, filters=filters), filters.start, filters.until),
        ["month"],
        {name: Sum(name, default=0) for name in STORE_SUMS},
    )
    by_month = {_as_date(row["month"]): row for row in rows}
    visits = {row.month: row.all_visits for row in orders or []}
    return [
        StoreMonth(
            month=month,
            counts={name: by_month.get(month, {}).get(name) or 0 for name in STORE_SUMS},
            visits=visits.get(month, 0),
        )
        for month in filters.months
    ]


def churn_bases(*, user, filters: KpiFilters, months: list[StoreMonth]) -> None:
    """Fill each month's churn-rate base: the customers active or at risk in that month's tier
    snapshot (one query over MonthlyTierStats)."""
    live_states = [Customer.ChurnState.ACTIVE, Customer.ChurnState.AT_RISK]
    counts = {
        _as_date(row["month"]): row["n"]
        for row in _group(
            _tier_months(user=user, filters=filters),
            ["month"],
            {"n": Sum("customers", filter=Q(churn_state__in=live_states), default=0)},
        )
    }
    for month in months:
        month.base = counts.get(month.month)


@dataclasses.dataclass
class StoreTotals(StoreMonth):
    """The period's sums, read as one long month."""


def store_totals(months: list[StoreMonth]) -> StoreTotals:
    counts = {name: sum(month.counts[name] for month in months) for name in STORE_SUMS}
    bases = [month.base for month in months if month.base is not None]
    totals = StoreTotals(
        month=months[0].month if months else None, counts=counts, visits=sum(month.visits for month in months)
    )
    # The period's churn rate: its lost over the mean monthly base (plus the lost), when every month has one.
    totals.base = round(sum(bases) / len(bases)) if bases and len(bases) == len(months) else None
    return totals
