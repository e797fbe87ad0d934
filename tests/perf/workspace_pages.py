"""Time the workspace pages (care queue, customer page) on a big demo database.

    .venv/bin/python tests/perf/workspace_pages.py                     # 50,000 customers, about a few minutes
    .venv/bin/python tests/perf/workspace_pages.py --customers 3000    # a quick look
    .venv/bin/python tests/perf/workspace_pages.py --reuse             # keep the database of a previous run

Not a test (pytest does not collect it): it measures and prints. The PostgreSQL
database ``crm_perf_workspace`` (127.0.0.1:5432, user postgres) is dropped,
created, migrated and seeded with ``seed_demo`` (timed apart, not part of the
figures), then the morning care run for the day. Then, with
``django.test.Client`` in this process (so the time is the server's: URL
resolution, middleware, session, queries, templates):

- ``/care/queue/`` 60 times as the advisor with the most open touches due by
  the day and 60 times as a manager of the same store; the first 10 of each
  are warm-up and not counted;
- ``/customers/<id>/`` once for each of the 200 customers with the most repair
  orders, as the customer's advisor (or a manager of the store), after 10
  warm-up requests on the next customers of that list.

For each page: requests counted, p50, p95 and max in ms, the SQL queries of
one request and the size of the page. Target: p95 under 100 ms.

The pages see the seeded day as today (``timezone.localdate()`` is pinned to
``--today``), so the figures do not drift with the calendar. DEBUG is off, as
in production.
"""

import argparse
import datetime
import math
import os
import sys
import time
from pathlib import Path
from unittest import mock

ROOT = Path(__file__).resolve().parents[2]
DATABASE = "crm_perf_workspace"
SERVER = "postgresql://postgres@127.0.0.1:5432"
QUEUE_REQUESTS = 60
WARM_UP = 10
CUSTOMER_PAGES = 200
TARGET_P95_MS = 100.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=50_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=datetime.date(2026, 11, 23))
    parser.add_argument(
        "--reuse", action="store_true", help=f"keep {DATABASE} when it already holds data (no drop, no seeding)"
    )
    return parser.parse_args()


def database_exists() -> bool:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [DATABASE]).fetchone() is not None


def recreate_database() -> None:
    import psycopg

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {DATABASE}")


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "crm.settings.local"
    os.environ["DATABASE_URL"] = f"{SERVER}/{DATABASE}"
    os.environ["CRM_LOG_LEVEL"] = "WARNING"
    os.environ["DJANGO_DEBUG"] = "false"
    reuse = args.reuse and database_exists()

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection

    from customers.models import Customer

    if "localhost" not in settings.ALLOWED_HOSTS:
        settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "localhost"]
    reuse = reuse and Customer._meta.db_table in connection.introspection.table_names() and Customer.objects.exists()
    if reuse:
        print(f"reusing {DATABASE}: {Customer.objects.count():,} customers (--customers ignored)")
    else:
        connection.close()
        recreate_database()
    prepare(args, seed=not reuse)
    measure(args.today)


def prepare(args: argparse.Namespace, *, seed: bool) -> None:
    from django.core.management import call_command
    from django.db import connection

    from care.engine.services import care_tasks_generate
    from demo.services import seed_demo

    started = time.perf_counter()
    call_command("migrate", verbosity=0)
    print(f"{connection.vendor} {connection.settings_dict['NAME']}: migrated in {time.perf_counter() - started:.1f} s")
    if seed:
        started = time.perf_counter()
        summary = seed_demo(customers=args.customers, seed=args.seed, today=args.today)
        rows = sum(summary.as_dict().values())
        print(
            f"seed_demo(customers={args.customers:,}, seed={args.seed}, today={args.today}): "
            f"{time.perf_counter() - started:.1f} s, {rows:,} rows (not part of the figures)"
        )
    started = time.perf_counter()
    report = care_tasks_generate(day=args.today)
    print(
        f"care_tasks_generate(day={args.today}): {time.perf_counter() - started:.1f} s, "
        f"{report.total_created:,} touches created"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")


def measure(day: datetime.date) -> None:
    from django.db.models import Count, Q
    from django.utils import timezone

    from care.models import CareTask
    from crm.models import User
    from customers.models import Customer

    due = Q(status=CareTask.Status.OPEN, due_date__lte=day)
    busiest = (
        CareTask.objects.filter(due, assigned_to__role=User.Role.ADVISOR)
        .values("assigned_to")
        .annotate(n=Count("pk"))
        .order_by("-n", "assigned_to")
        .first()
    )
    if busiest is None:
        sys.exit(f"no open touch is due by {day} for an advisor: nothing to measure")
    advisor = User.objects.select_related("dealership").get(pk=busiest["assigned_to"])
    manager = User.objects.filter(role=User.Role.MANAGER, dealership=advisor.dealership_id).order_by("pk").first()
    if manager is None:
        sys.exit(f"{advisor.dealership} has no manager")
    store_due = CareTask.objects.filter(due, dealership=advisor.dealership_id)
    for who, touches in ((advisor, store_due.filter(assigned_to=advisor)), (manager, store_due)):
        customers = touches.values("customer").distinct().count()
        print(
            f"queue of {who.username} ({who.role}, {advisor.dealership.name}): {touches.count():,} open touches "
            f"due by {day} for {customers:,} customers"
        )

    # The customers with the most history, in one aggregate query: 10 for the
    # warm-up (the last of the list), then the 200 that are timed.
    ranked = list(
        Customer.objects.annotate(orders=Count("repair_orders"))
        .order_by("-orders", "pk")
        .values_list("pk", "dealership_id", "advisor_id", "advisor__dealership_id", "orders")[
            : CUSTOMER_PAGES + WARM_UP
        ]
    )
    if len(ranked) < CUSTOMER_PAGES + WARM_UP:
        sys.exit(f"only {len(ranked)} customers; {CUSTOMER_PAGES + WARM_UP} needed")
    timed, warm_up = ranked[:CUSTOMER_PAGES], ranked[CUSTOMER_PAGES:]
    print(
        f"customer pages: {CUSTOMER_PAGES} customers with {timed[-1][4]}–{timed[0][4]} repair orders "
        f"({sum(row[4] for row in timed) / len(timed):.1f} on average)"
    )

    clients = Clients()
    store_managers: dict[int, int] = {}
    for store, manager_id in (
        User.objects.filter(role=User.Role.MANAGER, dealership__isnull=False)
        .order_by("pk")
        .values_list("dealership_id", "pk")
    ):
        store_managers.setdefault(store, manager_id)

    def customer_client(row):
        _pk, store, advisor_id, advisor_store, _orders = row
        if advisor_id and advisor_store == store:
            return clients.get(advisor_id)
        return clients.get(store_managers[store])

    results = []
    real_localdate = timezone.localdate

    def pinned_localdate(value=None, timezone=None):
        return day if value is None else real_localdate(value, timezone)

    with mock.patch.object(timezone, "localdate", pinned_localdate):
        for who in (advisor, manager):
            client = clients.get(who.pk)
            requests = [(client, "/care/queue/")] * QUEUE_REQUESTS
            results.append(run_page(f"/care/queue/ as {who.role}", requests))
        requests = [(customer_client(row), f"/customers/{row[0]}/") for row in warm_up + timed]
        results.append(run_page(f"/customers/<id>/ ×{CUSTOMER_PAGES}", requests))

    print()
    print(f"{'page':<28} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'queries':>8} {'KB':>7}")
    for r in results:
        flag = "" if r["p95"] < TARGET_P95_MS else f"  over the {TARGET_P95_MS:.0f} ms target"
        print(
            f"{r['page']:<28} {r['requests']:>8} {r['p50']:>8.1f} {r['p95']:>8.1f} {r['max']:>8.1f} "
            f"{r['queries']:>8} {r['kb']:>7.1f}{flag}"
        )
    print(f"target: p95 under {TARGET_P95_MS:.0f} ms; first {WARM_UP} requests of each page not counted")


class Clients:
    """One logged-in ``django.test.Client`` per user."""

    def __init__(self) -> None:
        self._by_user: dict = {}

    def get(self, user_id: int):
        from django.test import Client

        from crm.models import User

        if user_id not in self._by_user:
            client = Client(SERVER_NAME="localhost")
            client.force_login(User.objects.get(pk=user_id))
            self._by_user[user_id] = client
        return self._by_user[user_id]


def run_page(page: str, requests: list[tuple[object, str]]) -> dict:
    """Time each request (the first ``WARM_UP`` are not counted), then count one request's queries."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    timings = []
    for index, (client, url) in enumerate(requests):
        started = time.perf_counter()
        response = client.get(url)
        elapsed = (time.perf_counter() - started) * 1000
        check(response, url)
        if index >= WARM_UP:
            timings.append(elapsed)
    # Counted apart: capturing queries slows the request it watches.
    client, url = requests[WARM_UP]
    with CaptureQueriesContext(connection) as queries:
        response = client.get(url)
    check(response, url)
    timings.sort()
    return {
        "page": page,
        "requests": len(timings),
        "p50": percentile(timings, 50),
        "p95": percentile(timings, 95),
        "max": timings[-1],
        "queries": len(queries),
        "kb": len(response.content) / 1024,
    }


def check(response, url: str) -> None:
    if response.status_code != 200:
        sys.exit(f"GET {url}: {response.status_code}, 200 expected")


def percentile(ordered: list[float], p: float) -> float:
    """Nearest rank: the smallest value with at least p % of the values at or below it."""
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


if __name__ == "__main__":
    main()
