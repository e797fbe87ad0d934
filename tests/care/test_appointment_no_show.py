import datetime

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from care.engine.services import care_tasks_generate
from care.models import CareOptOut, CareTask
from care.tasks import mark_no_shows_task
from customers.models import Customer
from service.models import Appointment, RepairOrder
from service.services import appointment_mark_arrived, repair_order_open
from tests.care.conftest import SH
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date
DAY = D(2026, 5, 11)
SLOT = datetime.datetime(2026, 5, 11, 9, 0, tzinfo=SH)


def minutes(n: int) -> datetime.timedelta:
    return datetime.timedelta(minutes=n)


def no_show_rule(**kwargs):
    defaults = {"lead_days": 0, "expiry_days": 7, "priority": 80, "call_script": "{name}{title}，您今天的预约没来"}
    return CareRuleFactory(kind="appointment_no_show", **{**defaults, **kwargs})


def book(customer, vehicle=None, when: datetime.datetime = SLOT, **kwargs) -> Appointment:
    return Appointment.objects.create(
        dealership=customer.dealership, customer=customer, vehicle=vehicle, scheduled_at=when, **kwargs
    )


@pytest.fixture
def run_task(monkeypatch):
    """The beat task, as if it ran at ``now``."""

    def run(now: datetime.datetime) -> dict:
        monkeypatch.setattr(timezone, "now", lambda: now)
        return mark_no_shows_task()

    return run


def touch_rows():
    return list(
        CareTask.objects.order_by("pk").values_list(
            "kind", "occasion", "event_date", "due_date", "expires_on", "appointment_id", "vehicle_id", "assigned_to_id"
        )
    )


def test_59_minutes_after_the_slot_nothing_61_minutes_a_no_show_and_one_call(customer, vehicle, advisor, run_task):
    no_show_rule()
    colleague = UserFactory(username="colleague", dealership=customer.dealership)
    appointment = book(customer, vehicle, advisor=colleague, status=Appointment.Status.CONFIRMED)

    assert run_task(SLOT + minutes(59)) == {"linked": 0, "no_shows": 0, "closed": 0, "touches": 0}
    assert Appointment.objects.get().status == "confirmed"
    assert CareTask.objects.count() == 0

    assert run_task(SLOT + minutes(61)) == {"linked": 0, "no_shows": 1, "closed": 0, "touches": 1}
    assert Appointment.objects.get().status == "no_show"
    # About 2026-05-11, called that day, expiring 7 days later (2026-05-18); the
    # appointment's advisor calls, not the customer's.
    assert touch_rows() == [
        (
            "appointment_no_show",
            f"appointment-no-show:{appointment.pk}",
            D(2026, 5, 11),
            D(2026, 5, 11),
            D(2026, 5, 18),
            appointment.pk,
            vehicle.pk,
            colleague.pk,
        )
    ]
    task = CareTask.objects.get()
    assert (task.status, task.channel, task.created_on) == ("open", "call", DAY)


def test_a_second_run_creates_nothing(customer, vehicle, run_task):
    no_show_rule()
    book(customer, vehicle)
    assert run_task(SLOT + minutes(61))["touches"] == 1
    assert run_task(SLOT + minutes(76)) == {"linked": 0, "no_shows": 0, "closed": 0, "touches": 0}
    # The next morning's run does not make it again either.
    care_tasks_generate(day=DAY + datetime.timedelta(days=1))
    assert CareTask.objects.count() == 1


def test_the_customers_advisor_calls_when_the_appointment_has_none(customer, advisor, run_task):
    no_show_rule()
    appointment = book(customer)  # and no car: a customer-level touch
    run_task(SLOT + minutes(61))
    assert [(t.appointment_id, t.vehicle_id, t.assigned_to_id) for t in CareTask.objects.all()] == [
        (appointment.pk, None, advisor.pk)
    ]


def test_an_appointment_that_arrived_is_never_a_no_show(customer, vehicle, advisor, run_task):
    no_show_rule()
    other_car = VehicleFactory(customer=customer)
    at_the_desk = book(customer, vehicle)
    appointment_mark_arrived(appointment=at_the_desk, by=advisor, now=SLOT + minutes(5))
    # A repair order opened for the car: linked, hence arrived.
    with_order = book(customer, other_car, when=SLOT + minutes(30))
    repair_order_open(vehicle=other_car, number="RO-1", kind="repair", opened_at=SLOT + minutes(40), mileage=100)
    cancelled = book(customer, vehicle, status=Appointment.Status.CANCELLED)

    assert run_task(SLOT + minutes(24 * 60))["no_shows"] == 0
    assert {a.pk: a.status for a in Appointment.objects.all()} == {
        at_the_desk.pk: "arrived",
        with_order.pk: "arrived",
        cancelled.pk: "cancelled",
    }
    assert CareTask.objects.count() == 0


def test_todays_imported_order_is_linked_before_anyone_is_a_no_show(customer, vehicle, run_task):
    no_show_rule()
    appointment = book(customer, vehicle)
    # The DMS import wrote the order; nothing marked the arrival at the desk.
    order = RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=vehicle,
        number="DMS-1",
        kind="maintenance",
        opened_at=SLOT + minutes(20),
        mileage=100,
    )
    assert run_task(SLOT + minutes(61)) == {"linked": 1, "no_shows": 0, "closed": 0, "touches": 0}
    appointment.refresh_from_db()
    assert (appointment.status, appointment.repair_order_id) == ("arrived", order.pk)


def test_marking_arrived_later_closes_the_call(customer, vehicle, advisor, run_task):
    no_show_rule()
    appointment = book(customer, vehicle)
    run_task(SLOT + minutes(61))
    assert CareTask.objects.get().status == "open"

    # The customer turns up at 10:30, an hour and a half late.
    late = SLOT + minutes(90)
    appointment_mark_arrived(appointment=appointment, by=advisor, now=late)

    task = CareTask.objects.get()
    assert (task.status, task.outcome, task.closed_at) == ("done", "fulfilled", late)
    assert Appointment.objects.get().arrived_at == late
    # And the next run leaves it so.
    assert run_task(SLOT + minutes(106)) == {"linked": 0, "no_shows": 0, "closed": 0, "touches": 0}


def test_a_late_order_from_the_dms_closes_the_call_on_the_next_run(customer, vehicle, run_task):
    no_show_rule()
    appointment = book(customer, vehicle)
    run_task(SLOT + minutes(61))
    RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=vehicle,
        number="DMS-1",
        kind="maintenance",
        opened_at=SLOT + minutes(100),
        mileage=100,
    )
    assert run_task(SLOT + minutes(106)) == {"linked": 1, "no_shows": 0, "closed": 1, "touches": 0}
    assert Appointment.objects.get(pk=appointment.pk).status == "arrived"
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("done", "fulfilled")


def test_no_call_for_a_customer_who_opted_out_or_is_not_active(customer, vehicle, run_task):
    no_show_rule()
    CareOptOut.objects.create(customer=customer, kind="appointment_no_show", reason="不要回访")
    moved = CustomerFactory(dealership=customer.dealership, status=Customer.Status.MOVED)
    book(customer, vehicle)
    book(moved)
    assert run_task(SLOT + minutes(61)) == {"linked": 0, "no_shows": 2, "closed": 0, "touches": 0}
    assert CareTask.objects.count() == 0


def test_the_delay_is_a_setting(customer, run_task, settings):
    no_show_rule()
    settings.CRM_NO_SHOW_AFTER_MINUTES = 30
    book(customer)
    assert run_task(SLOT + minutes(30))["no_shows"] == 0
    assert run_task(SLOT + minutes(31))["no_shows"] == 1


def test_the_default_rule_and_the_beat_entry(customer, vehicle, default_rules, run_task):
    book(customer, vehicle)
    run_task(SLOT + minutes(61))
    assert [(t.kind, t.rule.name) for t in CareTask.objects.filter(kind="appointment_no_show")] == [
        ("appointment_no_show", "爽约回访")
    ]
    entry = PeriodicTask.objects.get(task="care.tasks.mark_no_shows_task")
    assert (entry.enabled, entry.interval.every, entry.interval.period) == (True, 15, "minutes")


def test_the_morning_run_links_yesterdays_imported_orders(customer, vehicle):
    yesterday = DAY - datetime.timedelta(days=1)
    appointment = book(customer, vehicle, when=SLOT - datetime.timedelta(days=1))
    order = RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=vehicle,
        number="DMS-1",
        kind="maintenance",
        opened_at=datetime.datetime(yesterday.year, yesterday.month, yesterday.day, 9, 30, tzinfo=SH),
        mileage=100,
    )
    care_tasks_generate(day=DAY)
    assert Appointment.objects.get(pk=appointment.pk).repair_order_id == order.pk
