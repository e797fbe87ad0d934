import datetime

from tests.care.conftest import add_reading, add_visit
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

D = datetime.date


def test_low_and_high_mileage_cars_serviced_the_same_day_fall_due_differently(customer, generate):
    # Given: due every 10,000 km or 12 months; both cars delivered 2025-05-01
    # at 0 km and serviced 2026-05-01 at 20,000 km.
    model = VehicleModelFactory(maintenance_interval_km=10000, maintenance_interval_months=12)
    rule = CareRuleFactory(kind="maintenance", lead_days=7, expiry_days=30)
    low = VehicleFactory(customer=customer, model=model, purchase_date=D(2025, 5, 1))
    high = VehicleFactory(customer=customer, model=model, purchase_date=D(2025, 5, 1))
    for car in (low, high):
        add_reading(car, D(2025, 5, 1), 0)
        add_visit(car, f"M-{car.pk}", "maintenance", D(2026, 5, 1), 20000)
    # Low: 21,000 km by 2026-11-01, 549 days after delivery: 38.25 → 38.3 km/day;
    #   9,000 km to go / 38.3 = 234.9 → 2026-11-01 + 234 days = 2027-06-23;
    #   by time 2026-05-01 + 12 months = 2027-05-01, the earlier: due 2027-05-01.
    add_reading(low, D(2026, 11, 1), 21000)
    # High: 29,000 km by 2026-07-01, 426 days: 68.07 → 68.1 km/day;
    #   1,000 km to go / 68.1 = 14.7 → 2026-07-01 + 14 days = 2026-07-15.
    add_reading(high, D(2026, 7, 1), 29000)

    # When the morning run is on 2026-07-08 (7 days before 2026-07-15) ...
    tasks = generate(D(2026, 7, 8))
    # ... only the high-mileage car is called, by km.
    assert [(t.vehicle_id, t.event_date, t.due_date, t.occasion) for t in tasks] == [
        (high.pk, D(2026, 7, 15), D(2026, 7, 8), "maintenance:2026-05-01")
    ]
    assert tasks[0].rule_id == rule.pk

    # The low-mileage car comes up 7 days before its time limit, 2027-05-01.
    assert generate(D(2027, 4, 23)) == []
    tasks = generate(D(2027, 4, 24))
    assert [(t.vehicle_id, t.event_date) for t in tasks] == [(low.pk, D(2027, 5, 1))]


def test_high_mileage_car_is_due_by_km_before_time(customer, generate):
    model = VehicleModelFactory(maintenance_interval_km=10000, maintenance_interval_months=12)
    CareRuleFactory(kind="maintenance", lead_days=7, expiry_days=30)
    car = VehicleFactory(customer=customer, model=model, purchase_date=D(2025, 5, 1))
    add_reading(car, D(2025, 5, 1), 0)
    add_visit(car, "M-1", "maintenance", D(2026, 5, 1), 36500)  # 100 km/day over 365 days
    # 10,000 km to go at 100 km/day: 100 days after 2026-05-01 = 2026-08-09.
    tasks = generate(D(2026, 8, 2))
    assert [(t.event_date, t.due_date, t.expires_on) for t in tasks] == [(D(2026, 8, 9), D(2026, 8, 2), D(2026, 9, 8))]


def test_first_maintenance_counts_from_delivery_and_a_visit_fulfils_it(customer, generate):
    model = VehicleModelFactory(first_maintenance_km=5000, first_maintenance_months=6)
    CareRuleFactory(kind="maintenance", lead_days=10, expiry_days=30)
    car = VehicleFactory(customer=customer, model=model, purchase_date=D(2026, 3, 31))
    add_reading(car, D(2026, 3, 31), 10)
    # No history beyond delivery: the default 40 km/day gives 4,990 km in 124 days
    # (2026-08-02), before the 6 months (2026-09-30, clamped from the 31st).
    tasks = generate(D(2026, 7, 23))
    assert [(t.event_date, t.occasion) for t in tasks] == [(D(2026, 8, 2), "maintenance:first")]

    add_visit(car, "M-2", "maintenance", D(2026, 7, 28), 4800)
    assert generate(D(2026, 7, 29)) == []
    task = car.care_tasks.get()
    assert (task.status, task.outcome, task.converted_repair_order.number) == ("done", "fulfilled", "M-2")
