import datetime

from care.models import CareOptOut, CareTask
from service.models import Appointment
from tests.care.conftest import SH
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date


def confirm_rule(**kwargs):
    defaults = {"lead_days": 1, "expiry_days": 0}
    return CareRuleFactory(kind="appointment_confirm", **{**defaults, **kwargs})


def book(customer, vehicle, when: datetime.datetime, **kwargs) -> Appointment:
    return Appointment.objects.create(
        dealership=customer.dealership, customer=customer, vehicle=vehicle, scheduled_at=when, **kwargs
    )


def test_call_the_day_before_the_local_appointment_date(customer, generate):
    confirm_rule()
    car = VehicleFactory(customer=customer)
    # 2026-05-10 00:30 in Shanghai is still 2026-05-09 in UTC: the local date,
    # 2026-05-10, is the event; lead 1 day: the call is on 2026-05-09.
    appointment = book(customer, car, datetime.datetime(2026, 5, 10, 0, 30, tzinfo=SH))
    assert generate(D(2026, 5, 8)) == []
    tasks = generate(D(2026, 5, 9))
    # Expiry 0 days: it leaves the queue after 2026-05-10.
    assert [(t.vehicle_id, t.event_date, t.due_date, t.expires_on, t.occasion, t.appointment_id) for t in tasks] == [
        (car.pk, D(2026, 5, 10), D(2026, 5, 9), D(2026, 5, 10), f"appointment:{appointment.pk}", appointment.pk)
    ]
    assert generate(D(2026, 5, 9)) == tasks  # rerun
    assert CareTask.objects.count() == 1


def test_appointment_without_a_car_is_a_customer_level_touch(customer, generate):
    confirm_rule()
    appointment = book(customer, None, datetime.datetime(2026, 5, 10, 14, tzinfo=SH))
    tasks = generate(D(2026, 5, 9))
    assert [(t.customer_id, t.vehicle_id, t.occasion) for t in tasks] == [
        (customer.pk, None, f"appointment:{appointment.pk}")
    ]
    assert generate(D(2026, 5, 9)) == tasks  # the customer-level constraint stops a second one
    assert CareTask.objects.count() == 1


def test_only_booked_appointments(customer, generate):
    confirm_rule()
    car = VehicleFactory(customer=customer)
    when = datetime.datetime(2026, 5, 10, 9, tzinfo=SH)
    booked = book(customer, car, when)
    book(customer, car, when, status=Appointment.Status.CONFIRMED)
    book(customer, car, when, status=Appointment.Status.CANCELLED)
    assert [t.appointment_id for t in generate(D(2026, 5, 9))] == [booked.pk]


def test_cancelled_before_the_call_is_closed_as_inapplicable(customer, generate):
    confirm_rule()
    appointment = book(customer, VehicleFactory(customer=customer), datetime.datetime(2026, 5, 10, 9, tzinfo=SH))
    assert len(generate(D(2026, 5, 9))) == 1
    appointment.status = Appointment.Status.CANCELLED
    appointment.save()
    # The next run (even the same day) takes it off the queue and makes no new one.
    assert generate(D(2026, 5, 9)) == []
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("cancelled", "inapplicable")


def test_eligibility(customer, dealership, other_dealership, generate):
    rule = confirm_rule(dealership=other_dealership)
    car = VehicleFactory(customer=customer)
    sold = VehicleFactory(customer=customer)
    when = datetime.datetime(2026, 5, 10, 9, tzinfo=SH)
    ok = book(customer, car, when)
    book(customer, sold, when)
    Vehicle.objects.filter(pk=sold.pk).update(status=Vehicle.Status.SOLD)
    assert generate(D(2026, 5, 9)) == []  # another store's rule

    rule.dealership = dealership
    rule.save()
    assert [t.appointment_id for t in generate(D(2026, 5, 9))] == [ok.pk]  # the car sold on is skipped

    CareTask.objects.all().delete()
    CareOptOut.objects.create(customer=customer, kind="appointment_confirm", reason="自己会来")
    assert generate(D(2026, 5, 9)) == []
