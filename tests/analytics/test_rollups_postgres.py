"""The rollups on PostgreSQL: the night's statements on the repair orders can
be answered by an index, an open transaction holds the watermark back, and two
runs at once take turns."""

import datetime
import threading

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import DailyOrderStats, RollupRun
from analytics.rollups import rollups_run
from tests.analytics.test_rollups import D1, D2, D3, at, order, touch
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = pytest.mark.skipif(
    connection.vendor != "postgresql", reason="PostgreSQL's plans, advisory locks and pg_stat_activity"
)


@pytest.fixture
def cars(dealership, advisor):
    return [VehicleFactory(customer=CustomerFactory(dealership=dealership, advisor=advisor)) for _ in range(3)]


def test_the_nights_statements_on_the_repair_orders_can_use_an_index(cars, advisor):
    rules = {"maintenance": CareRuleFactory(kind="maintenance")}
    recent = timezone.localdate() - datetime.timedelta(days=2)
    task = touch(cars[0].customer, rules, created_on=recent, advisor=advisor)
    for day in (D1, D2, D3):
        for vehicle in cars:
            order(vehicle, at(day), labor="10.00")
    visit = order(cars[0], at(recent, 16), labor="99.00")
    rollups_run()
    order(cars[1], at(D2, 18), labor="5.00")  # a late order
    type(task).objects.filter(pk=task.pk).update(converted_repair_order=visit)

    with CaptureQueriesContext(connection) as queries:
        rollups_run()

    statements = [q["sql"] for q in queries.captured_queries if "service_repairorder" in q["sql"]]
    # Finding the changed orders, their touches, the conversion window, and the recompute.
    assert len(statements) >= 4
    with connection.cursor() as cursor:
        # With sequential scans priced out, the planner still scans the table (or a whole
        # index) where no index condition can narrow the orders read.
        cursor.execute("SET LOCAL enable_seqscan = off")
        for sql in statements:
            cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
            plan = cursor.fetchone()[0][0]["Plan"]
            assert not unbounded_reads(plan, "service_repairorder"), f"{sql}\n{plan}"


def unbounded_reads(node: dict, table: str) -> list[str]:
    """The plan's reads of ``table`` that no index condition bounds."""
    found = []
    if node.get("Relation Name") == table:
        kind = node["Node Type"]
        if kind == "Seq Scan" or (kind in ("Index Scan", "Index Only Scan") and "Index Cond" not in node):
            found.append(kind)
        if kind == "Bitmap Heap Scan" and not all("Index Cond" in child for child in _bitmap_leaves(node)):
            found.append(kind)
    for child in node.get("Plans", []):
        found += unbounded_reads(child, table)
    return found


def _bitmap_leaves(node: dict) -> list[dict]:
    children = node.get("Plans", [])
    if not children:
        return [node]
    return [leaf for child in children for leaf in _bitmap_leaves(child)]


def test_a_transaction_open_during_the_run_holds_the_next_watermark_back(cars):
    opened, finish = threading.Event(), threading.Event()
    began: dict[str, datetime.datetime] = {}

    def desk() -> None:
        # Another connection in the middle of a transaction whose rows commit later.
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("SELECT xact_start FROM pg_stat_activity WHERE pid = pg_backend_pid()")
                began["at"] = cursor.fetchone()[0]
                opened.set()
                finish.wait(30)
        finally:
            connection.close()

    thread = threading.Thread(target=desk)
    thread.start()
    assert opened.wait(30)
    try:
        result = rollups_run()
    finally:
        finish.set()
        thread.join(30)

    assert result.started_at == began["at"]
    assert RollupRun.objects.get().started_at == began["at"]
    # Without one, the run's own start.
    now = timezone.now()
    assert rollups_run(now=now).started_at == now


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_runs_at_once_take_turns(cars):
    for vehicle in cars:
        order(vehicle, at(D1), labor="10.00")
    start = threading.Barrier(2)
    results: list[object] = [None, None]

    def night(n: int) -> None:
        try:
            start.wait()
            results[n] = rollups_run()
        except BaseException as error:  # the assert below tells
            results[n] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=night, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    full, after = sorted(results, key=lambda r: not getattr(r, "full", False))
    assert full.full and not after.full, results
    assert after.since == full.started_at and after.store_days == 0
    assert sum(DailyOrderStats.objects.values_list("visits", flat=True)) == 3
