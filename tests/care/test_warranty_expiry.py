import datetime

from care.models import CareTask
from tests.care.conftest import add_reading
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date


def _rows(tasks):
    return [(t.vehicle_id, t.event_date, t.due_date, t.expires_on, t.occasion) for t in tasks]


def test_low_mileage_car_is_touched_before_the_time_limit(customer, generate):
    CareRuleFactory(kind="warranty_expiry", lead_days=30, expiry_days=30)
    car = VehicleFactory(
        customer=customer, purchase_date=D(2024, 3, 15), warranty_end_date=D(2027, 3, 14), warranty_end_km=100000
    )
    add_reading(car, D(2024, 3, 15), 0)
    add_reading(car, D(2026, 3, 15), 14600)
    # 14,600 km in 730 days = 20 km/day: 85,400 km to go / 20 = 4,270 days,
    # years away; the time limit 2027-03-14 comes first.
    # Contact 30 days before: 2027-03-14 − 14 = 02-28, − 16 = 2027-02-12.
    # Expires 30 days after: 2027-03-14 + 17 = 03-31, + 13 = 2027-04-13.
    assert generate(D(2027, 2, 11)) == []
    tasks = generate(D(2027, 2, 12))
    assert _rows(tasks) == [
        (car.pk, D(2027, 3, 14), D(2027, 2, 12), D(2027, 4, 13), "warranty_expiry:2027-03-14"),
    ]

    before = CareTask.objects.count()
    generate(D(2027, 2, 12))
    assert CareTask.objects.count() == before == 1


def test_high_mileage_car_is_touched_before_the_km_limit(customer, generate):
    CareRuleFactory(kind="warranty_expiry", lead_days=30, expiry_days=30)
    car = VehicleFactory(
        customer=customer, purchase_date=D(2024, 6, 1), warranty_end_date=D(2027, 5, 31), warranty_end_km=100000
    )
    add_reading(car, D(2024, 6, 1), 0)
    add_reading(car, D(2026, 6, 1), 73000)
    # 73,000 km in 730 days = 100 km/day: 27,000 km / 100 = 270 days after
    # 2026-06-01 (Jun +29, Jul 60, Aug 91, Sep 121, Oct 152, Nov 182, Dec 213,
    # Jan 244, + 26) = 2027-02-26, before 2027-05-31.
    # Contact 30 days before: 2027-02-26 − 26 = 01-31, − 4 = 2027-01-27.
    # The occasion is still the warranty's end date (the km date moves with readings).
    tasks = generate(D(2027, 1, 27))
    assert [(t.vehicle_id, t.event_date, t.due_date, t.occasion) for t in tasks] == [
        (car.pk, D(2027, 2, 26), D(2027, 1, 27), "warranty_expiry:2027-05-31"),
    ]


def test_km_only_warranty_and_cars_past_both_limits_or_without_warranty(customer, generate):
    CareRuleFactory(kind="warranty_expiry", lead_days=30, expiry_days=30)
    km_only = VehicleFactory(customer=customer, purchase_date=D(2026, 1, 1), warranty_end_km=10000)
    add_reading(km_only, D(2026, 1, 1), 0)
    # Default 40 km/day: 10,000 / 40 = 250 days after 2026-01-01 = 2026-09-08
    # (Jan +30, Feb 58, Mar 89, Apr 119, May 150, Jun 180, Jul 211, Aug 242, + 8);
    # contact 30 days before: 2026-09-08 − 8 = 08-31, − 22 = 2026-08-09.
    expired = VehicleFactory(
        customer=customer, purchase_date=D(2020, 1, 1), warranty_end_date=D(2023, 1, 1), warranty_end_km=100000
    )
    add_reading(expired, D(2020, 1, 1), 0)
    add_reading(expired, D(2026, 1, 1), 120000)
    VehicleFactory(customer=customer, purchase_date=D(2026, 1, 1))  # no warranty data at all

    tasks = generate(D(2026, 8, 9))
    assert [(t.vehicle_id, t.event_date, t.due_date, t.occasion) for t in tasks] == [
        (km_only.pk, D(2026, 9, 8), D(2026, 8, 9), "warranty_expiry:10000km"),
    ]


def test_car_just_past_the_km_limit_is_touched_until_expiry(customer, generate):
    CareRuleFactory(kind="warranty_expiry", lead_days=30, expiry_days=30)
    car = VehicleFactory(
        customer=customer, purchase_date=D(2024, 6, 1), warranty_end_date=D(2027, 5, 31), warranty_end_km=72000
    )
    add_reading(car, D(2024, 6, 1), 0)
    add_reading(car, D(2026, 6, 1), 73000)
    # 100 km/day, 1,000 km beyond the limit: crossed 10 days before the
    # reading, 2026-05-22. Contact was due 30 days before (2026-05-22 − 22 =
    # 04-30, − 8 = 2026-04-22); it expires 30 days after (2026-05-22 + 9 =
    # 05-31, + 21 = 2026-06-21), so it is still worth a call on 2026-06-02.
    tasks = generate(D(2026, 6, 2))
    assert _rows(tasks) == [
        (car.pk, D(2026, 5, 22), D(2026, 4, 22), D(2026, 6, 21), "warranty_expiry:2027-05-31"),
    ]
    assert generate(D(2026, 6, 22)) == []
    assert CareTask.objects.get().outcome == "expired"
