"""Time the nightly rollups on a group-size database: a full rebuild, then the
incremental run after one day's new orders.

    .venv/bin/python bench/fill_group.py                      # once: crm_bench_group
    .venv/bin/python bench/rollups_night.py --db crm_bench_group

Not a test: it measures, on an existing database (bench/fill_group.py). In one
run it prints: a reference (a count of the repair orders, read twice, and a
plain COPY of as many narrow rows as the night adds, since this machine's
timings drift by up to 1.6×), the full rebuild (``rollups_run(full=True)``),
then, after one day's new orders (by default 14,000 closed orders written with
INSERT … SELECT, cloned from a sample of existing ones onto random cars, and
1 % as many corrections of orders of the last month, all with ``updated_at``
now), the incremental run (``rollups_run()``; target under 30 s). Afterwards
the day's orders are deleted, the corrections undone, and the incremental run
repeated (untimed) so the database is as it was for the next benchmark.
"""

import argparse
import datetime
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 30


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="crm_bench_group")
    parser.add_argument("--orders", type=int, default=14_000, help="new orders of the day")
    parser.add_argument("--keep", action="store_true", help="keep the day's orders (no clean-up)")
    return parser.parse_args()


def add_day(cursor, *, orders: int, now: datetime.datetime) -> tuple[int, int, int]:
    """The day's orders, set-based: copies of a sample of closed orders (their
    kind, payer, amounts and work) on the cars of the sample, opened in the last
    hours before ``now``, closed, numbered ``RN<date><n>`` (unique per store),
    updated now. Plus corrections: 1 % as many orders of the last 30 days voided
    now (a correction's day must be recomputed too). Returns the first and last
    new id and the corrected count."""
    from service.models import RepairOrder

    ro = RepairOrder._meta.db_table
    cursor.execute(f"SELECT count(*) FROM {ro}")
    total = cursor.fetchone()[0]
    percent = min(100.0, 300.0 * orders / max(total, 1))
    stamp = now.strftime("%y%m%d%H%M%S")  # unique per run: the numbers are unique per store
    cursor.execute(
        f"""
        WITH sample AS (
            SELECT dealership_id, vehicle_id, customer_id, advisor_id, technician_id, kind, payer, work_done,
                   mileage, labor_amount, parts_amount, total_amount,
                   %(now)s - (interval '1 minute' * (180 + floor(random() * 600))) AS opened
            FROM {ro} TABLESAMPLE SYSTEM (%(percent)s)
            WHERE closed_at IS NOT NULL AND voided_at IS NULL
            LIMIT %(orders)s
        )
        INSERT INTO {ro} (dealership_id, number, vehicle_id, customer_id, advisor_id, technician_id, kind,
                          opened_at, closed_at, mileage, payer, work_done, labor_amount, parts_amount,
                          total_amount, voided_at, updated_at)
        SELECT dealership_id, 'RN' || %(stamp)s || lpad((row_number() OVER ())::text, 6, '0'), vehicle_id,
               customer_id, advisor_id, technician_id, kind, opened,
               LEAST(opened + interval '1 minute' * (30 + floor(random() * 150)), %(now)s), mileage + 500, payer,
               work_done, labor_amount, parts_amount, total_amount, NULL, %(now)s
        FROM sample
        RETURNING id
        """,
        {"now": now, "percent": percent, "orders": orders, "stamp": stamp},
    )
    ids = [row[0] for row in cursor.fetchall()]
    month_ago = now - datetime.timedelta(days=30)
    cursor.execute(
        f"""
        UPDATE {ro} SET voided_at = %(now)s, updated_at = %(now)s
        WHERE id IN (
            SELECT id FROM {ro} WHERE opened_at >= %(since)s AND opened_at < %(today)s AND voided_at IS NULL
            ORDER BY id LIMIT %(n)s
        )
        RETURNING id
        """,
        {"now": now, "since": month_ago, "today": now - datetime.timedelta(hours=14), "n": max(orders // 100, 1)},
    )
    corrected = [row[0] for row in cursor.fetchall()]
    return min(ids), max(ids), corrected


def reference(cursor, rows: int) -> tuple[float, float, float]:
    """A count of the orders (twice, the second read is the figure), a
    hand-written GROUP BY of them per store, local day, kind and payer (the
    heart of a full rebuild of the order figures), and a plain COPY of as many
    narrow rows as the night adds."""
    from service.models import RepairOrder

    ro = RepairOrder._meta.db_table
    for _ in range(2):
        started = time.perf_counter()
        cursor.execute(f"SELECT count(*) FROM {ro}")
        cursor.fetchone()
    counted = time.perf_counter() - started
    started = time.perf_counter()
    cursor.execute(
        f"""
        SELECT count(*) FROM (
            SELECT dealership_id, (opened_at AT TIME ZONE 'Asia/Shanghai')::date, kind, payer, count(*),
                   sum(total_amount), sum(labor_amount), sum(parts_amount)
            FROM {ro} WHERE closed_at IS NOT NULL AND voided_at IS NULL GROUP BY 1, 2, 3, 4
        ) g
        """
    )
    cursor.fetchone()
    grouped = time.perf_counter() - started
    cursor.execute("CREATE TEMP TABLE bench_reference (a bigint, b bigint)")
    chunk = "".join(f"{i}\t{i * 7}\n" for i in range(rows))
    started = time.perf_counter()
    with cursor.copy("COPY bench_reference (a, b) FROM STDIN") as copy:
        copy.write(chunk)
    copied = time.perf_counter() - started
    cursor.execute("DROP TABLE bench_reference")
    return counted, grouped, copied


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
    os.environ["CRM_LOG_LEVEL"] = "WARNING"
    os.environ["DATABASE_URL"] = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    try:
        from analytics.rollups import rollups_run
    except ImportError:
        sys.exit("analytics/rollups.py (rollups_run) is not there yet: nothing to time.")
    from service.models import RepairOrder

    call_command("migrate", verbosity=0)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {RepairOrder._meta.db_table}")
        total = cursor.fetchone()[0]
        counted, grouped, copied = reference(cursor.connection.cursor(), args.orders)
    print(
        f"{args.db}: {total:,} repair orders; reference: SELECT count(*) {counted:.2f} s, a GROUP BY of the "
        f"orders per store, day, kind and payer {grouped:.1f} s, a plain COPY of {args.orders:,} narrow rows "
        f"{copied:.3f} s"
    )

    started = time.perf_counter()
    full = rollups_run(full=True)
    rebuild = time.perf_counter() - started
    print(f"full rebuild      {rebuild:7.1f} s  ({rebuild / grouped:.1f}× the GROUP BY)  {_describe(full)}")

    now = timezone.now()
    with transaction.atomic(), connection.cursor() as cursor:
        first, last, corrected = add_day(cursor, orders=args.orders, now=now)
    print(f"the day: {last - first + 1:,} new orders (ids {first:,}–{last:,}), {len(corrected):,} corrections")

    started = time.perf_counter()
    night = rollups_run(now=timezone.now())
    incremental = time.perf_counter() - started
    verdict = "meets" if incremental < TARGET_SECONDS else "misses"
    print(
        f"incremental run   {incremental:7.1f} s  ({incremental / counted:.1f}× the count, "
        f"{incremental / grouped:.2f}× the GROUP BY; {verdict} the {TARGET_SECONDS} s target)  {_describe(night)}"
    )

    if not args.keep:
        # An incremental run misses deleted rows: the day's orders are voided
        # first (the next run takes them out of their days' figures), the
        # corrections undone, the rollups caught up, and only then the orders deleted.
        ro = RepairOrder._meta.db_table
        with transaction.atomic(), connection.cursor() as cursor:
            stamp = timezone.now()
            cursor.execute(
                f"UPDATE {ro} SET voided_at = %s, updated_at = %s WHERE id BETWEEN %s AND %s",
                (stamp, stamp, first, last),
            )
            cursor.execute(f"UPDATE {ro} SET voided_at = NULL, updated_at = %s WHERE id = ANY(%s)", (stamp, corrected))
        started = time.perf_counter()
        rollups_run(now=timezone.now())
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(f"DELETE FROM {ro} WHERE id BETWEEN %s AND %s", (first, last))
        print(
            f"clean-up: the day's orders voided, the corrections undone, the rollups caught up "
            f"({time.perf_counter() - started:.1f} s, untimed), then the day's orders deleted"
        )


def _describe(result) -> str:
    """What the run reports about itself (analytics.rollups.RollupResult)."""
    parts = []
    for name in ("store_days", "order_rows", "store_rows", "care_rows", "advisor_rows", "retention_rows"):
        value = getattr(result, name, None)
        if value is not None:
            parts.append(f"{name.replace('_', ' ')} {value:,}")
    return ", ".join(parts)


if __name__ == "__main__":
    main()
