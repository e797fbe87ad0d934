"""The advisor's queue: one row per customer, ordering, filters, counts,
pagination, the call panel, and the fixed cost of both pages."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from care.models import CareTask, Contact, OutcomeCode
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory


def touch(customer, advisor, rule, *, days: int = 0, channel: str = "call", occasion: str = "", usage=None, **extra):
    when = timezone.localdate() + datetime.timedelta(days=days)
    car = VehicleFactory(customer=customer, **({"usage": usage} if usage else {}))
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind=rule.kind,
        channel=channel,
        occasion=occasion or f"{rule.kind}:{days}:{channel}:{car.pk}",
        event_date=when,
        due_date=when,
        expires_on=when + datetime.timedelta(days=30),
        created_on=when,
        assigned_to=advisor,
        **extra,
    )


@pytest.fixture
def rules(db):
    return {
        "maintenance": CareRuleFactory(kind="maintenance", call_script="{name}{title}，{plate}该保养了（{due_date}）"),
        "insurance": CareRuleFactory(kind="insurance", call_script="车险{due_date}到期"),
        "birthday": CareRuleFactory(kind="birthday", channel="sms", message_template="{name}{title}生日快乐"),
    }


def queue(client, **params):
    return client.get(reverse("care:queue"), params)


def names(response) -> list[str]:
    return [row.customer.name for row in response.context["rows"]]


def test_advisor_lands_on_the_queue_with_one_row_per_customer(client, advisor, customer, rules):
    touch(customer, advisor, rules["maintenance"])
    touch(customer, advisor, rules["insurance"], days=3)  # within the merge window: same call
    touch(customer, advisor, rules["birthday"], channel="sms")  # a message, not a call
    client.force_login(advisor)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("care:queue")
    (row,) = response.context["rows"]
    assert row.customer == customer
    assert [t.kind for t in row.tasks] == ["maintenance", "insurance"]
    page = response.content.decode()
    assert "李雷" in page and 'id="call-panel"' in page


def test_queue_shows_only_the_advisors_own_touches_and_managers_see_the_store(
    client, advisor, manager, customer, rules
):
    colleague = UserFactory(username="colleague", dealership=advisor.dealership)
    other = CustomerFactory(dealership=advisor.dealership, advisor=colleague, name="同事的客户")
    touch(other, colleague, rules["maintenance"])
    touch(customer, advisor, rules["maintenance"])
    client.force_login(advisor)
    assert names(queue(client)) == ["李雷"]
    client.force_login(manager)
    assert sorted(names(queue(client))) == ["同事的客户", "李雷"]
    assert names(queue(client, advisor=colleague.pk)) == ["同事的客户"]


def test_future_touches_wait_and_overdue_ones_stay(client, advisor, dealership, rules):
    late = CustomerFactory(dealership=dealership, advisor=advisor, name="逾期")
    later = CustomerFactory(dealership=dealership, advisor=advisor, name="以后")
    touch(late, advisor, rules["maintenance"], days=-3)
    touch(later, advisor, rules["maintenance"], days=2)
    client.force_login(advisor)
    response = queue(client)
    assert names(response) == ["逾期"]
    assert response.context["rows"][0].overdue


def test_tier_a_and_high_priority_come_first(client, advisor, dealership, rules):
    def person(name, tier, priority, days):
        c = CustomerFactory(dealership=dealership, advisor=advisor, name=name, value_tier=tier)
        touch(c, advisor, rules["maintenance"], days=days, priority=priority)

    person("B高", "B", 90, 0)
    person("A低", "A", 10, 0)
    person("B低早", "B", 10, -5)
    person("B低晚", "B", 10, -1)
    client.force_login(advisor)
    assert names(queue(client)) == ["A低", "B高", "B低早", "B低晚"]


def test_filters_kind_tier_overdue_usage_and_search(client, advisor, dealership, rules):
    a = CustomerFactory(dealership=dealership, advisor=advisor, name="王大", value_tier="A", phone="13900000001")
    b = CustomerFactory(dealership=dealership, advisor=advisor, name="赵二", value_tier="C", phone="13900000002")
    touch(a, advisor, rules["maintenance"], days=-2, usage="commercial")
    touch(b, advisor, rules["insurance"])
    client.force_login(advisor)
    assert names(queue(client, kind="insurance")) == ["赵二"]
    assert names(queue(client, tier="A")) == ["王大"]
    assert names(queue(client, overdue="on")) == ["王大"]
    assert names(queue(client, usage="commercial")) == ["王大"]
    assert names(queue(client, q="赵")) == ["赵二"]
    assert names(queue(client, q="13900000001")) == ["王大"]
    plate = a.vehicles.get().plate_number
    assert names(queue(client, q=plate)) == ["王大"]
    # Bad input is ignored with a message, never a 500.
    response = queue(client, kind="nonsense", tier="Z")
    assert response.status_code == 200 and response.context["form"].errors


def test_counts_by_kind_and_state(client, advisor, dealership, rules):
    a = CustomerFactory(dealership=dealership, advisor=advisor)
    b = CustomerFactory(dealership=dealership, advisor=advisor)
    touch(a, advisor, rules["maintenance"], days=-1)
    touch(a, advisor, rules["insurance"])
    touch(b, advisor, rules["maintenance"])
    Contact.objects.create(dealership=dealership, customer=b, advisor=advisor, notes="昨天打过")
    client.force_login(advisor)
    counts = queue(client).context["view"].counts
    assert (counts.to_do, counts.overdue, counts.done_today) == (2, 1, 1)
    assert [(kind, due, late) for kind, _label, due, late in counts.by_kind] == [
        ("insurance", 1, 0),
        ("maintenance", 2, 1),
    ]


def test_the_queue_pages_by_25_customers(client, advisor, dealership, rules):
    for n in range(26):
        touch(
            CustomerFactory(dealership=dealership, advisor=advisor, name=f"客户{n:02d}"), advisor, rules["maintenance"]
        )
    client.force_login(advisor)
    first = queue(client)
    assert len(first.context["rows"]) == 25 and first.context["view"].page.paginator.num_pages == 2
    assert len(queue(client, page=2).context["rows"]) == 1
    assert queue(client, page="x").status_code == 200  # a bad page number shows the first page


@pytest.mark.parametrize("size", [2, 30])
@pytest.mark.parametrize("role", ["advisor", "manager"])
def test_queue_costs_the_same_queries_at_any_size(
    request, client, advisor, rules, django_assert_max_num_queries, size, role
):
    for i in range(size):
        c = CustomerFactory(dealership=advisor.dealership, advisor=advisor)
        touch(c, advisor, rules["maintenance"], occasion=f"m{i}")
        touch(c, advisor, rules["insurance"], days=2, occasion=f"i{i}")
        touch(c, advisor, rules["birthday"], channel="sms", occasion=f"b{i}")
    client.force_login(request.getfixturevalue(role))
    # session, user, dealership (layout), count, page, touches, counts by kind,
    # overdue, done today, weather banner (+ the advisors list for managers).
    with django_assert_max_num_queries(11):
        response = queue(client)
    assert len(response.context["rows"]) == min(size, 25)


def test_the_call_panel_has_the_script_tel_link_vehicles_contacts_and_orders(client, advisor, customer, rules):
    first = touch(customer, advisor, rules["maintenance"])
    touch(customer, advisor, rules["insurance"], days=1)
    Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor, notes="上次说下周再联系")
    client.force_login(advisor)
    response = client.get(reverse("care:panel", args=[first.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    page = response.content.decode()
    plate = first.vehicle.plate_number
    assert f"李雷先生，{plate}该保养了（{first.due_date.isoformat()}）" in page
    assert "车险" in page and 'href="tel:13912345678"' in page
    assert "上次说下周再联系" in page
    assert "<html" not in page  # a fragment for htmx
    full = client.get(reverse("care:panel", args=[first.pk]))
    assert "<html" in full.content.decode()  # without htmx, a page of its own


def test_the_panel_of_another_dealerships_task_is_404(client, advisor, other_dealership, rules):
    stranger = CustomerFactory(dealership=other_dealership)
    foreign = touch(stranger, None, rules["maintenance"])
    client.force_login(advisor)
    assert client.get(reverse("care:panel", args=[foreign.pk])).status_code == 404
    code = OutcomeCode.objects.get(code="reached")
    assert client.post(reverse("care:log", args=[foreign.pk]), {"code": code.pk}).status_code == 404


@pytest.mark.parametrize("history", [1, 20])
def test_the_panel_costs_the_same_queries_whatever_the_history(
    client, advisor, customer, rules, history, django_assert_max_num_queries
):
    first = touch(customer, advisor, rules["maintenance"])
    for n in range(history):
        touch(customer, advisor, rules["insurance"], days=1 + n % 5, occasion=f"h{n}")
        Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor, notes=f"n{n}")
    client.force_login(advisor)
    with django_assert_max_num_queries(12):
        assert client.get(reverse("care:panel", args=[first.pk]), HTTP_HX_REQUEST="true").status_code == 200


def test_the_panel_costs_a_manager_what_it_costs_the_advisor(client, advisor, manager, customer, rules):
    first = touch(customer, advisor, rules["maintenance"])
    url = reverse("care:panel", args=[first.pk])
    counts = {}
    for user in (advisor, manager):
        client.force_login(user)
        client.get(url, HTTP_HX_REQUEST="true")  # the session is warm for both
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url, HTTP_HX_REQUEST="true").status_code == 200
        counts[user.role] = len(queries)
    # Whose call it is sits in the task's own query: no query for the permission.
    assert counts["advisor"] == counts["manager"]
