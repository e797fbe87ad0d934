"""The managers' complaint numbers (issue 11, item 8): complaint rate, SLA compliance,
reopen rate, median time to resolve, goodwill cost and the month-on-month trend.

Definitions (the period is the dashboard's month, local midnights at both ends):

- **Complaint rate** = complaints *received* in the month / *customers with a visit*
  in the month (distinct customers with a repair order opened in it; DOMAIN.md:
  "complaints / customers in the period"). Broken down, each side is attributed
  the same way: by the case's (or the visit's) advisor (the repair order's
  advisor, else the customer's), technician (the repair order's), model (the
  case's car, the visit's car) and store. A category belongs to the case only:
  its rate is over all the month's customers with a visit.
- **Closed cases** are those closed in the month (``closed_at``; a case reopened
  since is open again and not counted). Of them: response on time (acknowledged
  and first contacted by their due times), resolution on time (closed by
  ``resolution_due``, which already holds the pauses), reopened at least once,
  the median hours from received to closed (wall-clock hours, in the database
  on both engines: the one or two middle rows of a window ranking), and the
  goodwill cost they settled.
- **Trend**: per month, cases received, closed and breached (a clock breached
  in the month, once per case and month).

Every read is scoped (``scope_for_user``) and takes a fixed number of queries. The customers
with a visit come from the nightly rollups (``MonthlyVisitorStats``: distinct customers of a
store-month, overall and per advisor, technician and model), not from the month's repair orders:
a group's month is hundreds of thousands of orders. The cases are read live (a store's month
holds a handful).
"""

import dataclasses
import datetime
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Window
from django.db.models.functions import Coalesce, Concat, RowNumber, TruncMonth
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from analytics.models import MonthlyVisitorStats
from analytics.selectors import AnalyticsFilters, _in_store, _local_midnight
from complaints.models import Complaint, ComplaintCategory
from crm.tenancy import scope_for_user

TREND_MONTHS = 12
ONE_DECIMAL = Decimal("0.1")


class Attribution:
    """What a complaint rate is broken down by."""

    CATEGORY = "category"
    ADVISOR = "advisor"
    TECHNICIAN = "technician"
    MODEL = "model"
    DEALERSHIP = "dealership"

    choices = [
        (CATEGORY, _("category")),
        (ADVISOR, _("advisor")),
        (TECHNICIAN, _("technician")),
        (MODEL, _("model")),
        (DEALERSHIP, _("dealership")),
    ]
    values = [code for code, _label in choices]


def percent(part: int, whole: int | None) -> Decimal | None:
    """part / whole in per cent, one decimal (half up); None without a whole."""
    if not whole:
        return None
    return (Decimal(part) * 100 / Decimal(whole)).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


@dataclasses.dataclass
class RateRow:
    key: object
    label: str
    complaints: int = 0
    customers: int | None = None  # customers with a visit; None where the breakdown has none (category)

    @property
    def rate(self) -> Decimal | None:
        return percent(self.complaints, self.customers)


@dataclasses.dataclass
class ComplaintRates:
    """The month's rate overall and its breakdown rows."""

    complaints: int
    customers: int
    rows: list[RateRow]

    @property
    def rate(self) -> Decimal | None:
        return percent(self.complaints, self.customers)


@dataclasses.dataclass
class ClosedCases:
    """The figures of the cases closed in the month."""

    closed: int = 0
    response_met: int = 0
    resolution_met: int = 0
    reopened: int = 0
    goodwill: Decimal = Decimal("0.00")
    median_hours: Decimal | None = None

    @property
    def response_rate(self) -> Decimal | None:
        return percent(self.response_met, self.closed)

    @property
    def resolution_rate(self) -> Decimal | None:
        return percent(self.resolution_met, self.closed)

    @property
    def reopen_rate(self) -> Decimal | None:
        return percent(self.reopened, self.closed)


@dataclasses.dataclass
class TrendRow:
    month: datetime.date
    received: int
    closed: int
    breached: int


# --- Scoped base querysets ------------------------------------------------------------------


def _bounds(filters: AnalyticsFilters) -> tuple[datetime.datetime, datetime.datetime]:
    return _local_midnight(filters.month), _local_midnight(filters.month_end)


def _cases(*, user, filters: AnalyticsFilters) -> QuerySet[Complaint]:
    return _in_store(scope_for_user(Complaint.objects.all(), user), filters)


def _received(*, user, filters: AnalyticsFilters) -> QuerySet[Complaint]:
    start, end = _bounds(filters)
    return _cases(user=user, filters=filters).filter(received_at__gte=start, received_at__lt=end)


def _visitors(*, user, filters: AnalyticsFilters, attribution: str) -> QuerySet[MonthlyVisitorStats]:
    """The month's customers with a visit (MonthlyVisitorStats) of one attribution, in the scope."""
    rows = MonthlyVisitorStats.objects.filter(month=filters.month, attribution=attribution)
    return _in_store(scope_for_user(rows, user), filters)


def closed_in_month(*, user, filters: AnalyticsFilters) -> QuerySet[Complaint]:
    start, end = _bounds(filters)
    return _cases(user=user, filters=filters).filter(
        status=Complaint.Status.CLOSED, closed_at__gte=start, closed_at__lt=end
    )


# --- Complaint rate ---------------------------------------------------------------------------


def customers_with_a_visit(*, user, filters: AnalyticsFilters) -> int:
    """Distinct customers with a repair order opened in the month (one query; a customer belongs to
    one store, so a group's count is the sum of its stores')."""
    rows = _visitors(user=user, filters=filters, attribution=MonthlyVisitorStats.Attribution.ALL)
    return rows.aggregate(n=Sum("customers", default=0))["n"]


@dataclasses.dataclass(frozen=True)
class _Side:
    """How one breakdown groups the cases and the visits (the rollup's rows of ``rolled``): the
    same annotation names on both sides, so that a row from either is labelled alike."""

    cases: dict
    visits: dict
    label: Callable[[dict], str]
    rolled: str = MonthlyVisitorStats.Attribution.ALL


def _advisor_label(row: dict) -> str:
    if row["dim_key"] is None:
        return str(_("No advisor"))
    # As User.__str__ shows a person: family name then given name, else the username.
    return f"{row['dim_last'] or ''}{row['dim_first'] or ''}".strip() or row["dim_user"]


def _advisor_columns(order: str, customer: str) -> dict:
    """The repair order's advisor, else the customer's (``order``/``customer``: paths to them)."""
    on_order = Q(**{f"{order}advisor__isnull": False})

    def pick(column: str):
        return Case(When(on_order, then=F(f"{order}advisor__{column}")), default=F(f"{customer}advisor__{column}"))

    return {
        "dim_key": Coalesce(F(f"{order}advisor_id"), F(f"{customer}advisor_id")),
        "dim_last": pick("last_name"),
        "dim_first": pick("first_name"),
        "dim_user": pick("username"),
    }


def _side(attribution: str) -> _Side:
    rolled = MonthlyVisitorStats.Attribution
    if attribution == Attribution.ADVISOR:
        # The rollup attributed each visit already (the order's advisor, else the customer's).
        return _Side(
            cases=_advisor_columns("repair_order__", "customer__"),
            visits={
                "dim_key": F("advisor_id"),
                "dim_last": F("advisor__last_name"),
                "dim_first": F("advisor__first_name"),
                "dim_user": F("advisor__username"),
            },
            label=_advisor_label,
            rolled=rolled.ADVISOR,
        )
    if attribution == Attribution.TECHNICIAN:
        return _Side(
            cases={"dim_key": F("repair_order__technician_id"), "dim_name": F("repair_order__technician__name")},
            visits={"dim_key": F("technician_id"), "dim_name": F("technician__name")},
            label=lambda row: row["dim_name"] if row["dim_key"] is not None else str(_("No technician on record")),
            rolled=rolled.TECHNICIAN,
        )
    if attribution == Attribution.MODEL:

        def model(path: str) -> dict:
            return {
                "dim_key": F(f"{path}model_id"),
                "dim_name": Concat(F(f"{path}model__brand"), Value(" "), F(f"{path}model__name")),
            }

        return _Side(
            cases=model("vehicle__"),
            visits=model(""),
            label=lambda row: row["dim_name"] if row["dim_key"] is not None else str(_("No car on record")),
            rolled=rolled.MODEL,
        )
    if attribution == Attribution.DEALERSHIP:
        return _Side(
            cases={"dim_key": F("dealership_id"), "dim_name": F("dealership__name")},
            visits={"dim_key": F("dealership_id"), "dim_name": F("dealership__name")},
            label=lambda row: row["dim_name"],
        )
    raise ValueError(f"Unknown attribution {attribution!r}")


def _sorted(rows: dict[object, RateRow]) -> list[RateRow]:
    """Most complaints first, then by label; the unattributed (None) last."""
    return sorted(rows.values(), key=lambda r: (r.key is None, -r.complaints, r.label, str(r.key)))


def complaint_rate_by(*, user, filters: AnalyticsFilters, attribution: str, customers: int) -> ComplaintRates:
    """The month's complaint rate broken down by ``attribution``; ``customers`` is the
    month's customers with a visit (``customers_with_a_visit``), the overall denominator.

    Category: one query over the categories (every category in use, with or without
    cases; a retired one only with cases), each counting its cases of the month in a
    subquery the (store, status, received) index answers, rather than joining every case
    of every store. The others: one GROUP BY over the cases and one over the visits
    (distinct customers per row); a row for every value on either."""
    cases = _received(user=user, filters=filters)
    if attribution == Attribution.CATEGORY:
        in_category = (
            cases.filter(category_id=OuterRef("pk"))
            .order_by()
            .values("category_id")
            .annotate(n=Count("pk"))
            .values("n")
        )
        counted = (
            ComplaintCategory.objects.annotate(n=Coalesce(Subquery(in_category), 0))
            .filter(Q(active=True) | Q(n__gt=0))
            .order_by("position", "pk")
        )
        rows = [RateRow(key=c.pk, label=c.label, complaints=c.n, customers=customers) for c in counted]
        return ComplaintRates(complaints=sum(r.complaints for r in rows), customers=customers, rows=rows)
    side = _side(attribution)
    result: dict[object, RateRow] = {}
    grouped_cases = cases.annotate(**side.cases).values(*side.cases).annotate(n=Count("pk")).order_by()
    for row in grouped_cases:
        result[row["dim_key"]] = RateRow(key=row["dim_key"], label=side.label(row), complaints=row["n"], customers=0)
    visits = _visitors(user=user, filters=filters, attribution=side.rolled)
    grouped_visits = visits.annotate(**side.visits).values(*side.visits).annotate(n=Sum("customers")).order_by()
    for row in grouped_visits:
        entry = result.setdefault(row["dim_key"], RateRow(key=row["dim_key"], label=side.label(row), customers=0))
        entry.customers = row["n"]
    rows = _sorted(result)
    return ComplaintRates(complaints=sum(r.complaints for r in rows), customers=customers, rows=rows)


def complaint_rates(*, user, filters: AnalyticsFilters, attributions: list[str]) -> tuple[int, dict]:
    """The month's customers with a visit, and its complaint rate by each of ``attributions``
    (the same figures ``complaint_rate_by`` gives one at a time), in three queries whatever the
    number of stores and attributions: the month's cases, each with what every attribution gives
    it (a store's month holds dozens), the categories (every one in use, a retired one only with
    cases), and the month's customers with a visit by attribution (MonthlyVisitorStats). The
    categories alone (an export) take two: the customers, and the categories counting their cases."""
    if attributions == [Attribution.CATEGORY]:
        customers = customers_with_a_visit(user=user, filters=filters)
        rates = complaint_rate_by(user=user, filters=filters, attribution=Attribution.CATEGORY, customers=customers)
        return customers, {Attribution.CATEGORY: rates}
    sides = {a: _side(a) for a in attributions if a != Attribution.CATEGORY}
    annotations = {f"{a}_{name}": value for a, side in sides.items() for name, value in side.cases.items()}
    cases = list(_received(user=user, filters=filters).annotate(**annotations).values("category_id", *annotations))
    wanted = {side.rolled for side in sides.values()} | {MonthlyVisitorStats.Attribution.ALL}
    visit_columns = {
        f"{a}_{name}": value for a, side in sides.items() for name, value in side.visits.items() if name != "dim_key"
    }
    visit_keys = {f"{a}_dim_key": side.visits["dim_key"] for a, side in sides.items()}
    visits = list(
        _in_store(scope_for_user(MonthlyVisitorStats.objects.filter(month=filters.month), user), filters)
        .filter(attribution__in=wanted)
        .annotate(**visit_keys, **visit_columns)
        .values("attribution", "customers", *visit_keys, *visit_columns)
    )
    customers = sum(v["customers"] for v in visits if v["attribution"] == MonthlyVisitorStats.Attribution.ALL)
    result: dict[str, ComplaintRates] = {}
    if Attribution.CATEGORY in attributions:
        counts: dict[int, int] = {}
        for case in cases:
            counts[case["category_id"]] = counts.get(case["category_id"], 0) + 1
        categories = ComplaintCategory.objects.filter(Q(active=True) | Q(pk__in=list(counts))).order_by(
            "position", "pk"
        )
        rows = [
            RateRow(key=c.pk, label=c.label, complaints=counts.get(c.pk, 0), customers=customers) for c in categories
        ]
        result[Attribution.CATEGORY] = ComplaintRates(
            complaints=sum(r.complaints for r in rows), customers=customers, rows=rows
        )
    for attribution, side in sides.items():
        lines: dict[object, RateRow] = {}

        def of(row: dict, a=attribution, s=side) -> dict:
            return {name: row.get(f"{a}_{name}") for name in (*s.cases, *s.visits)}

        for case in cases:
            row = of(case)
            line = lines.get(row["dim_key"])
            if line is None:
                line = lines[row["dim_key"]] = RateRow(key=row["dim_key"], label=side.label(row), customers=0)
            line.complaints += 1
        for visit in visits:
            if visit["attribution"] != side.rolled:
                continue
            row = of(visit)
            line = lines.get(row["dim_key"])
            if line is None:
                line = lines[row["dim_key"]] = RateRow(key=row["dim_key"], label=side.label(row), customers=0)
            line.customers += visit["customers"]
        ordered = _sorted(lines)
        result[attribution] = ComplaintRates(
            complaints=sum(r.complaints for r in ordered), customers=customers, rows=ordered
        )
    return customers, result


# --- Closed cases -------------------------------------------------------------------------------


def closed_cases(*, user, filters: AnalyticsFilters) -> ClosedCases:
    """The cases closed in the month: SLA compliance, reopens and goodwill in one
    aggregate query, the median time to resolve in one more."""
    closed = closed_in_month(user=user, filters=filters)
    figures = closed.aggregate(
        closed=Count("pk"),
        response_met=Count(
            "pk",
            filter=Q(acknowledged_at__lte=F("acknowledge_due"), first_contacted_at__lte=F("first_contact_due")),
        ),
        resolution_met=Count("pk", filter=Q(closed_at__lte=F("resolution_due"))),
        reopened=Count("pk", filter=Q(reopen_count__gt=0)),
        goodwill=Sum("goodwill_cost"),
    )
    return ClosedCases(
        closed=figures["closed"],
        response_met=figures["response_met"],
        resolution_met=figures["resolution_met"],
        reopened=figures["reopened"],
        # Quantized: SQLite sums decimals as floating point.
        goodwill=(figures["goodwill"] or Decimal(0)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
        median_hours=median_hours_to_resolve(closed),
    )


def median_hours_to_resolve(closed: QuerySet[Complaint]) -> Decimal | None:
    """The median of received → closed over ``closed``, in hours (one decimal), None
    without cases. In the database (SQLite has no PERCENTILE_CONT): the cases ranked by
    duration, the middle one or the two middle ones kept (at most two rows come back),
    averaged here."""
    ranked = (
        closed.annotate(
            took=ExpressionWrapper(F("closed_at") - F("received_at"), output_field=DurationField()),
        )
        .annotate(
            k=Window(RowNumber(), order_by=[F("took").asc(), F("pk").asc()]),
            n=Window(Count("pk")),
        )
        .filter(k__gte=(F("n") + 1) / 2, k__lte=(F("n") + 2) / 2)
        .values_list("took", flat=True)
    )
    middle = list(ranked)
    if not middle:
        return None
    seconds = sum(took.total_seconds() for took in middle) / len(middle)
    return (Decimal(seconds) / 3600).quantize(ONE_DECIMAL, rounding=ROUND_HALF_UP)


# --- Trend ------------------------------------------------------------------------------------------


def trend_months(filters: AnalyticsFilters) -> list[datetime.date]:
    """The ``TREND_MONTHS`` months up to the filter's month, oldest first."""
    return [filters.month - relativedelta(months=i) for i in range(TREND_MONTHS - 1, -1, -1)]


def _local_month(field: str) -> TruncMonth:
    return TruncMonth(field, tzinfo=timezone.get_default_timezone())


def _month_of(value) -> datetime.date | None:
    """The local month (first day) TruncMonth gave: an aware datetime, a naive one, or a date."""
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        value = timezone.localtime(value) if timezone.is_aware(value) else value
        return value.date().replace(day=1)
    return value.replace(day=1)


def complaint_trend(*, user, filters: AnalyticsFilters) -> list[TrendRow]:
    """Per month: cases received, closed and breached (response or resolution clock
    breached in the month, a case once per month). One query: the cases of the twelve
    months grouped by the local months of their four times (a few hundred groups at
    most), counted here: a case breached twice in one month counts once in it."""
    months = trend_months(filters)
    start = _local_midnight(months[0])
    cases = _cases(user=user, filters=filters).filter(
        Q(received_at__gte=start)
        | Q(closed_at__gte=start)
        | Q(response_breached_at__gte=start)
        | Q(resolution_breached_at__gte=start)
    )
    grouped = (
        cases.annotate(
            m_received=_local_month("received_at"),
            m_closed=Case(When(status=Complaint.Status.CLOSED, then=_local_month("closed_at")), default=None),
            m_response=_local_month("response_breached_at"),
            m_resolution=_local_month("resolution_breached_at"),
        )
        .values("m_received", "m_closed", "m_response", "m_resolution")
        .annotate(n=Count("pk"))
        .order_by()
    )
    counted = {month: {"received": 0, "closed": 0, "breached": 0} for month in months}
    for row in grouped:
        for figure, keys in (
            ("received", ["m_received"]),
            ("closed", ["m_closed"]),
            ("breached", ["m_response", "m_resolution"]),
        ):
            # A set: both clocks breached in one month is one case breached in it.
            for month in {_month_of(row[key]) for key in keys} - {None}:
                if month in counted:
                    counted[month][figure] += row["n"]
    return [TrendRow(month=month, **counted[month]) for month in months]
