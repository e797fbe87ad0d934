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

Every read is scoped (``scope_for_user``) and takes a fixed number of queries.
"""

import dataclasses
import datetime
import itertools
from collections.abc import Callable
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta
from django.db.models import (
    Case,
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.expressions import Window
from django.db.models.functions import Coalesce, Concat, RowNumber
from django.utils.translation import gettext_lazy as _

from analytics.selectors import AnalyticsFilters, _in_store, _local_midnight
from complaints.models import Complaint, ComplaintCategory
from crm.tenancy import scope_for_user
from service.models import RepairOrder

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


def _visits(*, user, filters: AnalyticsFilters) -> QuerySet[RepairOrder]:
    start, end = _bounds(filters)
    orders = RepairOrder.objects.filter(opened_at__gte=start, opened_at__lt=end)
    return _in_store(scope_for_user(orders, user), filters)


def closed_in_month(*, user, filters: AnalyticsFilters) -> QuerySet[Complaint]:
    start, end = _bounds(filters)
    return _cases(user=user, filters=filters).filter(
        status=Complaint.Status.CLOSED, closed_at__gte=start, closed_at__lt=end
    )


# --- Complaint rate ---------------------------------------------------------------------------


def customers_with_a_visit(*, user, filters: AnalyticsFilters) -> int:
    """Distinct customers with a repair order opened in the month (one query)."""
    return _visits(user=user, filters=filters).aggregate(n=Count("customer", distinct=True))["n"]


@dataclasses.dataclass(frozen=True)
class _Side:
    """How one breakdown groups the cases and the visits: the same annotation
    names on both sides, so that a row from either is labelled alike."""

    cases: dict
    visits: dict
    label: Callable[[dict], str]


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
    if attribution == Attribution.ADVISOR:
        return _Side(
            cases=_advisor_columns("repair_order__", "customer__"),
            visits=_advisor_columns("", "customer__"),
            label=_advisor_label,
        )
    if attribution == Attribution.TECHNICIAN:
        return _Side(
            cases={"dim_key": F("repair_order__technician_id"), "dim_name": F("repair_order__technician__name")},
            visits={"dim_key": F("technician_id"), "dim_name": F("technician__name")},
            label=lambda row: row["dim_name"] if row["dim_key"] is not None else str(_("No technician on record")),
        )
    if attribution == Attribution.MODEL:

        def model(path: str) -> dict:
            return {
                "dim_key": F(f"{path}model_id"),
                "dim_name": Concat(F(f"{path}model__brand"), Value(" "), F(f"{path}model__name")),
            }

        return _Side(
            cases=model("vehicle__"),
            visits=model("vehicle__"),
            label=lambda row: row["dim_name"] if row["dim_key"] is not None else str(_("No car on record")),
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
    cases; a retired one only with cases). The others: one GROUP BY over the cases and
    one over the visits (distinct customers per row); a row for every value on either."""
    cases = _received(user=user, filters=filters)
    if attribution == Attribution.CATEGORY:
        counted = (
            ComplaintCategory.objects.annotate(n=Count("complaints", filter=Q(complaints__in=cases.values("pk"))))
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
    visits = _visits(user=user, filters=filters)
    grouped_visits = (
        visits.annotate(**side.visits).values(*side.visits).annotate(n=Count("customer", distinct=True)).order_by()
    )
    for row in grouped_visits:
        entry = result.setdefault(row["dim_key"], RateRow(key=row["dim_key"], label=side.label(row), customers=0))
        entry.customers = row["n"]
    rows = _sorted(result)
    return ComplaintRates(complaints=sum(r.complaints for r in rows), customers=customers, rows=rows)


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


def complaint_trend(*, user, filters: AnalyticsFilters) -> list[TrendRow]:
    """Per month: cases received, closed and breached (response or resolution clock
    breached in the month, a case once per month). One query of conditional counts."""
    months = trend_months(filters)
    edges = [_local_midnight(m) for m in months] + [_local_midnight(filters.month_end)]
    start = edges[0]
    cases = _cases(user=user, filters=filters).filter(
        Q(received_at__gte=start)
        | Q(closed_at__gte=start)
        | Q(response_breached_at__gte=start)
        | Q(resolution_breached_at__gte=start)
    )
    counts = {}
    for i, (lo, hi) in enumerate(itertools.pairwise(edges)):
        counts[f"received_{i}"] = Count("pk", filter=Q(received_at__gte=lo, received_at__lt=hi))
        counts[f"closed_{i}"] = Count(
            "pk", filter=Q(status=Complaint.Status.CLOSED, closed_at__gte=lo, closed_at__lt=hi)
        )
        counts[f"breached_{i}"] = Count(
            "pk",
            filter=Q(response_breached_at__gte=lo, response_breached_at__lt=hi)
            | Q(resolution_breached_at__gte=lo, resolution_breached_at__lt=hi),
        )
    figures = cases.aggregate(**counts)
    return [
        TrendRow(
            month=month,
            received=figures[f"received_{i}"],
            closed=figures[f"closed_{i}"],
            breached=figures[f"breached_{i}"],
        )
        for i, month in enumerate(months)
    ]
