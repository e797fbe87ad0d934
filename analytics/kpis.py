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

import dataclasses
import datetime
from collections import defaultdict
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Subquery, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import (
    DETRACTOR_NPS_MAX,
    PROMOTER_NPS_MIN,
    MonthlyAdvisorStats,
    MonthlyAdvisorTotals,
    MonthlyCareStats,
    MonthlyCareTotals,
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyStoreStats,
    MonthlyTierStats,
    RetentionStats,
    Survey,
    SurveyResponse,
)
from analytics.rollups.figures import (
    AGE_BANDS,
    RETURNED_WITHIN_MONTHS,
    age_band,
    arrived,
    counted_orders,
    had_maintenance,
    renewals_of,
    touch_contacts,
)
from analytics.scores import nps_from_counts, share
from care.models import CareTask, Channel, Contact
from care.registry import spec_for
from complaints.models import Complaint
from crm.models import Dealership
from crm.sql import AddMonths
from crm.tenancy import scope_for_user
from customers.models import ChurnEvent, Customer, TierSnapshot
from loyalty.models import MembershipCard
from service.models import InsurancePolicy, RepairOrder
from vehicles.models import Vehicle

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


# --- Retention ------------------------------------------------------------------------------------


@dataclasses.dataclass
class RetentionLine:
    band: str
    label: str
    cars: int
    returned: int
    returned_2: int
    returned_3: int

    @property
    def rate(self) -> Decimal | None:
        return share(self.returned, self.cars)

    @property
    def rate_2(self) -> Decimal | None:
        return share(self.returned_2, self.cars)

    @property
    def rate_3(self) -> Decimal | None:
        return share(self.returned_3, self.cars)


@dataclasses.dataclass
class Retention:
    by_age: list[RetentionLine]
    by_maintenance: list[RetentionLine]
    as_of: datetime.date | None

    @staticmethod
    def total(lines: list[RetentionLine]) -> RetentionLine:
        return RetentionLine(
            band="",
            label=str(_("All")),
            cars=sum(line.cars for line in lines),
            returned=sum(line.returned for line in lines),
            returned_2=sum(line.returned_2 for line in lines),
            returned_3=sum(line.returned_3 for line in lines),
        )


# The rollups' vehicle age bands (analytics.rollups.figures.AGE_BANDS), in words.
AGE_BAND_LABELS = {
    "0-1": _("Up to 1 year"),
    "1-3": _("1–3 years"),
    "3-5": _("3–5 years"),
    "5-8": _("5–8 years"),
    "8+": _("Over 8 years"),
}


def _band_rank(dimension: str, band: str) -> tuple:
    if dimension == RetentionStats.Dimension.AGE:
        order = [code for code, _years in AGE_BANDS]
        return (order.index(band) if band in order else len(order), band)
    return (0, band)  # cohorts (purchase years) sort as text: 2023 < 2024


def retention(*, user, filters: KpiFilters) -> Retention:
    """Cars that came back, by vehicle age band and by purchase cohort for the first, second and
    third maintenance (首保回厂率). The store and model filters apply; the figures are as of the last
    nightly run, so the period and the tier do not. One query."""
    rows = _monthly(RetentionStats, user=user, filters=filters)
    if filters.model_id is not None:
        rows = rows.filter(model_id=filters.model_id)
    grouped = _group(
        rows,
        ["dimension", "band"],
        {
            "cars": Sum("cars", default=0),
            "returned": Sum("returned", default=0),
            "returned_2": Sum("returned_2", default=0),
            "returned_3": Sum("returned_3", default=0),
            "as_of": Max("as_of"),
        },
    )
    age_labels = AGE_BAND_LABELS
    lines: dict[str, list[RetentionLine]] = defaultdict(list)
    as_of = None
    for row in grouped:
        label = (
            age_labels.get(row["band"], row["band"])
            if row["dimension"] == RetentionStats.Dimension.AGE
            else row["band"]
        )
        lines[row["dimension"]].append(
            RetentionLine(
                band=row["band"],
                label=str(label),
                cars=row["cars"],
                returned=row["returned"],
                returned_2=row["returned_2"],
                returned_3=row["returned_3"],
            )
        )
        as_of = max(as_of, row["as_of"]) if as_of else row["as_of"]
    for dimension, found in lines.items():
        found.sort(key=lambda line, d=dimension: _band_rank(d, line.band))
    return Retention(
        by_age=lines[RetentionStats.Dimension.AGE],
        by_maintenance=lines[RetentionStats.Dimension.MAINTENANCE],
        as_of=as_of,
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


# --- The care funnel ------------------------------------------------------------------------------

FUNNEL_STAGES = ("generated", "contacted", "reached", "booked", "arrived")


@dataclasses.dataclass
class FunnelLine:
    key: object  # the kind, the advisor's id, or the store's
    label: str
    counts: dict[str, int]
    revenue: Decimal

    def rate(self, stage: str) -> Decimal | None:
        """A stage as % of the touches generated."""
        return share(self.counts[stage], self.counts["generated"])

    def step_rate(self, stage: str) -> Decimal | None:
        """A stage as % of the stage before it."""
        index = FUNNEL_STAGES.index(stage)
        return share(self.counts[stage], self.counts[FUNNEL_STAGES[index - 1]]) if index else None


@dataclasses.dataclass
class CareFunnel:
    by_kind: list[FunnelLine]
    # By advisor for a store; by store (``per_store``) for a group-level user without a store chosen.
    by_advisor: list[FunnelLine]
    total: FunnelLine
    per_store: bool = False


def _store_columns() -> list[str]:
    return ["dealership_id", "dealership__name"]


def care_funnel(*, user, filters: KpiFilters) -> CareFunnel:
    """Touches generated in the period → contacted → reached → booked → arrived, and the revenue of
    the visits they brought, by kind and by advisor (by store for a group-level user without a store
    chosen). One query grouped by (kind, advisor or store); the model and tier filters do not apply
    (the funnel has neither dimension)."""
    per_store = by_store(user=user, filters=filters)
    # By store: the stores' totals over their advisors (MonthlyCareTotals), a row per store and kind.
    source = (
        _store_totals(MonthlyCareTotals, user=user)
        if per_store
        else _monthly(MonthlyCareStats, user=user, filters=filters)
    )
    rows = _group(
        _months(source, filters.start, filters.until),
        ["kind", *(_store_columns() if per_store else _advisor_columns())],
        {**{stage: Sum(stage, default=0) for stage in FUNNEL_STAGES}, "revenue": Sum("revenue", default=ZERO)},
    )
    kinds: dict[str, FunnelLine] = {}
    people: dict[object, FunnelLine] = {}
    total = FunnelLine(key=None, label=str(_("All")), counts=dict.fromkeys(FUNNEL_STAGES, 0), revenue=ZERO)
    for row in rows:
        # A line (and its label) once per kind and person, not once per grouped row.
        kind = kinds.get(row["kind"])
        if kind is None:
            kind = kinds[row["kind"]] = FunnelLine(
                row["kind"], kind_label(row["kind"]), dict.fromkeys(FUNNEL_STAGES, 0), ZERO
            )
        key = row["dealership_id"] if per_store else row["advisor_id"]
        person = people.get(key)
        if person is None:
            label = row["dealership__name"] if per_store else advisor_label(row)
            person = people[key] = FunnelLine(key, label, dict.fromkeys(FUNNEL_STAGES, 0), ZERO)
        for line in (kind, person, total):
            for stage in FUNNEL_STAGES:
                line.counts[stage] += row[stage]
            line.revenue += row["revenue"]
    for line in [*kinds.values(), *people.values(), total]:
        line.revenue = _money(line.revenue)
    by_kind = sorted(kinds.values(), key=lambda line: (-line.counts["generated"], line.label))
    by_advisor = sorted(people.values(), key=lambda line: (line.key is None, line.label))
    return CareFunnel(by_kind=by_kind, by_advisor=by_advisor, total=total, per_store=per_store)


# --- Advisors -------------------------------------------------------------------------------------


@dataclasses.dataclass
class AdvisorLine:
    advisor_id: int | None
    label: str
    calls: int = 0
    reached: int = 0
    booked: int = 0
    csat_count: int = 0
    csat_sum: int = 0
    csat_satisfied: int = 0
    overdue: int = 0
    # The store's id when the line is a store's (its advisors together, ``AdvisorLines.per_store``).
    dealership_id: int | None = None
    # From their touches (MonthlyCareStats): booked touches, those that arrived, and the revenue.
    touches_booked: int = 0
    arrived: int = 0
    revenue: Decimal = ZERO

    @property
    def reached_rate(self) -> Decimal | None:
        """Calls that reached the customer, % of the calls made."""
        return share(self.reached, self.calls)

    @property
    def booked_rate(self) -> Decimal | None:
        """Calls ending in a booking, % of the calls that reached the customer."""
        return share(self.booked, self.reached)

    @property
    def arrived_rate(self) -> Decimal | None:
        """Booked touches whose customer came in, % of the booked touches."""
        return share(self.arrived, self.touches_booked)

    @property
    def csat_average(self) -> Decimal | None:
        return per(self.csat_sum, self.csat_count, places=_ONE_DECIMAL)

    @property
    def csat(self) -> Decimal | None:
        """% of their customers' CSAT answers that were 4 or 5 (as the overview's CSAT)."""
        return share(self.csat_satisfied, self.csat_count)


ADVISOR_SUMS = ("calls", "reached", "booked", "csat_count", "csat_sum", "csat_satisfied")


def advisor_lines(*, user, filters: KpiFilters, funnel: CareFunnel) -> list[AdvisorLine]:
    """A row per advisor over the period (per store when ``funnel.per_store``): calls made, reached,
    booked (MonthlyAdvisorStats, one query), their customers' CSAT, the touches overdue at the end of
    the period's last rolled-up day, and from ``funnel`` (``care_funnel``) the arrivals and revenue of
    their touches. The model and tier filters do not apply."""
    per_store = funnel.per_store
    # By store: the stores' totals over their advisors (MonthlyAdvisorTotals), a row per store-month.
    source = (
        _store_totals(MonthlyAdvisorTotals, user=user)
        if per_store
        else _monthly(MonthlyAdvisorStats, user=user, filters=filters)
    )
    rows = _months(source, filters.start, filters.until)
    # The overdue count is a snapshot, not a sum: each month's row holds that of the month's last
    # rolled-up day, and the period's is its last month's.
    last_month = rows.order_by("-month").values("month")[:1]
    grouped = _group(
        rows,
        _store_columns() if per_store else _advisor_columns(),
        {
            **{key: Sum(key, default=0) for key in ADVISOR_SUMS},
            "overdue": Sum("overdue", filter=Q(month=Subquery(last_month)), default=0),
        },
    )
    lines: dict[object, AdvisorLine] = {}
    for row in grouped:
        figures = {key: row[key] for key in (*ADVISOR_SUMS, "overdue")}
        if per_store:
            key = row["dealership_id"]
            lines[key] = AdvisorLine(advisor_id=None, label=row["dealership__name"], dealership_id=key, **figures)
        else:
            key = row["advisor_id"]
            lines[key] = AdvisorLine(advisor_id=key, label=advisor_label(row), **figures)
    for touch in funnel.by_advisor:
        line = lines.get(touch.key)
        if line is None:
            line = AdvisorLine(
                advisor_id=None if per_store else touch.key,
                label=touch.label,
                dealership_id=touch.key if per_store else None,
            )
            lines[touch.key] = line
        line.touches_booked = touch.counts["booked"]
        line.arrived = touch.counts["arrived"]
        line.revenue = touch.revenue
    if per_store:
        return sorted(lines.values(), key=lambda line: line.label)
    return sorted(lines.values(), key=lambda line: (line.advisor_id is None, line.label))


# --- The customers behind a number (drill-down) ---------------------------------------------------
# The one live read of these pages: the customers behind a figure, from the source rows the
# rollups count, filtered on indexed columns (repair orders by store and opening time, churn
# events by day, survey responses by store and answer time…) and paginated by the view.


class Metric:
    VISITS = "visits"
    NEW = "new"
    AT_RISK = "at_risk"
    LOST = "lost"
    RECOVERED = "recovered"
    COMPLAINTS = "complaints"
    CSAT = "csat"
    NPS = "nps"
    PROMOTERS = "promoters"
    PASSIVES = "passives"
    DETRACTORS = "detractors"
    INSURANCE_DUE = "insurance_due"
    INSURANCE_RENEWED = "insurance_renewed"
    JOINS = "joins"
    CARE = "care"
    CALLS = "calls"
    OVERDUE = "overdue"
    TIER = "tier"
    SNAPSHOT = "snapshot"
    CARS = "cars"

    choices = [
        (VISITS, _("Customers with returning visits")),
        (NEW, _("New customers")),
        (AT_RISK, _("Customers who turned at risk")),
        (LOST, _("Customers lost")),
        (RECOVERED, _("Customers recovered")),
        (COMPLAINTS, _("Customers who complained")),
        (CSAT, _("Customers who gave a CSAT answer")),
        (NPS, _("Customers who gave an NPS answer")),
        (PROMOTERS, _("Promoters (NPS 9–10)")),
        (PASSIVES, _("Passives (NPS 7–8)")),
        (DETRACTORS, _("Detractors (NPS 0–6)")),
        (INSURANCE_DUE, _("Customers whose policy was ending")),
        (INSURANCE_RENEWED, _("Customers who renewed their policy here")),
        (JOINS, _("Customers who started a club card")),
        (CARE, _("Customers of the care touches")),
        (CALLS, _("Customers called")),
        (OVERDUE, _("Customers with touches overdue now")),
        (TIER, _("Active customers of the tier")),
        (SNAPSHOT, _("Customers of the tier in the month's snapshot")),
        (CARS, _("Owners of the cars")),
    ]
    # The metrics whose source rows carry a car model and the customer's tier.
    WITH_DIMENSIONS = frozenset({VISITS, CARS, TIER, SNAPSHOT})


class SurveyGroup:
    RETURNING = "returning"
    LAPSED = "lapsed"
    ALL = "all"

    choices = [
        (RETURNING, _("returning customers")),
        (LAPSED, _("lapsed customers")),
        (ALL, _("returning and lapsed customers")),
    ]


# An advisor id, or this for the touches and calls of nobody in particular.
NO_ADVISOR = "none"


@dataclasses.dataclass(frozen=True)
class DrillFilters:
    metric: str
    period: KpiFilters
    kind: str | None = None
    payer: str | None = None
    advisor: int | str | None = None  # a user id, or NO_ADVISOR
    stage: str | None = None
    group: str | None = None
    dimension: str | None = None
    band: str | None = None
    returned: int | None = None


def _local_midnight(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def drill_store_ids(*, user, filters: KpiFilters) -> list[int]:
    """The stores to read, as literal ids, so that the source tables' (store, time) indexes serve
    the read for a group too. A store's user reads their store (no query); a group-level user the
    chosen store or every store in their scope (one query)."""
    if not user.is_group_level:
        return [user.dealership_id] if user.dealership_id else []
    stores = scope_for_user(Dealership.objects.all(), user)
    if filters.dealership_id is not None:
        stores = stores.filter(pk=filters.dealership_id)
    return list(stores.values_list("pk", flat=True))


def _advisor_q(field: str, advisor) -> Q:
    if advisor is None:
        return Q()
    if advisor == NO_ADVISOR:
        return Q(**{f"{field}__isnull": True})
    return Q(**{field: advisor})


def _survey_rows(drill: DrillFilters, stores: list[int], start, until) -> QuerySet:
    rows = SurveyResponse.objects.filter(dealership_id__in=stores, answered_at__gte=start, answered_at__lt=until)
    # NPS: the returning customers answer the post-service survey, the lapsed ones the lapsed
    # survey. CSAT counts every answer.
    group = SurveyGroup.ALL if drill.metric == Metric.CSAT else drill.group or SurveyGroup.RETURNING
    if group == SurveyGroup.RETURNING:
        rows = rows.filter(kind=Survey.Kind.POST_SERVICE)
    elif group == SurveyGroup.LAPSED:
        rows = rows.filter(kind=Survey.Kind.LAPSED)
    rows = rows.filter(_advisor_q("advisor_id", drill.advisor))
    answer = {
        Metric.CSAT: Q(csat__isnull=False),
        Metric.NPS: Q(nps__isnull=False),
        Metric.PROMOTERS: Q(nps__gte=PROMOTER_NPS_MIN),
        Metric.PASSIVES: Q(nps__gt=DETRACTOR_NPS_MAX, nps__lt=PROMOTER_NPS_MIN),
        Metric.DETRACTORS: Q(nps__lte=DETRACTOR_NPS_MAX),
    }[drill.metric]
    return rows.filter(answer)


def _care_rows(drill: DrillFilters, stores: list[int]) -> QuerySet:
    period = drill.period
    rows = CareTask.objects.filter(dealership_id__in=stores, created_on__gte=period.start, created_on__lt=period.until)
    if drill.kind:
        rows = rows.filter(kind=drill.kind)
    rows = rows.filter(_advisor_q("assigned_to_id", drill.advisor))
    return rows.filter(care_stage(drill.stage or "generated"))


def care_stage(stage: str) -> Q:
    """The touches that reached a stage of the funnel, as analytics.rollups counts them."""
    if stage == "generated":
        return Q()
    if stage == "contacted":
        return Q(touch_contacts())
    if stage == "reached":
        return Q(touch_contacts(reached=True))
    if stage == "booked":
        return Q(touch_contacts(appointment__isnull=False)) | Q(outcome=CareTask.Outcome.BOOKED)
    if stage == "arrived":
        return arrived()
    raise ValueError(f"Unknown stage {stage!r}")


def drill_customer_ids(*, user, drill: DrillFilters, today: datetime.date) -> QuerySet:
    """The ids of the customers behind ``drill`` (a subquery: ``customer_id`` values)."""
    period = drill.period
    stores = drill_store_ids(user=user, filters=period)
    start, until = _local_midnight(period.start), _local_midnight(period.until)
    metric = drill.metric
    if metric == Metric.VISITS:
        orders = counted_orders().filter(dealership_id__in=stores, opened_at__gte=start, opened_at__lt=until)
        if drill.kind:
            orders = orders.filter(kind=drill.kind)
        if drill.payer:
            orders = orders.filter(payer=drill.payer)
        if period.model_id is not None:
            orders = orders.filter(vehicle__model_id=period.model_id)
        if period.tier:
            orders = orders.filter(customer__value_tier=period.tier)
        return orders.values("customer_id")
    if metric in (Metric.AT_RISK, Metric.LOST, Metric.RECOVERED):
        events = ChurnEvent.objects.filter(
            customer__dealership_id__in=stores, day__gte=period.start, day__lt=period.until
        )
        move = {
            Metric.AT_RISK: Q(to_state=Customer.ChurnState.AT_RISK),
            Metric.LOST: Q(to_state=Customer.ChurnState.LOST),
            Metric.RECOVERED: Q(recovered=True),
        }[metric]
        return events.filter(move).values("customer_id")
    if metric == Metric.NEW:
        customers = Customer.objects.filter(dealership_id__in=stores, created_at__gte=start, created_at__lt=until)
        return customers.values("pk")
    if metric == Metric.COMPLAINTS:
        cases = Complaint.objects.filter(dealership_id__in=stores, received_at__gte=start, received_at__lt=until)
        return cases.values("customer_id")
    if metric in (Metric.CSAT, Metric.NPS, Metric.PROMOTERS, Metric.PASSIVES, Metric.DETRACTORS):
        return _survey_rows(drill, stores, start, until).values("customer_id")
    if metric in (Metric.INSURANCE_DUE, Metric.INSURANCE_RENEWED):
        # The policies sold here ending in the period; renewed: another policy of the car and kind
        # started around the end (the rollups' renewal window).
        policies = InsurancePolicy.objects.filter(
            dealership_id__in=stores, ends_on__gte=period.start, ends_on__lt=period.until
        )
        if metric == Metric.INSURANCE_RENEWED:
            policies = policies.filter(Exists(renewals_of()))
        return policies.values("customer_id")
    if metric == Metric.JOINS:
        # A join: a card that replaces no earlier card (not an upgrade).
        cards = MembershipCard.objects.filter(
            dealership_id__in=stores, valid_from__gte=period.start, valid_from__lt=period.until, previous__isnull=True
        )
        return cards.values("customer_id")
    if metric == Metric.CARE:
        return _care_rows(drill, stores).values("customer_id")
    if metric == Metric.CALLS:
        calls = Contact.objects.filter(
            dealership_id__in=stores,
            created_at__gte=start,
            created_at__lt=until,
            channel=Contact.Channel.CALL,
            advisor__isnull=False,
        )
        return calls.filter(_advisor_q("advisor_id", drill.advisor)).values("customer_id")
    if metric == Metric.OVERDUE:
        # Live: the open call touches on the plan and due by yesterday, as last night's rollup counted them.
        day = today - datetime.timedelta(days=1)
        late = CareTask.objects.filter(
            Q(planned_for__isnull=True) | Q(planned_for__lte=day),
            dealership_id__in=stores,
            status=CareTask.Status.OPEN,
            channel=Channel.CALL,
            assigned_to__isnull=False,
            due_date__lte=day,
        )
        return late.filter(_advisor_q("assigned_to_id", drill.advisor)).values("customer_id")
    if metric == Metric.TIER:
        customers = Customer.objects.filter(dealership_id__in=stores, status=Customer.Status.ACTIVE)
        return customers.filter(value_tier=period.tier).values("pk") if period.tier else customers.values("pk")
    if metric == Metric.SNAPSHOT:
        snapshots = TierSnapshot.objects.filter(
            dealership_id__in=stores, month__gte=period.start, month__lt=period.until
        )
        return (snapshots.filter(tier=period.tier) if period.tier else snapshots).values("customer_id")
    if metric == Metric.CARS:
        return _retention_cars(drill, stores, today).values("customer_id")
    raise ValueError(f"Unknown metric {metric!r}")


def _retention_cars(drill: DrillFilters, stores: list[int], today: datetime.date) -> QuerySet:
    """The cars of a retention band, live as of today, by the rollups' rules: the age dimension
    counts cars in use by age band (returned: a maintenance visit in the last 12 months); the
    maintenance one the cars sold here by purchase year whose first maintenance is due
    (returned N: came back for the N-th maintenance)."""
    if drill.dimension == RetentionStats.Dimension.MAINTENANCE:
        cars = Vehicle.objects.filter(customer__dealership_id__in=stores, sold_here=True)
        cars = cars.annotate(first_due=AddMonths(F("purchase_date"), F("model__first_maintenance_months")))
        cars = cars.filter(first_due__lte=today)
        if drill.band and drill.band.isdigit():
            cars = cars.filter(purchase_date__year=int(drill.band))
        if drill.returned in (1, 2):
            cars = cars.filter(had_maintenance(drill.returned))
        elif drill.returned:
            cars = cars.none()  # the cars keep no count of a third maintenance yet
    else:
        cars = Vehicle.objects.filter(customer__dealership_id__in=stores, status=Vehicle.Status.ACTIVE)
        if drill.band:
            cars = cars.alias(band=age_band(today)).filter(band=drill.band)
        if drill.returned:
            since = today - relativedelta(months=RETURNED_WITHIN_MONTHS)
            cars = cars.filter(
                Q(last_maintenance_date__gt=since)
                | Q(last_maintenance_date__isnull=True, first_maintenance_date__gt=since)
            )
    if drill.period.model_id is not None:
        cars = cars.filter(model_id=drill.period.model_id)
    return cars


def drilldown_customers(*, user, drill: DrillFilters, today: datetime.date) -> QuerySet[Customer]:
    """The customers behind a figure, in the user's scope, by name (the view paginates: a count and
    a page, whatever the size).

    The visits of a group's every store are millions of orders: there, each customer (by name, as
    the page lists them) is looked up in its own orders (``EXISTS`` on the (customer, opened_at)
    index), so a page and a capped count read a few thousand index entries instead of the period's
    orders of every store. A store's period is read whole by (store, opened_at)."""
    ids = drill_customer_ids(user=user, drill=drill, today=today)
    if drill.metric == Metric.VISITS and by_store(user=user, filters=drill.period):
        customers = Customer.objects.filter(Exists(ids.filter(customer_id=OuterRef("pk"))))
    else:
        customers = Customer.objects.filter(pk__in=ids)
    return scope_for_user(customers, user).select_related("advisor", "dealership").order_by("name", "pk")
