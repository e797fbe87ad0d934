"""One run of the rollups (see ``analytics.rollups`` for what it computes)."""

import dataclasses
import datetime
import logging
import time
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

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
    RetentionStats,
    RollupRun,
    WatchListEntry,
)
from analytics.rollups.changes import changes_since
from analytics.rollups.figures import (
    ADVISOR_FIGURES,
    ADVISOR_KEYS,
    CARE_KEYS,
    KEYS,
    ORDER_KEYS,
    RETENTION_KEYS,
    advisor_figures,
    care_funnel,
    order_figures,
    overdue_touches,
    retention_by_age,
    retention_by_maintenance,
    store_figures,
)
from analytics.rollups.monthly import (
    ADVISOR_TOTALS,
    ADVISORS,
    CARE,
    CARE_TOTALS,
    ORDER_TOTALS,
    ORDERS,
    STORE,
    group_recompute,
    store_months,
    summed_months_recompute,
    summed_recompute,
    tiers_recompute,
    visitors_recompute,
)
from analytics.rollups.sql import (
    DayRange,
    StoreDays,
    execute,
    insert_grouped,
    local_midnight,
    on_days,
    range_chunks,
    store_days_count,
)

logger = logging.getLogger(__name__)

# pg_advisory_xact_lock key: two runs at once (beat firing twice, a manual run
# during the night's) take turns; the second finds the first's watermark.
LOCK_KEY = 7_231_301
# A transaction open longer than this (forgotten in a console) no longer holds the watermark back.
LONGEST_TRANSACTION = datetime.timedelta(hours=6)
# The run's work_mem on PostgreSQL (its transaction only; the night has the server to itself).
WORK_MEM = "256MB"


@dataclasses.dataclass(frozen=True)
class RollupResult:
    day: datetime.date  # the run's day: retention as of it, the overdue snapshot of the day before
    full: bool
    started_at: datetime.datetime  # the watermark the next run reads changes from
    since: datetime.datetime | None  # the watermark this run read from (None: everything rebuilt)
    store_days: int  # store-days recomputed (for a full run: store-days holding figures)
    order_rows: int
    store_rows: int
    care_rows: int
    advisor_rows: int
    overdue_rows: int  # advisors' overdue touches written (the first run of a day only)
    retention_rows: int  # rebuilt by the first run of each day, and by a full run
    seconds: float
    month_rows: int = 0  # the monthly sums (and group rows) of the store-months recomputed
    visitor_rows: int = 0  # customers with a visit, of the store-months whose orders were written
    tier_rows: int = 0  # the months' tiers and the watch list: the first run of each day, and a full run


# --- The tables ---------------------------------------------------------------


def _chunks(days: StoreDays | None):
    """``None`` (everything) once, else the store-days in statements of a bounded size."""
    if days is None:
        yield None
    else:
        yield from range_chunks(days)


def _replace(model, keys: dict, ranges: list[DayRange] | None, parts) -> int:
    """Delete the store-days' rows, then insert them anew: one statement each."""
    model.objects.filter(on_days(ranges, "day", timestamp=False)).delete()
    return insert_grouped(model, keys, parts)


def _orders(days: StoreDays | None) -> int:
    return sum(
        _replace(DailyOrderStats, ORDER_KEYS, r, order_figures(on_days(r, "opened_at", timestamp=True)))
        for r in _chunks(days)
    )


def _store(days: StoreDays | None) -> int:
    return sum(_replace(DailyStoreStats, KEYS, r, store_figures(r)) for r in _chunks(days))


def _care(days: StoreDays | None) -> int:
    return sum(
        _replace(DailyCareStats, CARE_KEYS, r, care_funnel(on_days(r, "created_on", timestamp=False)))
        for r in _chunks(days)
    )


EMPTY_ADVISOR_ROW = dict.fromkeys([*ADVISOR_FIGURES, "overdue"], 0)
# Every table a run writes (analysed after a full rebuild on PostgreSQL).
ROLLUP_MODELS = (
    DailyOrderStats,
    DailyStoreStats,
    DailyCareStats,
    DailyAdvisorStats,
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyStoreStats,
    MonthlyCareStats,
    MonthlyCareTotals,
    MonthlyAdvisorStats,
    MonthlyAdvisorTotals,
    MonthlyVisitorStats,
    MonthlyTierStats,
    MonthlyAdvisorTierStats,
    MonthlyTierMoves,
    WatchListEntry,
    RetentionStats,
)


def _advisors(days: StoreDays | None) -> int:
    """Calls and CSAT of the store-days, keeping each row's overdue snapshot
    (taken once, the morning after: it cannot be recomputed): the figures are
    zeroed, upserted, and rows left with nothing are deleted."""
    written = 0
    for ranges in _chunks(days):
        rows = DailyAdvisorStats.objects.filter(on_days(ranges, "day", timestamp=False))
        rows.update(**dict.fromkeys(ADVISOR_FIGURES, 0))
        written += insert_grouped(DailyAdvisorStats, ADVISOR_KEYS, advisor_figures(ranges), update=ADVISOR_FIGURES)
        rows.filter(**EMPTY_ADVISOR_ROW).delete()
    return written


def _overdue(day: datetime.date) -> int:
    """The advisors' overdue touches at the end of ``day``, onto that day's rows."""
    rows = DailyAdvisorStats.objects.filter(day=day)
    rows.update(overdue=0)
    written = insert_grouped(DailyAdvisorStats, ADVISOR_KEYS, [overdue_touches(day)], update=["overdue"])
    rows.filter(**EMPTY_ADVISOR_ROW).delete()
    return written


def _retention(day: datetime.date) -> int:
    RetentionStats.objects.all().delete()
    written = insert_grouped(RetentionStats, RETENTION_KEYS, [retention_by_age(day), retention_by_maintenance(day)])
    # The group's rows: the stores' summed by dimension, band and model.
    return written + group_recompute(RetentionStats, ("dimension", "band", "model_id", "as_of"), None, month=None)


def _months_missing() -> bool:
    """Daily figures without their monthly sums (the monthly tables came after them): the
    next run sums every month."""
    specs = (ORDER_TOTALS, STORE, CARE, CARE_TOTALS, ADVISOR_TOTALS)
    return any(spec.daily.objects.exists() and not spec.model.objects.exists() for spec in specs) or (
        DailyOrderStats.objects.exists() and not MonthlyVisitorStats.objects.exists()
    )


def _months(changes, *, full: bool, yesterday: datetime.date | None) -> tuple[int, int]:
    """The monthly sums of the store-months holding the recomputed store-days (every month
    with ``full``), and the customers with a visit of the orders' store-months. With
    ``yesterday`` (the overdue snapshot was taken), the advisors' month of it for every store."""

    def months_of(days):
        return None if full else store_months(days)

    orders = months_of(changes and changes.orders)
    rows = summed_recompute(ORDERS, orders) + summed_recompute(ORDER_TOTALS, orders)
    rows += summed_recompute(STORE, months_of(changes and changes.store))
    care = months_of(changes and changes.care)
    rows += summed_recompute(CARE, care) + summed_recompute(CARE_TOTALS, care)
    # The advisors' months, then their stores' totals of the same months.
    advisors = months_of(changes and changes.advisors)
    rows += summed_recompute(ADVISORS, advisors) + summed_recompute(ADVISOR_TOTALS, advisors)
    if yesterday is not None and not full:
        month = [yesterday.replace(day=1)]
        rows += summed_months_recompute(ADVISORS, month) + summed_months_recompute(ADVISOR_TOTALS, month)
    return rows, visitors_recompute(orders)


def _analyse() -> None:
    for model in ROLLUP_MODELS:
        execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")


def _nothing_held() -> bool:
    return not any(m.objects.exists() for m in (DailyOrderStats, DailyStoreStats, DailyCareStats, DailyAdvisorStats))


def _store_days_held() -> int:
    """Distinct store-days with figures in any daily table."""
    tables = [DailyOrderStats, DailyStoreStats, DailyCareStats, DailyAdvisorStats]
    pairs = [m.objects.order_by().values_list("dealership_id", "day") for m in tables]
    return pairs[0].union(*pairs[1:]).count()


# --- The watermark --------------------------------------------------------------


def _take_turns() -> None:
    if connection.vendor == "postgresql":
        execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])
        # A full rebuild groups every order: let it hash in memory rather than spill to disk.
        execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
    # SQLite: the settings' IMMEDIATE transactions already run one writer at a time.


def _reading_from(now: datetime.datetime) -> datetime.datetime:
    """The watermark this run leaves: ``now``, or on PostgreSQL the start of the
    oldest transaction still open in the database, if earlier. Its rows are
    stamped inside it, before ``now``, but commit after this run has read: the
    next run reads from its start, so they are not lost."""
    if connection.vendor != "postgresql":
        return now
    with connection.cursor() as cursor:
        # The view is cached for the rest of a transaction: the caller's may have read it before.
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT min(xact_start) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND backend_type = 'client backend' AND xact_start IS NOT NULL"
        )
        oldest = cursor.fetchone()[0]
    if oldest is None or oldest >= now:
        return now
    if oldest < now - LONGEST_TRANSACTION:
        logger.warning("rollups: a transaction open since %s is not waited for", oldest)
        return now - LONGEST_TRANSACTION
    return oldest


def _first_run_of(day: datetime.date) -> bool:
    return not RollupRun.objects.filter(
        finished_at__isnull=False,
        started_at__gte=local_midnight(day),
        started_at__lt=local_midnight(day + datetime.timedelta(days=1)),
    ).exists()


# --- The run --------------------------------------------------------------------


def rollups_run(
    *, now: datetime.datetime | None = None, day: datetime.date | None = None, full: bool = False
) -> RollupResult:
    """Recompute the rollups of the store-days whose sources changed since the
    last finished run (everything on the first run, or with ``full``), in one
    transaction, and record the run. ``now``: when the run starts (default the
    clock); ``day``: the run's day (default today), which the retention figures
    are as of and whose eve the advisors' overdue snapshot is of. Safe to
    repeat: with nothing changed, a second run recomputes no store-day."""
    clock = time.perf_counter()
    now = now or timezone.now()
    day = day or timezone.localdate(now)
    with transaction.atomic():
        _take_turns()
        last = RollupRun.objects.filter(finished_at__isnull=False).order_by("-started_at", "-pk").first()
        started_at = _reading_from(now)
        # The first run, or rollups emptied by hand (or by a reset): nothing to build on.
        full = full or last is None or _nothing_held()
        since = None if full else last.started_at
        changes = None if full else changes_since(since, day=day)
        order_rows = _orders(changes and changes.orders)
        store_rows = _store(changes and changes.store)
        care_rows = _care(changes and changes.care)
        advisor_rows = _advisors(changes and changes.advisors)
        store_days = _store_days_held() if changes is None else store_days_count(changes.all())
        # The day's snapshots, once: the overdue touches as the day before ended
        # (only a run on the day itself sees that), and the cars' retention.
        first_of_day = _first_run_of(day)
        overdue_rows, yesterday = 0, None
        if day == timezone.localdate(now) and first_of_day:
            yesterday = day - datetime.timedelta(days=1)
            overdue_rows = _overdue(yesterday)
        retention_rows = 0
        if full or not RetentionStats.objects.filter(as_of=day).exists():
            retention_rows = _retention(day)
        # What the dashboards read: the months of what was recomputed, and once a day the tiers.
        months_full = full or _months_missing()
        month_rows, visitor_rows = _months(changes, full=months_full, yesterday=yesterday)
        tier_rows = 0
        tiers_missing = not MonthlyTierStats.objects.exists()
        if full or first_of_day or tiers_missing:
            tier_rows = tiers_recompute(day, full=full or tiers_missing)
        if (months_full or tiers_missing) and connection.vendor == "postgresql":
            # A rebuild writes the tables anew: the planner's statistics of them with it, so the
            # pages' first reads do not take a store's rows for a handful.
            _analyse()
        seconds = time.perf_counter() - clock
        RollupRun.objects.create(
            started_at=started_at,
            finished_at=timezone.now(),
            full=full,
            store_days=store_days,
            seconds=Decimal(f"{seconds:.2f}"),
        )
    result = RollupResult(
        day=day,
        full=full,
        started_at=started_at,
        since=since,
        store_days=store_days,
        order_rows=order_rows,
        store_rows=store_rows,
        care_rows=care_rows,
        advisor_rows=advisor_rows,
        overdue_rows=overdue_rows,
        retention_rows=retention_rows,
        seconds=round(time.perf_counter() - clock, 3),
        month_rows=month_rows,
        visitor_rows=visitor_rows,
        tier_rows=tier_rows,
    )
    logger.info("rollups built", extra={"rollups": {k: str(v) for k, v in dataclasses.asdict(result).items()}})
    return result
