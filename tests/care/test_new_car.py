import datetime

from care.models import CareOptOut
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

D = datetime.date


def test_day3_and_day7_calls_after_delivery(customer, generate):
    CareRuleFactory(kind="new_car_day3", lead_days=0, expiry_days=4, params={"days": 3})
    CareRuleFactory(kind="new_car_day7", lead_days=0, expiry_days=7, params={"days": 7})
    car = VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))

    # 2026-05-01 + 3 days = 2026-05-04: nothing the day before.
    assert generate(D(2026, 5, 3)) == []
    tasks = generate(D(2026, 5, 4))
    # Event = due = 2026-05-04 (lead 0); expires 2026-05-04 + 4 = 2026-05-08.
    assert [(t.kind, t.vehicle_id, t.event_date, t.due_date, t.expires_on, t.occasion) for t in tasks] == [
        ("new_car_day3", car.pk, D(2026, 5, 4), D(2026, 5, 4), D(2026, 5, 8), "new_car_day3:2026-05-01")
    ]

    # 2026-05-01 + 7 days = 2026-05-08: the questionnaire joins the open call.
    tasks = generate(D(2026, 5, 8))
    assert [(t.kind, t.event_date, t.expires_on, t.occasion) for t in tasks] == [
        ("new_car_day3", D(2026, 5, 4), D(2026, 5, 8), "new_car_day3:2026-05-01"),
        ("new_car_day7", D(2026, 5, 8), D(2026, 5, 15), "new_car_day7:2026-05-01"),
    ]
    # A rerun the same day creates nothing twice.
    assert len(generate(D(2026, 5, 8))) == 2
    assert car.care_tasks.count() == 2


def test_days_default_when_params_leave_them_out(customer, generate):
    CareRuleFactory(kind="new_car_day7", lead_days=0, expiry_days=7, params={})
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))
    # Default 7 days: 2026-05-01 + 7 = 2026-05-08.
    assert generate(D(2026, 5, 7)) == []
    assert [t.event_date for t in generate(D(2026, 5, 8))] == [D(2026, 5, 8)]


def test_only_eligible_cars_sold_here(customer, other_dealership, generate):
    CareRuleFactory(kind="new_car_day3", lead_days=0, expiry_days=4, params={"days": 3})
    sold_here = VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1), sold_here=False)  # bought elsewhere
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1), status=Vehicle.Status.SOLD)  # sold on
    assert [t.vehicle_id for t in generate(D(2026, 5, 4))] == [sold_here.pk]


def test_opted_out_customer_and_other_store_rule_are_skipped(customer, other_dealership, generate):
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))
    # A rule of another store does not reach this store's customer.
    rule = CareRuleFactory(kind="new_car_day3", dealership=other_dealership, lead_days=0, params={"days": 3})
    assert generate(D(2026, 5, 4)) == []

    rule.dealership = None
    rule.save()
    CareOptOut.objects.create(customer=customer, kind="new_car_day3", reason="不需要回访")
    assert generate(D(2026, 5, 4)) == []


def test_invalid_days_create_nothing(customer, generate):
    CareRuleFactory(kind="new_car_day3", lead_days=0, params={"days": "three"})
    VehicleFactory(customer=customer, purchase_date=D(2026, 5, 1))
    assert generate(D(2026, 5, 4)) == []
