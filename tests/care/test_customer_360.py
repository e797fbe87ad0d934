"""The customer 360: profile, observations, vehicles, visits, contacts, touches
and messages on one page at a fixed cost; editing the card and the cars."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from care.engine.services import care_tasks_expire
from care.models import CareTask, Contact, Outbox, OutcomeCode
from care.touches.services import care_tasks_transition
from care.workspace.services import CallOutcome, care_call_log
from customers.models import ConsentChange, Customer
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle


def history(customer, advisor, n: int) -> None:
    rule = CareRuleFactory(kind="maintenance", name=f"rule-{n}")
    today = timezone.localdate()
    for i in range(n):
        car = VehicleFactory(customer=customer)
        CareTask.objects.create(
            dealership=customer.dealership,
            customer=customer,
            vehicle=car,
            rule=rule,
            kind="maintenance",
            channel="call",
            occasion=f"m{i}",
            event_date=today,
            due_date=today,
            expires_on=today,
            created_on=today,
            assigned_to=advisor,
            status="done" if i % 2 else "open",
            outcome="booked" if i % 2 else "",
        )
        Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor, notes=f"第{i}次沟通")
        Outbox.objects.create(
            dealership=customer.dealership,
            customer=customer,
            kind="birthday",
            purpose="marketing",
            channel="sms",
            recipient=customer.phone,
            template_key="birthday/1",
            body="生日快乐",
            send_after=timezone.now(),
        )


def test_the_page_shows_contacts_touches_and_messages(client, advisor, customer):
    customer.traits = "爽快，重视效率"
    customer.save()
    history(customer, advisor, 2)
    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "爽快，重视效率" in page
    assert "第0次沟通" in page and "第1次沟通" in page
    assert 'id="touches"' in page and 'id="message-timeline"' in page
    assert reverse("care:contact-new", args=[customer.pk]) in page
    assert reverse("customers:edit", args=[customer.pk]) in page
    assert "3101**********" not in page or customer.id_number_masked in page  # never the full number


@pytest.mark.parametrize("size", [1, 15])
def test_the_360_costs_the_same_queries_whatever_the_history(
    client, advisor, customer, size, django_assert_max_num_queries
):
    history(customer, advisor, size)
    client.force_login(advisor)
    # As tests/crm/test_pages.py counts them (12, with no touches there), and one
    # for the history of the closed touches: 13, whatever the history.
    with django_assert_max_num_queries(13):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    assert response.content.decode().count("次沟通") == size


def card(customer, **changes) -> dict:
    data = {
        "name": customer.name,
        "phone": customer.phone,
        "id_number": "",
        "gender": customer.gender,
        "city": customer.city,
        "preferred_channel": customer.preferred_channel,
        "source": customer.source,
        "advisor": customer.advisor_id or "",
    }
    return {**data, **changes}


def test_editing_the_card_validates_and_records_consent(client, advisor, customer):
    client.force_login(advisor)
    url = reverse("customers:edit", args=[customer.pk])
    assert client.get(url).status_code == 200
    bad = client.post(url, card(customer, phone="12345", id_number="310101199013011234"))
    assert bad.status_code == 400
    assert set(bad.context["form"].errors) == {"phone", "id_number"}
    assert Customer.objects.get(pk=customer.pk).phone == "13912345678"  # nothing saved

    response = client.post(url, card(customer, phone="+86 139 0000 1111", marketing_consent="on", traits="喜欢自驾游"))
    assert response.status_code == 302
    customer.refresh_from_db()
    assert (customer.phone, customer.traits, customer.marketing_consent) == ("13900001111", "喜欢自驾游", True)
    change = ConsentChange.objects.get()
    assert (change.granted, change.source, change.recorded_by) == (True, "advisor", advisor)


def test_an_advisor_of_another_store_cannot_be_chosen(client, advisor, customer, other_dealership):
    from tests.crm.factories import UserFactory

    stranger = UserFactory(username="stranger", dealership=other_dealership)
    client.force_login(advisor)
    response = client.post(reverse("customers:edit", args=[customer.pk]), card(customer, advisor=stranger.pk))
    assert response.status_code == 400 and "advisor" in response.context["form"].errors


def test_editing_a_vehicle(client, advisor, customer, other_dealership):
    car = VehicleFactory(customer=customer, plate_number="沪A12345")
    client.force_login(advisor)
    url = reverse("vehicles:edit", args=[car.pk])
    data = {"plate_number": "沪A 99999", "usage": "private", "status": "active", "insurance_expiry_date": "2027-03-01"}
    bad = client.post(url, {**data, "plate_number": "ABC"})
    assert bad.status_code == 400 and "plate_number" in bad.context["form"].errors
    assert client.post(url, data).status_code == 302
    car.refresh_from_db()
    assert (car.plate_number, car.insurance_expiry_date) == ("沪A99999", datetime.date(2027, 3, 1))
    foreign = VehicleFactory(customer=CustomerFactory(dealership=other_dealership))
    assert client.get(reverse("vehicles:edit", args=[foreign.pk])).status_code == 404
    assert client.post(reverse("vehicles:edit", args=[foreign.pk]), data).status_code == 404
    assert Vehicle.objects.get(pk=foreign.pk).plate_number != "沪A99999"


# --- Each closed touch's history -----------------------------------------------------------

SH = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime.date(2026, 6, 5)
NOW = datetime.datetime(2026, 6, 5, 10, 2, tzinfo=SH)


def call_touch(customer, rule, due: datetime.date, *, expires: datetime.date | None = None) -> CareTask:
    car = VehicleFactory(customer=customer)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind=rule.kind,
        channel="call",
        occasion=f"{rule.kind}:{due}:{car.pk}",
        event_date=due,
        due_date=due,
        expires_on=expires or due + datetime.timedelta(days=10),
        created_on=due,
        assigned_to=customer.advisor,
    )


def test_each_closed_touch_shows_its_history(client, advisor, customer):
    advisor.last_name, advisor.first_name = "王", "芳"
    advisor.save()
    maintenance, insurance = CareRuleFactory(kind="maintenance"), CareRuleFactory(kind="insurance")
    # One call about two reasons, logged at 10:02 as reached (the outcome code's label is the reason);
    called = call_touch(customer, maintenance, FRIDAY)
    call_touch(customer, insurance, FRIDAY + datetime.timedelta(days=3))
    care_call_log(task=called, outcome=CallOutcome(code=OutcomeCode.objects.get(code="reached")), by=advisor, now=NOW)
    # a touch the morning run expires (2026-05-20 is before 2026-06-01), and one still open.
    call_touch(customer, maintenance, datetime.date(2026, 5, 10), expires=datetime.date(2026, 5, 20))
    care_tasks_expire(day=datetime.date(2026, 6, 1))
    call_touch(customer, insurance, FRIDAY + datetime.timedelta(days=30))

    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert page.count("<li><small>2026-06-05 10:02 待跟进 → 已完成 · 已沟通，无需跟进 · 王芳</small></li>") == 2
    expired = re.findall(
        r"<li><small>\d{4}-\d\d-\d\d \d\d:\d\d 待跟进 → 已取消 · 已过期 · 每日自动任务</small></li>", page
    )
    assert len(expired) == 1
    assert page.count('<tr class="history">') == 3
    # The open touch reads 待跟进 (the bare "Open" is a repair order's 在修).
    assert '<tr class="open">' in page and "在修" not in page


@pytest.mark.parametrize("size", [1, 8])
def test_the_touches_history_costs_one_query_whatever_its_length(
    client, advisor, customer, size, django_assert_max_num_queries
):
    rule = CareRuleFactory(kind="maintenance")
    for i in range(size):
        task = call_touch(customer, rule, FRIDAY + datetime.timedelta(days=20 * i))
        care_tasks_transition(
            tasks=CareTask.objects.filter(pk=task.pk), to="done", outcome="reached", by=advisor, now=NOW
        )
    client.force_login(advisor)
    with django_assert_max_num_queries(13):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.content.decode().count('<tr class="history">') == size
