"""Filters and the shared helpers of the KPI pages: rollup reads, grouping, money and labels."""

import dataclasses
import datetime
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from analytics.models import (
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyTierStats,
)
from analytics.scores import share
from care.registry import spec_for
from crm.tenancy import scope_for_user
from customers.models import Customer
from service.models import RepairOrder

TIERS = tuple(Customer.ValueTier.values)
ZERO = Decimal("0.00")
_CENTS = Decimal("0.01")
_ONE_DECIMAL = Decimal("0.1")

# The payer groups of the breakdown, in this order (RepairOrder.Payer values).
PAYER_LABELS = {
    RepairOrder.Payer.CUSTOMER: _("Paid"),
    RepairOrder.Payer.MANUFACTURER: _("Warranty"),
    RepairOrder.Payer.INSURER: _("Insurance"),
    RepairOrder.Payer.INTERNAL: _("Internal"),
}


class Filter:
    """The names of the filters, for saying which apply to a table."""

    STORE = "store"
    PERIOD = "period"
    MODEL = "model"
    TIER = "tier"


@dataclasses.dataclass(frozen=True)
class KpiFilters:
    start: datetime.date  # the first month's first day
    end: datetime.date  # the last month's first day (included)
    dealership_id: int | None = None
    model_id: int | None = None
    tier: str | None = None

    @property
    def until(self) -> datetime.date:
        """The first day after the period (exclusive end)."""
        return self.end + relativedelta(months=1)

    @property
    def months(self) -> list[datetime.date]:
        months, month = [], self.start
        while month <= self.end:
            months.append(month)
            month += relativedelta(months=1)
        return months

    @property
    def last_day(self) -> datetime.date:
        return self.until - datetime.timedelta(days=1)


# --- Helpers --------------------------------------------------------------------------------------


def _rollup(model, *, user, filters: KpiFilters) -> QuerySet:
    """A rollup's rows in the user's scope and the chosen store (every rollup has ``dealership``)."""
    rows = scope_for_user(model.objects.all(), user)
    if filters.dealership_id is not None:
        rows = rows.filter(dealership_id=filters.dealership_id)
    return rows


def by_store(*, user, filters: KpiFilters) -> bool:
    """A group-level user without a store chosen: the figures by advisor are shown by store."""
    return user.is_group_level and filters.dealership_id is None


def _monthly(model, *, user, filters: KpiFilters) -> QuerySet:
    """A monthly rollup's rows of the scope: the chosen store's, a store user's own, or, for a
    group-level user without a store chosen, the group's rows (no dealership) where the table
    keeps them and every store's where it does not (the care funnel and the advisors)."""
    rows = _rollup(model, user=user, filters=filters)
    if not by_store(user=user, filters=filters):
        return rows
    has_group_rows = model._meta.get_field("dealership").null
    return rows.filter(dealership__isnull=has_group_rows)


_ALIAS = "agg_"


def _group(rows: QuerySet, keys: list[str], aggregates: dict) -> list[dict]:
    """One GROUP BY query: ``keys`` with ``aggregates``. The aliases are prefixed in SQL (an
    annotation may not take a column's name, and ours are the columns they sum) and handed back
    under their own names."""
    grouped = rows.values(*keys).annotate(**{_ALIAS + name: agg for name, agg in aggregates.items()}).order_by()
    return [{key.removeprefix(_ALIAS): value for key, value in row.items()} for row in grouped]


def _store_totals(model, *, user) -> QuerySet:
    """The stores' rows of a table of store totals, for a group-level user's views by store."""
    return scope_for_user(model.objects.filter(dealership__isnull=False), user)


def _months(rows: QuerySet, start: datetime.date, until: datetime.date) -> QuerySet:
    return rows.filter(month__gte=start, month__lt=until)


def _tier_months(*, user, filters: KpiFilters) -> QuerySet[MonthlyTierStats]:
    """The period's months of MonthlyTierStats (the tier snapshots counted) in the scope."""
    return _months(_monthly(MonthlyTierStats, user=user, filters=filters), filters.start, filters.until)


def _orders(*, user, filters: KpiFilters) -> QuerySet:
    """The monthly orders of the scope: by model only when the model filter asks for it (a
    store-month holds a few dozen rows over all models, a few hundred by model)."""
    model = MonthlyOrderStats if filters.model_id is not None else MonthlyOrderTotals
    return _monthly(model, user=user, filters=filters)


def _order_dimensions(filters: KpiFilters) -> Q:
    """The model and tier filters (MonthlyOrderStats holds both, MonthlyOrderTotals the tier)."""
    q = Q()
    if filters.model_id is not None:
        q &= Q(model_id=filters.model_id)
    if filters.tier:
        q &= Q(tier=filters.tier)
    return q


def _money(value) -> Decimal:
    return (value or ZERO).quantize(_CENTS, rounding=ROUND_HALF_UP)


def per(amount: Decimal | int, count: int, *, places: Decimal = _CENTS) -> Decimal | None:
    """An average (``amount`` per one of ``count``); None when nothing was counted."""
    if not count:
        return None
    return (Decimal(amount) / count).quantize(places, rounding=ROUND_HALF_UP)


def change(now: int | Decimal, before: int | Decimal) -> Decimal | None:
    """The change from ``before`` to ``now`` in % of ``before`` (the same-month-last-year growth)."""
    return share(now - before, before)


def advisor_label(row: dict) -> str:
    """As User.__str__ shows an advisor, from the grouped ``_advisor_columns``."""
    if row["advisor_id"] is None:
        return str(_("No advisor"))
    name = f"{row['advisor__last_name'] or ''}{row['advisor__first_name'] or ''}".strip()
    return name or row["advisor__username"]


def kind_label(kind: str) -> str:
    """A care kind's label from the registry; a kind no longer registered shows its code."""
    spec = spec_for(kind)
    return str(spec.label) if spec else kind


def _advisor_columns() -> list[str]:
    return ["advisor_id", "advisor__last_name", "advisor__first_name", "advisor__username"]
