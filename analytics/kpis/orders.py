"""Visits and revenue by month, and their breakdown by order kind and payer."""

import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Sum

from analytics.kpis._common import (
    PAYER_LABELS,
    ZERO,
    KpiFilters,
    _group,
    _money,
    _months,
    _order_dimensions,
    _orders,
    change,
    per,
)
from analytics.scores import share
from service.models import RepairOrder

# --- Visits and revenue by month ------------------------------------------------------------------


@dataclasses.dataclass
class OrderMonth:
    month: datetime.date
    visits: int
    revenue: Decimal
    visits_last_year: int
    revenue_last_year: Decimal
    # The store's visits whatever the model and tier filters: the base of the store-level rates.
    all_visits: int

    @property
    def visits_change(self) -> Decimal | None:
        return change(self.visits, self.visits_last_year)

    @property
    def revenue_change(self) -> Decimal | None:
        return change(self.revenue, self.revenue_last_year)


def _order_rows(*, user, filters: KpiFilters, since: datetime.date) -> list[dict]:
    """The orders' months from ``since`` to the period's end by (month, kind, payer): the sums with
    the model and tier filters applied, and ``all_visits`` without them. One query."""
    dims = _order_dimensions(filters) or None  # an empty Q is no filter at all
    return _group(
        _months(_orders(user=user, filters=filters), since, filters.until),
        ["month", "kind", "payer"],
        {
            "visits": Sum("visits", filter=dims, default=0),
            "revenue": Sum("revenue", filter=dims, default=ZERO),
            "labor": Sum("labor", filter=dims, default=ZERO),
            "parts": Sum("parts", filter=dims, default=ZERO),
            "all_visits": Sum("visits", default=0),
        },
    )


def _order_months_of(rows: list[dict], filters: KpiFilters) -> list[OrderMonth]:
    by_month: dict[datetime.date, list] = defaultdict(lambda: [0, ZERO, 0])
    for row in rows:
        month = by_month[_as_date(row["month"])]
        month[0] += row["visits"]
        month[1] += row["revenue"]
        month[2] += row["all_visits"]
    empty = [0, ZERO, 0]
    result = []
    for month in filters.months:
        now, before = by_month.get(month, empty), by_month.get(month - relativedelta(years=1), empty)
        result.append(
            OrderMonth(
                month=month,
                visits=now[0],
                revenue=_money(now[1]),
                visits_last_year=before[0],
                revenue_last_year=_money(before[1]),
                all_visits=now[2],
            )
        )
    return result


def order_months(*, user, filters: KpiFilters) -> list[OrderMonth]:
    """Returning visits (进厂台次) and revenue (产值) of each month of the period beside the same
    month a year before; model and tier filters apply. One query over the period and the year before it."""
    rows = _order_rows(user=user, filters=filters, since=filters.start - relativedelta(years=1))
    return _order_months_of(rows, filters)


def order_figures(*, user, filters: KpiFilters) -> tuple[list[OrderMonth], "OrderBreakdown"]:
    """``order_months`` and ``order_breakdown`` from one query (the overview shows both)."""
    rows = _order_rows(user=user, filters=filters, since=filters.start - relativedelta(years=1))
    return _order_months_of(rows, filters), _breakdown_of(rows, filters)


def _as_date(value) -> datetime.date:
    # TruncMonth of a DateField is a date; some backends hand back a datetime.
    return value.date() if isinstance(value, datetime.datetime) else value


# --- Breakdown by order kind and payer ------------------------------------------------------------


@dataclasses.dataclass
class BreakdownLine:
    key: str
    label: str
    visits: int
    revenue: Decimal
    labor: Decimal
    parts: Decimal
    share_of_visits: Decimal | None = None

    @property
    def revenue_per_visit(self) -> Decimal | None:
        return per(self.revenue, self.visits)


@dataclasses.dataclass
class OrderBreakdown:
    by_kind: list[BreakdownLine]
    by_payer: list[BreakdownLine]
    visits: int
    revenue: Decimal


def order_breakdown(*, user, filters: KpiFilters) -> OrderBreakdown:
    """The period's visits and revenue by order kind and by payer (paid, warranty, insurance,
    internal); model and tier filters apply. One query grouped by (month, kind, payer)."""
    return _breakdown_of(_order_rows(user=user, filters=filters, since=filters.start), filters)


def _breakdown_of(rows: list[dict], filters: KpiFilters) -> OrderBreakdown:
    """The period's rows (the year before, if given, is left out) by kind and by payer."""
    kinds: dict[str, list] = defaultdict(lambda: [0, ZERO, ZERO, ZERO])
    payers: dict[str, list] = defaultdict(lambda: [0, ZERO, ZERO, ZERO])
    for row in rows:
        if _as_date(row["month"]) < filters.start:
            continue
        for bucket in (kinds[row["kind"]], payers[row["payer"]]):
            bucket[0] += row["visits"]
            bucket[1] += row["revenue"]
            bucket[2] += row["labor"]
            bucket[3] += row["parts"]
    # A kind or payer with nothing counted under the filters is no line of the breakdown.
    kinds = {key: bucket for key, bucket in kinds.items() if bucket[0] or bucket[1]}
    payers = {key: bucket for key, bucket in payers.items() if bucket[0] or bucket[1]}
    visits = sum(bucket[0] for bucket in kinds.values())
    revenue = _money(sum((bucket[1] for bucket in kinds.values()), ZERO))

    def lines(buckets: dict, labels: dict) -> list[BreakdownLine]:
        return [
            BreakdownLine(
                key=key,
                label=str(label),
                visits=buckets[key][0],
                revenue=_money(buckets[key][1]),
                labor=_money(buckets[key][2]),
                parts=_money(buckets[key][3]),
                share_of_visits=share(buckets[key][0], visits),
            )
            for key, label in labels.items()
            if key in buckets
        ]

    return OrderBreakdown(
        by_kind=lines(kinds, dict(RepairOrder.Kind.choices)),
        by_payer=lines(payers, PAYER_LABELS),
        visits=visits,
        revenue=revenue,
    )
