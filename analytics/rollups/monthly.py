"""The monthly rollups: what the dashboards read (see ``analytics.rollups``).

Two kinds:

* Sums of the daily tables (``MonthlyOrderStats``, ``MonthlyOrderTotals``,
  ``MonthlyStoreStats``, ``MonthlyCareStats``, ``MonthlyAdvisorStats``): a run
  recomputes the store-months holding the store-days it recomputed, from the
  daily rows (a store-month is a few hundred daily rows at most), and then the
  group rows (no dealership: every store's rows summed) of those months.
* Counts of distinct customers, which no sum of days gives: the customers with a
  visit (``MonthlyVisitorStats``, from the repair orders of the store-months whose
  orders were written), and the tiers of the month (``MonthlyTierStats``,
  ``MonthlyAdvisorTierStats``, ``MonthlyTierMoves``, from the tier snapshots and
  the churn events, with ``WatchListEntry``) — rebuilt once a day for the run's
  month and the month before, since the nightly tier recompute rewrites the
  current month's tiers without a timestamp to find its changes by.

Every statement is set-based (``INSERT … SELECT … GROUP BY``); the months reach
Python only as the ranges that narrow the statements."""

import dataclasses
import datetime
from collections.abc import Iterator

from dateutil.relativedelta import relativedelta
from django.db.models import (
    BigIntegerField,
    CharField,
    Count,
    DateField,
    Exists,
    F,
    OuterRef,
    Q,
    Sum,
    Value,
    Window,
)
from django.db.models.functions import Cast, Coalesce, RowNumber, TruncMonth

from analytics.models import (
    DailyAdvisorStats,
    DailyCareStats,
    DailyOrderStats,
    DailyStoreStats,
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
from analytics.rollups.figures import local_day
from analytics.rollups.sql import (
    RANGES_PER_STATEMENT,
    DayRange,
    StoreDays,
    execute,
    insert_grouped,
    on_days,
    quote,
)
from crm.sql import AddMonths, insert_select
from customers.models import ChurnEvent, Customer, TierSnapshot
from service.models import RepairOrder

ONE_MONTH = relativedelta(months=1)
# The newest flags kept per store: the tiers page lists at most this many (analytics.selectors).
WATCH_LIST_SIZE = 50
MONTH_KEYS = {"dealership_id": "k_store", "month": "k_month"}


def month_of(expression) -> Cast:
    """The first day of a date's month, as a date (on PostgreSQL ``date_trunc`` gives a timestamp)."""
    return Cast(TruncMonth(expression, output_field=DateField()), DateField())


def month_start(day: datetime.date) -> datetime.date:
    return day.replace(day=1)


def _null_id() -> Cast:
    # Typed: an untyped NULL in a subquery's select list is text to PostgreSQL.
    return Cast(Value(None), BigIntegerField())


# --- Store-months ---------------------------------------------------------------------------------


def store_months(days: StoreDays | None) -> StoreDays | None:
    """The months (first days) of each store's days; None (everything) stays None."""
    if days is None:
        return None
    return {store: {month_start(day) for day in store_days} for store, store_days in days.items()}


def month_ranges(months: StoreDays) -> list[DayRange]:
    """Each store's months as runs of consecutive months: (store, first day, the first day after)."""
    ranges: list[DayRange] = []
    for store in sorted(months):
        start = end = None
        for month in sorted(months[store]):
            if end is not None and month == end:
                end = month + ONE_MONTH
                continue
            if start is not None:
                ranges.append((store, start, end))
            start, end = month, month + ONE_MONTH
        if start is not None:
            ranges.append((store, start, end))
    return ranges


def month_chunks(months: StoreDays | None) -> Iterator[list[DayRange] | None]:
    """``None`` (everything) once, else the store-months in statements of a bounded size."""
    if months is None:
        yield None
        return
    ranges = month_ranges(months)
    for start in range(0, len(ranges), RANGES_PER_STATEMENT):
        yield ranges[start : start + RANGES_PER_STATEMENT]


def all_months(months: StoreDays | None) -> list[datetime.date] | None:
    if months is None:
        return None
    return sorted({month for store_months_ in months.values() for month in store_months_})


# --- Sums of the daily tables ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Summed:
    """A monthly table summed from a daily one (or from a finer monthly one, whose date is
    ``month``): its key columns besides the store and the month (the source's columns of the
    same names), and whether it keeps group rows (a row per month and key with no dealership)."""

    model: type
    daily: type
    keys: tuple[str, ...]
    group: bool
    source_date: str = "day"

    @property
    def key_columns(self) -> dict[str, str]:
        return {**MONTH_KEYS, **{key: f"k_{key}" for key in self.keys}}

    @property
    def figures(self) -> list[str]:
        keys = set(self.key_columns)
        return [f.column for f in self.model._meta.concrete_fields if not f.primary_key and f.column not in keys]


ORDERS = Summed(MonthlyOrderStats, DailyOrderStats, ("kind", "payer", "model_id", "tier"), group=True)
ORDER_TOTALS = Summed(MonthlyOrderTotals, DailyOrderStats, ("kind", "payer", "tier"), group=True)
STORE = Summed(MonthlyStoreStats, DailyStoreStats, (), group=True)
CARE = Summed(MonthlyCareStats, DailyCareStats, ("kind", "advisor_id"), group=False)
ADVISORS = Summed(MonthlyAdvisorStats, DailyAdvisorStats, ("advisor_id",), group=False)
# The store totals a group-level user's funnel and advisors by store read.
CARE_TOTALS = Summed(MonthlyCareTotals, DailyCareStats, ("kind",), group=True)
ADVISOR_TOTALS = Summed(MonthlyAdvisorTotals, MonthlyAdvisorStats, (), group=False, source_date="month")


def _daily_rows(spec: Summed, where: Q, figures: list[str]):
    month = month_of("day") if spec.source_date == "day" else F("month")
    return (
        spec.daily.objects.filter(where)
        .order_by()
        .values(k_store=F("dealership_id"), k_month=month, **{f"k_{key}": F(key) for key in spec.keys})
        .annotate(**{f"f_{figure}": Sum(figure) for figure in figures})
    )


def summed_parts(spec: Summed, where: Q) -> list[tuple]:
    """The daily rows of ``where`` grouped by store, month and the keys. The advisors'
    ``overdue`` is a snapshot, not a sum: the rows of the store-month's last day
    (no later row of the store in the month) give it."""
    if spec is not ADVISORS:
        return [(_daily_rows(spec, where, spec.figures), {f: f"f_{f}" for f in spec.figures})]
    sums = [f for f in spec.figures if f != "overdue"]
    daily = spec.daily.objects
    # The month's next first day, of the outer row's day (Cast: an OuterRef has no type of its own).
    month_after = AddMonths(month_of(Cast(OuterRef("day"), DateField())), Value(1))
    later = daily.filter(dealership_id=OuterRef("dealership_id"), day__gt=OuterRef("day"), day__lt=month_after)
    last_day = (
        daily.filter(where)
        .filter(~Exists(later))
        .order_by()
        .values(k_store=F("dealership_id"), k_month=month_of("day"), k_advisor_id=F("advisor_id"))
        .annotate(f_overdue=Sum("overdue"))
    )
    return [
        (_daily_rows(spec, where, sums), {f: f"f_{f}" for f in sums}),
        (last_day, {"overdue": "f_overdue"}),
    ]


def summed_recompute(spec: Summed, months: StoreDays | None) -> int:
    """Delete the store-months' rows and insert them anew from the daily rows, then the
    group rows of those months. Returns the rows written."""
    written = 0
    for ranges in month_chunks(months):
        spec.model.objects.filter(dealership__isnull=False).filter(on_days(ranges, "month", timestamp=False)).delete()
        written += insert_grouped(
            spec.model, spec.key_columns, summed_parts(spec, on_days(ranges, spec.source_date, timestamp=False))
        )
    if spec.group:
        written += group_recompute(spec.model, spec.keys, all_months(months))
    return written


def summed_months_recompute(spec: Summed, months: list[datetime.date]) -> int:
    """Whole months of every store (the advisors' month of the overdue snapshot just taken)."""
    written = 0
    for month in months:
        within = {"__gte": month, "__lt": month + ONE_MONTH}
        spec.model.objects.filter(dealership__isnull=False, **{f"month{k}": v for k, v in within.items()}).delete()
        where = Q(**{f"{spec.source_date}{k}": v for k, v in within.items()})
        written += insert_grouped(spec.model, spec.key_columns, summed_parts(spec, where))
    if spec.group:
        written += group_recompute(spec.model, spec.keys, months)
    return written


def group_recompute(
    model, keys: tuple[str, ...], months: list[datetime.date] | None, *, month: str | None = "month"
) -> int:
    """The group rows (no dealership) of the months: the stores' rows of each month and key summed.
    ``month=None``: a table without months (RetentionStats), rebuilt whole (``months`` None)."""
    table = quote(model._meta.db_table)
    key_columns = (month, *keys) if month else keys
    key_sql = ", ".join(quote(c) for c in key_columns)
    figures = [
        f.column
        for f in model._meta.concrete_fields
        if not f.primary_key and f.column not in {"dealership_id", *key_columns}
    ]
    columns = f"{quote('dealership_id')}, {key_sql}, {', '.join(quote(c) for c in figures)}"
    sums = ", ".join(f"SUM({quote(c)})" for c in figures)
    chunks = (
        [None]
        if months is None
        else [months[i : i + RANGES_PER_STATEMENT] for i in range(0, len(months), RANGES_PER_STATEMENT)]
    )
    written = 0
    for chunk in chunks:
        in_months = Q() if chunk is None else Q(**{f"{month}__in": chunk})
        model.objects.filter(in_months, dealership__isnull=True).delete()
        where, params = "", []
        if chunk is not None:
            where, params = f" AND {quote(month)} IN ({', '.join(['%s'] * len(chunk))})", list(chunk)
        written += execute(
            f"INSERT INTO {table} ({columns}) SELECT NULL, {key_sql}, {sums} FROM {table} "
            f"WHERE {quote('dealership_id')} IS NOT NULL{where} GROUP BY {key_sql}",
            params,
        )
    return written


# --- Customers with a visit -----------------------------------------------------------------------

VISITOR_KEYS = {
    **MONTH_KEYS,
    "attribution": "k_attribution",
    "advisor_id": "k_advisor",
    "technician_id": "k_technician",
    "model_id": "k_model",
}


def visitor_parts(where: Q) -> list[tuple]:
    """Distinct customers with an order opened in the store-month (any order), overall and by
    the order's advisor (else the customer's), technician and the car's model."""
    orders = RepairOrder.objects.filter(where).order_by()
    attribution = MonthlyVisitorStats.Attribution
    none = _null_id()
    keyed = {
        attribution.ALL: {"k_advisor": none, "k_technician": none, "k_model": none},
        attribution.ADVISOR: {
            "k_advisor": Coalesce(F("advisor_id"), F("customer__advisor_id")),
            "k_technician": none,
            "k_model": none,
        },
        attribution.TECHNICIAN: {"k_advisor": none, "k_technician": F("technician_id"), "k_model": none},
        attribution.MODEL: {"k_advisor": none, "k_technician": none, "k_model": F("vehicle__model_id")},
    }
    return [
        (
            orders.values(
                k_store=F("dealership_id"),
                k_month=month_of(local_day("opened_at")),
                k_attribution=Value(str(name), output_field=CharField()),
                **columns,
            ).annotate(f_customers=Count("customer_id", distinct=True)),
            {"customers": "f_customers"},
        )
        for name, columns in keyed.items()
    ]


def visitors_recompute(months: StoreDays | None) -> int:
    written = 0
    for ranges in month_chunks(months):
        MonthlyVisitorStats.objects.filter(on_days(ranges, "month", timestamp=False)).delete()
        written += insert_grouped(MonthlyVisitorStats, VISITOR_KEYS, visitor_parts(_local_months(ranges, "opened_at")))
    return written


def _local_months(ranges: list[DayRange] | None, field: str) -> Q:
    # The months' local midnights at both ends: the (dealership, opened_at) index answers it.
    return on_days(ranges, field, timestamp=True)


# --- The tiers of the month -------------------------------------------------------------------------

TIER_KEYS = {**MONTH_KEYS, "advisor_id": "k_advisor", "tier": "k_tier", "churn_state": "k_state"}


def tier_months(day: datetime.date, *, full: bool) -> list[datetime.date] | None:
    """The months a run rebuilds the tiers of: the run's month and the month before (whose
    snapshot the tier recompute may have rewritten on its last day); every month with ``full``."""
    if full:
        return None
    this = month_start(day)
    return [this - ONE_MONTH, this]


def _population_parts(day: datetime.date, months: list[datetime.date] | None) -> list[tuple]:
    """The customers counted in each month, by advisor, tier and churn state: the active
    customers now for the run's month, the month's tier snapshot for the months before."""
    this = month_start(day)
    customers = (
        Customer.objects.filter(status=Customer.Status.ACTIVE)
        .order_by()
        .values(
            k_store=F("dealership_id"),
            k_month=Value(this, output_field=DateField()),
            k_advisor=F("advisor_id"),
            k_tier=F("value_tier"),
            k_state=F("churn_state"),
        )
        .annotate(f_customers=Count("pk"))
    )
    snapshots = TierSnapshot.objects.exclude(month=this)
    if months is not None:
        snapshots = snapshots.filter(month__in=[m for m in months if m != this])
    past = (
        snapshots.order_by()
        .values(
            k_store=F("dealership_id"),
            k_month=F("month"),
            k_advisor=F("customer__advisor_id"),
            k_tier=F("tier"),
            k_state=F("churn_state"),
        )
        .annotate(f_customers=Count("pk"))
    )
    parts = [(past, {"customers": "f_customers"})]
    if months is None or this in months:
        parts.append((customers, {"customers": "f_customers"}))
    return parts


def _moves_part(months: list[datetime.date] | None) -> tuple:
    """Customers with a churn event of the month (distinct), by their advisor now: turned at
    risk, turned lost, recovered. Rows of their own (blank tier and state)."""
    events = ChurnEvent.objects.all()
    if months is not None:
        events = events.filter(Q(*[Q(day__gte=m, day__lt=m + ONE_MONTH) for m in months], _connector=Q.OR))
    states = Customer.ChurnState
    blank = Value("", output_field=CharField())
    rows = (
        events.order_by()
        .values(
            k_store=F("customer__dealership_id"),
            k_month=month_of("day"),
            k_advisor=F("customer__advisor_id"),
            k_tier=blank,
            k_state=blank,
        )
        .annotate(
            f_at_risk=Count("customer", distinct=True, filter=Q(to_state=states.AT_RISK)),
            f_lost=Count("customer", distinct=True, filter=Q(to_state=states.LOST)),
            f_recovered=Count("customer", distinct=True, filter=Q(recovered=True)),
        )
    )
    return rows, {"turned_at_risk": "f_at_risk", "turned_lost": "f_lost", "recovered": "f_recovered"}


def tiers_recompute(day: datetime.date, *, full: bool) -> int:
    """MonthlyAdvisorTierStats, then MonthlyTierStats (its sums by store, and the group's),
    MonthlyTierMoves and the watch list, for ``tier_months``."""
    months = tier_months(day, full=full)
    month_q = Q() if months is None else Q(month__in=months)
    MonthlyAdvisorTierStats.objects.filter(month_q).delete()
    written = insert_grouped(MonthlyAdvisorTierStats, TIER_KEYS, [*_population_parts(day, months), _moves_part(months)])
    MonthlyTierStats.objects.filter(month_q).delete()
    by_store = (
        MonthlyAdvisorTierStats.objects.filter(month_q)
        .exclude(tier="")
        .order_by()
        .values(k_store=F("dealership_id"), k_month=F("month"), k_tier=F("tier"), k_state=F("churn_state"))
        .annotate(f_customers=Sum("customers"))
    )
    tier_keys = {**MONTH_KEYS, "tier": "k_tier", "churn_state": "k_state"}
    written += insert_grouped(MonthlyTierStats, tier_keys, [(by_store, {"customers": "f_customers"})])
    written += group_recompute(MonthlyTierStats, ("tier", "churn_state"), months)
    written += moves_recompute(day, months)
    written += watch_list_rebuild()
    return written


def _months_held(this: datetime.date) -> list[datetime.date]:
    """The months a full rebuild counts the moves of: each month with a tier snapshot, the
    month after it (whose customers may all have left), up to the run's month."""
    snapshot_months = set(TierSnapshot.objects.order_by().values_list("month", flat=True).distinct())
    months = {this} | snapshot_months | {m + ONE_MONTH for m in snapshot_months}
    return sorted(m for m in months if m <= this)


def moves_recompute(day: datetime.date, months: list[datetime.date] | None) -> int:
    """Each month's customers by their tier the month before and in the month: two
    statements a month (those counted, and those of the month before no longer counted)."""
    this = month_start(day)
    if months is None:
        months = _months_held(this)
        MonthlyTierMoves.objects.all().delete()
    else:
        MonthlyTierMoves.objects.filter(month__in=months).delete()
    table = quote(MonthlyTierMoves._meta.db_table)
    snapshot = quote(TierSnapshot._meta.db_table)
    customer = quote(Customer._meta.db_table)
    written = 0
    for month in months:
        if month == this:
            population = (
                f"SELECT id AS customer_id, dealership_id, value_tier AS tier FROM {customer} WHERE status = %s"
            )
            params = [Customer.Status.ACTIVE.value]
        else:
            population = f"SELECT customer_id, dealership_id, tier FROM {snapshot} WHERE month = %s"
            params = [month]
        before = month - ONE_MONTH
        # Those counted in the month, by their tier the month before ('' for no snapshot: new).
        written += execute(
            f"INSERT INTO {table} (dealership_id, month, from_tier, to_tier, customers) "
            f"SELECT p.dealership_id, %s, COALESCE(b.tier, ''), p.tier, COUNT(*) FROM ({population}) p "
            f"LEFT JOIN {snapshot} b ON b.customer_id = p.customer_id AND b.month = %s "
            f"GROUP BY p.dealership_id, COALESCE(b.tier, ''), p.tier",
            [month, *params, before],
        )
        # Those of the month before the store no longer counts ('' as the month's tier: left).
        written += execute(
            f"INSERT INTO {table} (dealership_id, month, from_tier, to_tier, customers) "
            f"SELECT b.dealership_id, %s, b.tier, '', COUNT(*) FROM {snapshot} b WHERE b.month = %s "
            f"AND NOT EXISTS (SELECT 1 FROM ({population}) p WHERE p.customer_id = b.customer_id "
            f"AND p.dealership_id = b.dealership_id) GROUP BY b.dealership_id, b.tier",
            [month, before, *params],
        )
    return written


def watch_list_rebuild() -> int:
    """Each store's newest watch-list flags (active customers), at most WATCH_LIST_SIZE."""
    WatchListEntry.objects.all().delete()
    ranked = (
        Customer.objects.filter(status=Customer.Status.ACTIVE)
        .exclude(watch_reason="")
        .annotate(
            rank=Window(
                RowNumber(),
                partition_by=[F("dealership_id")],
                order_by=[F("watch_since").desc(nulls_last=True), F("pk").desc()],
            )
        )
        .filter(rank__lte=WATCH_LIST_SIZE)
        .annotate(k_store=F("dealership_id"), k_customer=F("pk"), k_since=F("watch_since"))
    )
    return insert_select(
        WatchListEntry,
        ranked,
        {"dealership_id": "k_store", "customer_id": "k_customer", "since": "k_since"},
        ignore_conflicts=False,
    )
