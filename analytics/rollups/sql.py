"""Store-days and the statements the rollups are written with.

A store-day is the unit a run recomputes: ``{dealership id: {local day, …}}``.
Consecutive days of a store are merged into ranges, and a range becomes an
index-friendly filter (``dealership = s AND opened_at >= local midnight AND
opened_at < local midnight``) that the (dealership, opened_at) index of the
repair orders answers; a night holds a few ranges per store.
"""

import datetime
import functools
import operator
from collections.abc import Iterable, Iterator

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Q, QuerySet
from django.utils import timezone

StoreDays = dict[int, set[datetime.date]]
# (dealership id, first day, day after the last)
DayRange = tuple[int, datetime.date, datetime.date]

# Ranges per statement: a night after a bulk correction may touch thousands of
# store-days; they are recomputed in statements of this many ranges each.
RANGES_PER_STATEMENT = 400


def store_days_add(target: StoreDays, rows: Iterable[tuple[int, datetime.date | None]]) -> StoreDays:
    for store, day in rows:
        if store is not None and day is not None:
            target.setdefault(store, set()).add(day)
    return target


def store_days_union(*parts: StoreDays) -> StoreDays:
    merged: StoreDays = {}
    for part in parts:
        for store, days in part.items():
            merged.setdefault(store, set()).update(days)
    return merged


def store_days_count(days: StoreDays) -> int:
    return sum(len(d) for d in days.values())


def day_ranges(days: StoreDays) -> list[DayRange]:
    """Each store's days as runs of consecutive days."""
    ranges: list[DayRange] = []
    one = datetime.timedelta(days=1)
    for store in sorted(days):
        run_start = run_end = None
        for day in sorted(days[store]):
            if run_end is not None and day == run_end:
                run_end = day + one
                continue
            if run_start is not None:
                ranges.append((store, run_start, run_end))
            run_start, run_end = day, day + one
        if run_start is not None:
            ranges.append((store, run_start, run_end))
    return ranges


def range_chunks(days: StoreDays) -> Iterator[list[DayRange]]:
    ranges = day_ranges(days)
    for start in range(0, len(ranges), RANGES_PER_STATEMENT):
        yield ranges[start : start + RANGES_PER_STATEMENT]


def local_midnight(day: datetime.date) -> datetime.datetime:
    """Local midnight starting ``day``, aware (the store's day begins then)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min), timezone.get_default_timezone())


def on_days(ranges: list[DayRange] | None, field: str, *, store: str = "dealership_id", timestamp: bool) -> Q:
    """Rows of the store-day ranges: ``field`` a date, or a timestamp
    (``timestamp=True``) compared with the local midnights. ``None``: every row."""
    if ranges is None:
        return Q()
    arms = []
    for dealership, first, after in ranges:
        low, high = (local_midnight(first), local_midnight(after)) if timestamp else (first, after)
        arms.append(Q(**{store: dealership, f"{field}__gte": low, f"{field}__lt": high}))
    return functools.reduce(operator.or_, arms) if arms else Q(pk__in=[])


# --- Statements ---------------------------------------------------------------


def quote(name: str) -> str:
    return connection.ops.quote_name(name)


def compiled(queryset: QuerySet) -> tuple[str, tuple] | None:
    """The queryset's SQL and parameters; None when it can select nothing."""
    try:
        return queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        return None


def execute(sql: str, params=()) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return max(cursor.rowcount, 0)


def insert_grouped(
    model,
    keys: dict[str, str],
    parts: list[tuple[QuerySet, dict[str, str]]],
    *,
    update: list[str] | None = None,
) -> int:
    """One ``INSERT INTO model … SELECT keys, SUM(figure)… FROM (part UNION ALL
    part …) GROUP BY keys``: each part (a queryset, {column: annotation}) gives
    the key columns under the annotations named in ``keys`` and some of the
    figure columns (every other column of the table); a figure a part does
    not give is 0 there. A single part, grouped by the keys already, goes in
    as it is. With ``update`` (columns), a row whose key exists already takes
    those columns from the new one (``ON CONFLICT … DO UPDATE``, on the key's
    unique constraint) and keeps the rest. Returns the rows written."""
    # Every other column of the table is a figure: summed, or 0 where no part gives it.
    figures = [f.column for f in model._meta.concrete_fields if not f.primary_key and f.column not in keys]
    selects, params = [], []
    for queryset, columns in parts:
        unknown = set(columns) - set(figures)
        if unknown:
            raise ValueError(f"{model.__name__} has no figure columns {sorted(unknown)}")
        names = {**keys, **columns}
        sql = compiled(queryset.values(*names.values()))
        if sql is None:
            continue
        picked = [f"src.{quote(names[c])} AS {quote(c)}" for c in keys]
        picked += [f"src.{quote(columns[c])} AS {quote(c)}" if c in columns else f"0 AS {quote(c)}" for c in figures]
        selects.append(f"SELECT {', '.join(picked)} FROM ({sql[0]}) AS src")
        params += sql[1]
    if not selects:
        return 0
    key_cols = ", ".join(quote(c) for c in keys)
    into = f"INSERT INTO {quote(model._meta.db_table)} ({key_cols}, {', '.join(quote(c) for c in figures)}) "
    # WHERE: SQLite would read an ON CONFLICT right after FROM (…) as a join's ON.
    if len(selects) == 1:
        # One part is grouped by the keys already.
        statement = f"{into}SELECT * FROM ({selects[0]}) AS u WHERE 1 = 1"
    else:
        sums = ", ".join(f"SUM(u.{quote(c)})" for c in figures)
        statement = (
            f"{into}SELECT {', '.join(f'u.{quote(c)}' for c in keys)}, {sums} "
            f"FROM ({' UNION ALL '.join(selects)}) AS u "
            f"WHERE 1 = 1 GROUP BY {', '.join(f'u.{quote(c)}' for c in keys)}"
        )
    if update:
        sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
        statement += f" ON CONFLICT ({key_cols}) DO UPDATE SET {sets}"
    return execute(statement, params)
