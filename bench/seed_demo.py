"""Time ``seed_demo`` on a throwaway database and print the figures.

    .venv/bin/python bench/seed_demo.py --customers 10000             # temporary SQLite file
    .venv/bin/python bench/seed_demo.py --customers 10000 --postgres  # drops and recreates crm_bench

Not a test: it measures. The database is migrated first (not timed), then the
build is timed as a whole and split into building rows in Python and
writing them with ``bulk_create``.
"""

import argparse
import datetime
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/crm_bench"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.date(2025, 6, 15))
    parser.add_argument("--postgres", action="store_true", help=f"use {POSTGRES_URL} (dropped and recreated)")
    return parser.parse_args()


def recreate_postgres_database() -> None:
    import psycopg

    with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as conn:
        conn.execute("DROP DATABASE IF EXISTS crm_bench WITH (FORCE)")
        conn.execute("CREATE DATABASE crm_bench")


def main() -> None:
    args = parse_args()
    workdir = None
    if args.postgres:
        recreate_postgres_database()
        os.environ["DATABASE_URL"] = POSTGRES_URL
    else:
        workdir = tempfile.mkdtemp(prefix="crm-bench-")
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir}/bench.sqlite3"
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings.local"
    sys.path.insert(0, str(ROOT))
    try:
        run(args)
    finally:
        if workdir:
            shutil.rmtree(workdir, ignore_errors=True)


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from demo import services

    migrate_started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(
        f"database: {connection.vendor} ({connection.settings_dict['NAME']}); migrated in "
        f"{time.perf_counter() - migrate_started:.1f} s"
    )

    # Split the time by wrapping the step that writes the rows; ``started`` is
    # set just before seed_demo runs.
    phases: dict[str, float] = {}
    started = 0.0
    original_insert = services.Builder.insert

    def timed_insert(builder) -> None:
        phases["build"] = time.perf_counter() - started
        begun = time.perf_counter()
        original_insert(builder)
        phases["insert"] = time.perf_counter() - begun

    services.Builder.insert = timed_insert
    try:
        started = time.perf_counter()
        summary = services.seed_demo(customers=args.customers, seed=args.seed, today=args.today)
        total = time.perf_counter() - started
    finally:
        services.Builder.insert = original_insert

    rows = sum(summary.as_dict().values())
    print(f"seed_demo(customers={args.customers}, seed={args.seed}, today={args.today}): {total:.1f} s")
    commit = total - phases["build"] - phases["insert"]
    print(
        f"  build rows in Python {phases['build']:.1f} s, bulk_create {phases['insert']:.1f} s, commit {commit:.1f} s"
    )
    print(f"  {rows:,} rows, {rows / total:,.0f} rows/s")
    for table, count in summary.as_dict().items():
        print(f"  {table:<17} {count:>9,}")


if __name__ == "__main__":
    main()
