"""The drill-down (/analytics/customers/): the live, paginated list of the customers behind a
figure of the KPI pages, from the source rows the rollups count."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from analytics.models import Survey, SurveyResponse
from care.models import CareTask, Contact
from customers.models import ChurnEvent
from service.models import RepairOrder
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

SH = ZoneInfo("Asia/Shanghai")
URL = reverse("analytics:customers")
MAY = {"start": "2025-05", "end": "2025-05"}


def local(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


_numbers = iter(range(1, 10**6))


def order(customer, opened, *, kind="maintenance", payer="customer", closed=True, voided=False, vehicle=None):
    vehicle = vehicle or customer.vehicles.first() or VehicleFactory(customer=customer)
    return RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=vehicle,
        number=f"RO{next(_numbers)}",
        kind=kind,
        payer=payer,
        opened_at=opened,
        closed_at=opened + datetime.timedelta(hours=5) if closed else None,
        voided_at=opened + datetime.timedelta(hours=6) if voided else None,
        mileage=1000,
    )


def listed(response) -> list[str]:
    return [row[0] for row in response.context["table"].rows]


def get(client, user, **params):
    client.force_login(user)
    return client.get(URL, params, HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def visits(dealership, other_dealership):
    """Customers with orders at Pudong around May 2025 (local time; the month's edges are local midnights)."""
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    people = {name: CustomerFactory(dealership=dealership, name=name) for name in ["甲", "乙", "丙", "丁", "戊", "己"]}
    VehicleFactory(customer=people["甲"], model=passat)
    order(people["甲"], local(2025, 5, 1, 0, 30))  # just inside May, local
    order(people["甲"], local(2025, 5, 20, 9))  # twice in May: listed once
    order(people["乙"], local(2025, 5, 31, 23, 0), kind="repair", payer="insurer")
    order(people["丙"], local(2025, 5, 10, 9), voided=True)  # voided: not a visit
    order(people["丁"], local(2025, 5, 10, 9), closed=False)  # still open: not counted yet
    order(people["戊"], local(2025, 4, 30, 23, 30))  # April, local
    order(people["己"], local(2025, 6, 1, 0, 0))  # June
    outsider = CustomerFactory(dealership=other_dealership, name="外店")
    order(outsider, local(2025, 5, 10, 9))
    return people


def test_the_customers_with_visits_in_a_month(client, manager, visits):
    response = get(client, manager, metric="visits", **MAY)
    assert response.status_code == 200
    assert listed(response) == ["乙", "甲"]  # by name (乙 sorts before 甲 by code point)
    assert response.context["page"].paginator.count == 2
    assert "Customers with returning visits · 2025-05" in response.content.decode()


def test_visits_narrowed_by_kind_payer_and_model(client, manager, visits):
    assert listed(get(client, manager, metric="visits", kind="repair", **MAY)) == ["乙"]
    assert listed(get(client, manager, metric="visits", payer="customer", **MAY)) == ["甲"]
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    assert listed(get(client, manager, metric="visits", model=passat.pk, **MAY)) == ["甲"]


def test_another_stores_customers_never_show(client, manager, other_manager, group_admin, visits, dealership):
    assert listed(get(client, other_manager, metric="visits", **MAY)) == ["外店"]
    # A store's manager naming another store is ignored: their own store.
    other = other_manager.dealership_id
    assert listed(get(client, manager, metric="visits", dealership=other, **MAY)) == ["乙", "甲"]
    assert listed(get(client, group_admin, metric="visits", **MAY)) == ["乙", "外店", "甲"]
    assert listed(get(client, group_admin, metric="visits", dealership=dealership.pk, **MAY)) == ["乙", "甲"]


def test_each_customer_links_to_their_page(client, manager, visits):
    html = get(client, manager, metric="visits", **MAY).content.decode()
    assert f'href="{reverse("customers:detail", args=[visits["甲"].pk])}"' in html


def test_the_lost_customers_of_a_month(client, manager, dealership, other_dealership):
    lost, recovered, april = (CustomerFactory(dealership=dealership, name=n) for n in ["流失", "挽回", "四月"])
    ChurnEvent.objects.create(customer=lost, day=datetime.date(2025, 5, 3), from_state="at_risk", to_state="lost")
    ChurnEvent.objects.create(
        customer=recovered, day=datetime.date(2025, 5, 9), from_state="lost", to_state="active", recovered=True
    )
    ChurnEvent.objects.create(customer=april, day=datetime.date(2025, 4, 30), from_state="at_risk", to_state="lost")
    outsider = CustomerFactory(dealership=other_dealership)
    ChurnEvent.objects.create(customer=outsider, day=datetime.date(2025, 5, 3), from_state="at_risk", to_state="lost")
    assert listed(get(client, manager, metric="lost", **MAY)) == ["流失"]
    assert listed(get(client, manager, metric="recovered", **MAY)) == ["挽回"]


def test_the_detractors_returning_and_lapsed(client, manager, dealership):
    def answer(name, nps, kind=Survey.Kind.POST_SERVICE, at=None):
        at = at or local(2025, 5, 12, 10)
        customer = CustomerFactory(dealership=dealership, name=name)
        SurveyResponse.objects.create(
            dealership=dealership, customer=customer, kind=kind, channel="sms", nps=nps, answered_at=at
        )

    answer("不满", 3)
    answer("满意", 10)
    answer("中立", 7)
    answer("流失不满", 0, kind=Survey.Kind.LAPSED)
    answer("六月不满", 2, at=local(2025, 6, 1, 0, 5))
    assert listed(get(client, manager, metric="detractors", group="returning", **MAY)) == ["不满"]
    assert listed(get(client, manager, metric="detractors", group="lapsed", **MAY)) == ["流失不满"]
    assert sorted(listed(get(client, manager, metric="detractors", group="all", **MAY))) == ["不满", "流失不满"]
    assert listed(get(client, manager, metric="passives", **MAY)) == ["中立"]
    assert listed(get(client, manager, metric="promoters", **MAY)) == ["满意"]


def test_the_care_touches_that_arrived_by_advisor(client, manager, dealership):
    li = UserFactory(username="li", dealership=dealership)
    rule = CareRuleFactory(kind="maintenance")

    def touch(name, *, advisor=li, created_on=datetime.date(2025, 5, 6), arrived=False, reached=None):
        customer = CustomerFactory(dealership=dealership, name=name)
        visit = order(customer, local(2025, 5, 20, 9)) if arrived else None
        task = CareTask.objects.create(
            dealership=dealership,
            customer=customer,
            rule=rule,
            kind="maintenance",
            channel="call",
            occasion=f"maintenance:{name}",
            event_date=created_on,
            due_date=created_on,
            expires_on=created_on + datetime.timedelta(days=14),
            created_on=created_on,
            assigned_to=advisor,
            converted_repair_order=visit,
        )
        if reached is not None:
            contact = Contact.objects.create(dealership=dealership, customer=customer, advisor=advisor, reached=reached)
            contact.tasks.add(task)
        return task

    touch("来了", arrived=True, reached=True)
    touch("接通", reached=True)
    touch("未接通", reached=False)
    touch("别人的", advisor=None, arrived=True)
    touch("六月", created_on=datetime.date(2025, 6, 2), arrived=True)
    care = {"metric": "care", "kind": "maintenance", **MAY}
    arrived = get(client, manager, stage="arrived", advisor=li.pk, **care)
    assert listed(arrived) == ["来了"]
    assert arrived.context["title"] == f"Customers of the care touches · 2025-05 · Maintenance due · Arrived · {li}"
    assert sorted(listed(get(client, manager, stage="reached", advisor=li.pk, **care))) == ["接通", "来了"]
    assert len(listed(get(client, manager, stage="contacted", advisor=li.pk, **care))) == 3
    assert listed(get(client, manager, stage="arrived", advisor="none", **care)) == ["别人的"]
    assert len(listed(get(client, manager, stage="generated", **care))) == 4


# --- Errors and access -----------------------------------------------------------------------------


def test_advisors_are_refused(client, advisor):
    assert get(client, advisor, metric="visits").status_code == 403


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "Say which figure's customers to list."),
        ({"metric": "gold"}, "There is no such figure to list the customers of."),
    ],
)
def test_without_a_valid_figure_the_page_says_so(client, manager, params, message):
    response = get(client, manager, **params)
    assert response.status_code == 400
    assert message in response.context["problems"]


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": "picnic"}, "There is no such kind."),
        ({"stage": "married"}, "There is no such stage of the care funnel."),
        ({"advisor": "li"}, "Choose an advisor from the list."),
        ({"start": "2025-99"}, "Give the month as YYYY-MM, e.g. 2025-05."),
    ],
)
def test_bad_narrowing_is_reported_not_a_500(client, manager, params, message):
    response = get(client, manager, metric="visits", **params)
    assert response.status_code == 200
    assert message in response.context["problems"]


# --- Pagination and query counts -------------------------------------------------------------------


def _customers_with_a_may_visit(dealership, n: int) -> None:
    for _i in range(n):
        order(CustomerFactory(dealership=dealership), local(2025, 5, 15, 9))


def _queries(client, user, **params) -> int:
    client.force_login(user)
    with CaptureQueriesContext(connection) as queries:
        assert client.get(URL, params).status_code == 200
    return len(queries)


def test_pages_of_50_and_a_fixed_query_count(client, manager, group_admin, dealership, django_assert_max_num_queries):
    _customers_with_a_may_visit(dealership, 3)
    small = _queries(client, manager, metric="visits", **MAY)
    small_group = _queries(client, group_admin, metric="visits", **MAY)
    _customers_with_a_may_visit(dealership, 60)
    # session, user, holiday banner; the count and the page (customers with advisor and store joined).
    client.force_login(manager)
    with django_assert_max_num_queries(6):
        response = client.get(URL, {"metric": "visits", **MAY})
    assert response.context["page"].paginator.count == 63
    assert len(response.context["table"].rows) == 50
    assert _queries(client, manager, metric="visits", **MAY) == small
    assert _queries(client, manager, metric="visits", page=2, **MAY) == small
    assert len(get(client, manager, metric="visits", page=2, **MAY).context["table"].rows) == 13
    # A group user: the list of stores to read (and to choose from).
    assert _queries(client, group_admin, metric="visits", **MAY) == small_group <= small + 2


# --- The plan ---------------------------------------------------------------------------------------


def _plan(queryset) -> str:
    sql, params = queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        # A test database is tiny: the planner would scan it whole whatever the indexes. Without
        # sequential scans it must show an index that answers the query, or pay a scan anyway.
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute(f"EXPLAIN {sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.django_db(transaction=False)
def test_the_visits_drill_down_reads_the_repair_orders_by_store_and_opening_time(manager, group_admin, visits):
    if connection.vendor != "postgresql":
        pytest.skip("EXPLAIN plans are PostgreSQL's; the suite runs there too")
    from analytics.kpis import DrillFilters, KpiFilters, drilldown_customers

    may = KpiFilters(start=datetime.date(2025, 5, 1), end=datetime.date(2025, 5, 1))
    for user in (manager, group_admin):
        customers = drilldown_customers(user=user, drill=DrillFilters(metric="visits", period=may), today=may.until)
        plan = _plan(customers)
        assert "ro_store_opened" in plan, plan
        assert "Seq Scan on service_repairorder" not in plan, plan
