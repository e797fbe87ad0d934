import datetime

import pytest

from care.models import CareOptOut, CareTask
from service.models import RepairOrder
from tests.care.conftest import SH, add_visit
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date


def post_repair_rule(**kwargs):
    defaults = {"lead_days": 0, "expiry_days": 12, "params": {"days": 3}}
    return CareRuleFactory(kind="post_repair_day3", **{**defaults, **kwargs})


def test_call_three_days_after_the_local_close_date(customer, generate):
    post_repair_rule()
    car = VehicleFactory(customer=customer)
    # Closed 2026-05-02 01:30 in Shanghai, still 2026-05-01 in UTC: the local
    # date counts, so the call is on 2026-05-02 + 3 = 2026-05-05.
    order = RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number="R-1",
        kind="repair",
        opened_at=datetime.datetime(2026, 5, 1, 9, tzinfo=SH),
        closed_at=datetime.datetime(2026, 5, 2, 1, 30, tzinfo=SH),
        mileage=12000,
    )
    assert generate(D(2026, 5, 4)) == []
    tasks = generate(D(2026, 5, 5))
    # Expires 2026-05-05 + 12 = 2026-05-17.
    assert [(t.vehicle_id, t.event_date, t.due_date, t.expires_on, t.occasion, t.repair_order_id) for t in tasks] == [
        (car.pk, D(2026, 5, 5), D(2026, 5, 5), D(2026, 5, 17), "post_repair:R-1", order.pk)
    ]
    assert generate(D(2026, 5, 6)) == tasks  # the rerun adds nothing
    assert CareTask.objects.count() == 1


def test_one_touch_per_order_and_only_closed_orders_of_the_listed_kinds(customer, generate):
    post_repair_rule(params={"days": 3, "repair_order_kinds": ["repair", "bodywork"]})
    car = VehicleFactory(customer=customer)
    add_visit(car, "R-1", "repair", D(2026, 5, 1), 1000)
    add_visit(car, "B-1", "bodywork", D(2026, 5, 1), 1000)
    add_visit(car, "A-1", "accessory", D(2026, 5, 1), 1000)  # not in the list
    still_open = add_visit(car, "R-2", "repair", D(2026, 5, 1), 1000)
    RepairOrder.objects.filter(pk=still_open.pk).update(closed_at=None)
    tasks = generate(D(2026, 5, 4))  # 2026-05-01 + 3
    assert sorted(t.occasion for t in tasks) == ["post_repair:B-1", "post_repair:R-1"]


def test_touch_expires_after_day_15(customer, generate):
    post_repair_rule()
    car = VehicleFactory(customer=customer)
    add_visit(car, "R-1", "repair", D(2026, 5, 1), 1000)
    # Event 2026-05-04; expiry 12 days: the last day is 2026-05-16, i.e. day 15
    # after the repair. A first run on day 15 still creates it ...
    assert [t.expires_on for t in generate(D(2026, 5, 16))] == [D(2026, 5, 16)]
    # ... and on day 16 it is expired, never created again.
    assert generate(D(2026, 5, 17)) == []
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("cancelled", "expired")


def test_a_first_run_after_day_15_creates_nothing(customer, generate):
    post_repair_rule()
    car = VehicleFactory(customer=customer)
    add_visit(car, "R-1", "repair", D(2026, 5, 1), 1000)
    assert generate(D(2026, 5, 17)) == []
    assert not CareTask.objects.exists()


def test_eligibility(customer, dealership, other_dealership, generate):
    rule = post_repair_rule(dealership=other_dealership)
    car = VehicleFactory(customer=customer)
    sold = VehicleFactory(customer=customer)
    add_visit(car, "R-1", "repair", D(2026, 5, 1), 1000)
    add_visit(sold, "R-2", "repair", D(2026, 5, 1), 1000)
    Vehicle.objects.filter(pk=sold.pk).update(status=Vehicle.Status.SOLD)
    # Another store's rule: nothing for this store's customer.
    assert generate(D(2026, 5, 4)) == []

    rule.dealership = dealership
    rule.save()
    # This store's rule: the car sold on is skipped.
    assert [t.occasion for t in generate(D(2026, 5, 4))] == ["post_repair:R-1"]

    CareTask.objects.all().delete()
    CareOptOut.objects.create(customer=customer, kind="", reason="不接受任何回访")
    assert generate(D(2026, 5, 4)) == []


def test_advisor_of_the_order_makes_the_call(customer, advisor, generate):
    post_repair_rule()
    car = VehicleFactory(customer=customer)
    other = UserFactory(username="workshop", dealership=customer.dealership)
    order = add_visit(car, "R-1", "repair", D(2026, 5, 1), 1000)
    order.advisor = other
    order.save()
    assert [t.assigned_to_id for t in generate(D(2026, 5, 4))] == [other.pk]


@pytest.mark.parametrize(
    "params", [{"days": "3"}, {"days": -1}, {"repair_order_kinds": ["oil_change"]}, {"repair_order_kinds": []}, [3]]
)
def test_invalid_or_empty_params_create_nothing(customer, generate, params):
    post_repair_rule(params=params)
    add_visit(VehicleFactory(customer=customer), "R-1", "repair", D(2026, 5, 1), 1000)
    assert generate(D(2026, 5, 4)) == []
