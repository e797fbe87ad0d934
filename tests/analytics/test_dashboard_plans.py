"""Every dashboard page on PostgreSQL: the plans of the queries it runs never read the repair
orders without an index condition (no sequential scan of service_repairorder, no whole-index
walk), and the KPI pages do not read the repair orders at all (the rollups only).

A test database is tiny, and the planner would scan its tables whole whatever the indexes: the
plans are asked for with sequential scans priced out (``enable_seqscan = off``), so a query that
no index can answer still shows its scan, and one that an index answers shows the index."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import SurveyResponse
from analytics.rollups import rollups_run
from care.models import CareTask
from complaints.models import ComplaintCategory
from complaints.services import complaint_open
from service.models import RepairOrder, Technician
from tests.analytics.test_rollups_postgres import unbounded_reads
from tests.care.factories import CareRuleFactory
from tests.crm.factories import DealershipFactory, ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

pytestmark = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's plans")

SH = ZoneInfo("Asia/Shanghai")
ORDERS = "service_repairorder"
# The KPI pages: the nightly rollups only.
KPI_PAGES = ["dashboard", "retention", "care", "advisors", "value"]
# Every dashboard page, with the filters a manager sets (a month, a model, a store).
PAGES = [
    *((name, {}) for name in KPI_PAGES),
    ("dashboard", {"period": "range", "start": "2026-10", "end": "2026-11", "tier": "A"}),
    ("tiers", {}),
    ("tiers", {"month": "2026-11", "dimension": "model"}),
    ("complaints", {"month": "2026-11"}),
    ("surveys", {}),
    ("campaigns", {}),
    ("customers", {"metric": "visits"}),
    ("customers", {"metric": "visits", "start": "2026-11", "end": "2026-11", "kind": "maintenance"}),
    ("customers", {"metric": "complaints", "start": "2026-11", "end": "2026-11"}),
    ("customers", {"metric": "csat", "start": "2026-11", "end": "2026-11"}),
]


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


@pytest.fixture
def group(dealership, other_dealership, manager):
    """Three stores with customers, cars, repair orders over two years, complaints on some of
    them, survey answers and care touches; the rollups built."""
    stores = [dealership, other_dealership, DealershipFactory(code="xuhui", name="徐汇4S店")]
    models = [VehicleModelFactory(brand="大众", name=f"车型{i}") for i in range(3)]
    rule = CareRuleFactory(kind="maintenance")
    category = ComplaintCategory.objects.get(code="attitude")
    number = 0
    for s, store in enumerate(stores):
        advisor = UserFactory(dealership=store)
        technician = Technician.objects.create(dealership=store, name=f"技师{s}")
        for c in range(6):
            customer = CustomerFactory(dealership=store, advisor=advisor, value_tier="ABCD"[c % 4])
            car = VehicleFactory(customer=customer, model=models[c % 3])
            for month in range(24):
                number += 1
                opened = at(2025, 1, 1, 9) + datetime.timedelta(days=30 * month + c)
                ro = RepairOrder.objects.create(
                    dealership=store,
                    customer=customer,
                    vehicle=car,
                    advisor=advisor,
                    technician=technician,
                    number=f"RO{number:06d}",
                    kind="maintenance" if month % 2 else "repair",
                    opened_at=opened,
                    closed_at=opened + datetime.timedelta(hours=3),
                    mileage=1000 * month,
                )
            complaint_open(
                customer=customer,
                channel="hotline",
                category=category,
                severity="normal",
                description="等待时间太长",
                by=manager,
                repair_order=ro,
                received_at=at(2026, 11, 3 + c, 10),
            )
            SurveyResponse.objects.create(
                dealership=store,
                customer=customer,
                advisor=advisor,
                kind="post_service",
                channel="sms",
                csat=3 + c % 3,
                nps=5 + c,
                answered_at=at(2026, 11, 10 + c, 12),
            )
            CareTask.objects.create(
                dealership=store,
                customer=customer,
                vehicle=car,
                rule=rule,
                kind="maintenance",
                channel="call",
                occasion=f"maintenance:{customer.pk}",
                event_date=datetime.date(2026, 11, 1),
                due_date=datetime.date(2026, 11, 5),
                expires_on=datetime.date(2026, 12, 30),
                created_on=datetime.date(2026, 11, 1),
                assigned_to=advisor,
            )
    rollups_run(full=True)
    return stores


def _statements(client, user, name: str, params: dict) -> list[str]:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse(f"analytics:{name}"), params)
    assert response.status_code == 200, (name, params)
    statements = []
    for query in queries.captured_queries:
        sql = query["sql"]
        if sql.startswith("DECLARE"):  # a server-side cursor (a form's choices): its SELECT
            sql = sql.split(" FOR ", 1)[1]
        if sql.lstrip().upper().startswith(("SELECT", "WITH")):
            statements.append(sql)
    return statements


def _plan(sql: str) -> dict:
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN (FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0][0]["Plan"]
        cursor.execute("SET LOCAL enable_seqscan = on")
    return plan


# The pages whose queries do read the repair orders (live), so the check below is not empty there.
READ_ORDERS = {("complaints", "month"), ("customers", "metric")}


@pytest.mark.parametrize(("name", "params"), PAGES, ids=[f"{n}-{'-'.join(p)}" for n, p in PAGES])
def test_no_page_reads_the_repair_orders_without_an_index(client, manager, group_admin, group, name, params):
    for user in (manager, group_admin):
        statements = _statements(client, user, name, params)
        assert statements, name
        on_orders = [sql for sql in statements if ORDERS in sql]
        if (name, next(iter(params), "")) in READ_ORDERS and params.get("metric", "visits") == "visits":
            assert on_orders, f"{name} {params}: no query of the repair orders to check"
        for sql in on_orders:
            plan = _plan(sql)
            assert not unbounded_reads(plan, ORDERS), f"{user}: {name} {params}\n{sql}\n{plan}"


def test_the_check_catches_a_read_no_index_answers(group):
    # No index has the amount: the plan scans the orders even with sequential scans priced out.
    plan = _plan(f"SELECT count(*) FROM {ORDERS} WHERE total_amount > 100")
    assert unbounded_reads(plan, ORDERS)


@pytest.mark.parametrize("name", KPI_PAGES)
def test_the_kpi_pages_read_the_rollups_not_the_repair_orders(client, manager, group_admin, group, name):
    for user in (manager, group_admin, ManagerFactory(dealership=group[2])):
        statements = _statements(client, user, name, {"model": "", "tier": ""})
        assert not [sql for sql in statements if ORDERS in sql], name
