import datetime

from care.models import CareTask
from tests.care.conftest import add_reading
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date


def _rows(tasks):
    return [(t.vehicle_id, t.event_date, t.due_date, t.occasion) for t in tasks]


def test_new_car_reaches_the_first_milestone_at_the_default_pace(customer, generate):
    CareRuleFactory(kind="mileage_milestone", lead_days=14, expiry_days=30)
    car = VehicleFactory(customer=customer, purchase_date=D(2026, 1, 1))
    add_reading(car, D(2026, 1, 1), 0)
    # One reading, no history: the default 40 km/day. 10,000 km / 40 = 250 days
    # after 2026-01-01 (to month ends: Jan +30, Feb +28 = 58, Mar 89, Apr 119,
    # May 150, Jun 180, Jul 211, Aug 242, + 8) = 2026-09-08; 14 days before
    # (2026-09-08 − 8 = 08-31, − 6) = 2026-08-25.
    assert generate(D(2026, 8, 24)) == []
    tasks = generate(D(2026, 8, 25))
    assert _rows(tasks) == [(car.pk, D(2026, 9, 8), D(2026, 8, 25), "mileage_milestone:10000")]
    # Expires 30 days after the event: 2026-09-08 + 22 = 09-30, + 8 = 2026-10-08.
    assert tasks[0].expires_on == D(2026, 10, 8)

    before = CareTask.objects.count()
    generate(D(2026, 8, 25))
    assert CareTask.objects.count() == before == 1


def test_car_past_the_first_milestone_is_touched_for_the_next_one_only(customer, generate):
    CareRuleFactory(kind="mileage_milestone", lead_days=14, expiry_days=30)
    car = VehicleFactory(customer=customer, purchase_date=D(2025, 3, 1))
    add_reading(car, D(2025, 3, 1), 0)
    add_reading(car, D(2026, 3, 1), 18250)
    # 18,250 km in 365 days = 50 km/day; 10,000 is behind, 30,000 is next:
    # 11,750 km / 50 = 235 days after 2026-03-01 (Mar +30, Apr 60, May 91,
    # Jun 121, Jul 152, Aug 183, Sep 213, + 22) = 2026-10-22; 14 days before = 2026-10-08.
    assert generate(D(2026, 10, 7)) == []
    tasks = generate(D(2026, 10, 8))
    assert _rows(tasks) == [(car.pk, D(2026, 10, 22), D(2026, 10, 8), "mileage_milestone:30000")]
    assert not CareTask.objects.filter(occasion="mileage_milestone:10000").exists()


def test_configured_milestones_in_any_order_and_cars_past_all_of_them(customer, generate):
    CareRuleFactory(kind="mileage_milestone", lead_days=7, expiry_days=30, params={"milestones": [20000, 5000]})
    young = VehicleFactory(customer=customer, purchase_date=D(2026, 2, 1))
    add_reading(young, D(2026, 2, 1), 0)
    add_reading(young, D(2026, 4, 2), 3000)
    # 3,000 km in 60 days (Feb 28 − 1 = 27, + Mar 31, + 2) = 50 km/day; next is
    # 5,000: 2,000 km / 50 = 40 days after 2026-04-02 (Apr 30 = +28, + 12) = 2026-05-12;
    # 7 days before = 2026-05-05.
    worn = VehicleFactory(customer=customer, purchase_date=D(2025, 2, 1))
    add_reading(worn, D(2025, 2, 1), 0)
    add_reading(worn, D(2026, 2, 1), 25000)  # past 20,000, the last milestone: never touched

    tasks = generate(D(2026, 5, 5))
    assert _rows(tasks) == [(young.pk, D(2026, 5, 12), D(2026, 5, 5), "mileage_milestone:5000")]

    before = CareTask.objects.count()
    generate(D(2026, 5, 5))
    assert CareTask.objects.count() == before == 1


def test_a_car_standing_still_is_not_predicted(customer, generate):
    CareRuleFactory(kind="mileage_milestone", lead_days=14, expiry_days=30)
    car = VehicleFactory(customer=customer, purchase_date=D(2025, 1, 1))
    add_reading(car, D(2025, 1, 1), 9000)
    add_reading(car, D(2026, 1, 1), 9000)
    # 0 km in 365 days: 0 km/day, it never reaches 10,000 (and dividing by zero
    # must not break the run on PostgreSQL).
    assert generate(D(2026, 1, 2)) == []
    car.refresh_from_db()
    assert car.km_per_day == 0


def test_no_milestones_configured_touches_nobody(customer, generate):
    CareRuleFactory(kind="mileage_milestone", lead_days=14, expiry_days=30, params={"milestones": []})
    car = VehicleFactory(customer=customer, purchase_date=D(2026, 1, 1))
    add_reading(car, D(2026, 1, 1), 0)
    # With the default milestones this car would be due on 2026-08-25 (see above).
    assert generate(D(2026, 8, 25)) == []
