import datetime

from care.models import CareTask
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date


def _rule():
    return CareRuleFactory(kind="inspection", lead_days=30, expiry_days=30)


def _rows(tasks):
    # By car: one INSERT … SELECT creates the rows in no particular order.
    return sorted((t.vehicle_id, t.event_date, t.due_date, t.occasion) for t in tasks)


def test_private_car_turning_six_is_due_on_its_sixth_anniversary(customer, generate):
    _rule()
    private = VehicleFactory(customer=customer, purchase_date=D(2020, 9, 10), usage="private")
    official = VehicleFactory(customer=customer, purchase_date=D(2020, 9, 10), usage="official")
    # First on-site inspection at 6 years: 2020-09-10 + 72 months = 2026-09-10.
    # Contact 30 days before: 2026-09-10 − 10 = 08-31, − 20 = 2026-08-11.
    # Official cars follow the private schedule.
    assert generate(D(2026, 8, 10)) == []
    tasks = generate(D(2026, 8, 11))
    assert _rows(tasks) == [
        (private.pk, D(2026, 9, 10), D(2026, 8, 11), "inspection:2026-09-10"),
        (official.pk, D(2026, 9, 10), D(2026, 8, 11), "inspection:2026-09-10"),
    ]

    before = CareTask.objects.count()
    generate(D(2026, 8, 11))
    assert CareTask.objects.count() == before == 2

    # Expires 30 days after: 2026-09-10 + 20 = 09-30, + 10 = 2026-10-10. The
    # day after, the schedule moves on to 10 years (2030-09-10): nothing new.
    assert len(generate(D(2026, 10, 10))) == 2
    assert generate(D(2026, 10, 11)) == []
    assert set(CareTask.objects.values_list("outcome", flat=True)) == {"expired"}
    assert CareTask.objects.count() == 2


def test_private_car_over_ten_years_is_due_every_year(customer, generate):
    _rule()
    car = VehicleFactory(customer=customer, purchase_date=D(2015, 6, 20), usage="private")
    # Aged 11 (since 2026-06-20), yearly after 10: next at 12 years,
    # 2015-06-20 + 144 months = 2027-06-20. Contact 30 days before:
    # 2027-06-20 − 20 = 05-31, − 10 = 2027-05-21.
    assert generate(D(2027, 5, 20)) == []
    tasks = generate(D(2027, 5, 21))
    assert _rows(tasks) == [(car.pk, D(2027, 6, 20), D(2027, 5, 21), "inspection:2027-06-20")]

    before = CareTask.objects.count()
    generate(D(2027, 5, 21))
    assert CareTask.objects.count() == before


def test_private_car_over_fifteen_years_is_due_every_six_months(customer, generate):
    _rule()
    car = VehicleFactory(customer=customer, purchase_date=D(2010, 1, 15), usage="private")
    # 16 years on 2026-01-15; six-monthly after 15: next 2010-01-15 + 198 months
    # (16.5 years) = 2026-07-15. Contact 30 days before: 2026-07-15 − 15 = 06-30,
    # − 15 = 2026-06-15.
    tasks = generate(D(2026, 6, 15))
    assert _rows(tasks) == [(car.pk, D(2026, 7, 15), D(2026, 6, 15), "inspection:2026-07-15")]

    before = CareTask.objects.count()
    generate(D(2026, 6, 15))
    assert CareTask.objects.count() == before


def test_commercial_car_of_three_years_is_due_yearly(customer, generate):
    _rule()
    commercial = VehicleFactory(customer=customer, purchase_date=D(2023, 3, 10), usage="commercial")
    VehicleFactory(customer=customer, purchase_date=D(2023, 3, 10), usage="private")  # not before 6 years
    # Yearly for 5 years: 3 years on 2023-03-10 + 36 months = 2026-03-10.
    # Contact 30 days before: 2026-03-10 − 10 = 02-28, − 20 = 2026-02-08.
    assert generate(D(2026, 2, 7)) == []
    tasks = generate(D(2026, 2, 8))
    assert _rows(tasks) == [(commercial.pk, D(2026, 3, 10), D(2026, 2, 8), "inspection:2026-03-10")]

    before = CareTask.objects.count()
    generate(D(2026, 2, 8))
    assert CareTask.objects.count() == before == 1


def test_commercial_car_of_seven_years_is_due_every_six_months(customer, generate):
    _rule()
    car = VehicleFactory(customer=customer, purchase_date=D(2019, 5, 20), usage="commercial")
    # Six-monthly after 5 years: 7 years = 2019-05-20 + 84 months = 2026-05-20,
    # contact 2026-05-20 − 20 = 04-30, − 10 = 2026-04-20 ...
    tasks = generate(D(2026, 4, 20))
    assert _rows(tasks) == [(car.pk, D(2026, 5, 20), D(2026, 4, 20), "inspection:2026-05-20")]

    before = CareTask.objects.count()
    generate(D(2026, 4, 20))
    assert CareTask.objects.count() == before

    # ... then 7.5 years = 2019-05-20 + 90 months = 2026-11-20, contact
    # 2026-11-20 − 20 = 10-31, − 10 = 2026-10-21. The first touch expired on
    # 2026-06-19 (2026-05-20 + 30) and is no longer open.
    tasks = generate(D(2026, 10, 21))
    assert _rows(tasks) == [(car.pk, D(2026, 11, 20), D(2026, 10, 21), "inspection:2026-11-20")]
    assert CareTask.objects.get(occasion="inspection:2026-05-20").outcome == "expired"


def test_recorded_due_date_wins_over_the_schedule(customer, generate):
    _rule()
    car = VehicleFactory(
        customer=customer, purchase_date=D(2020, 9, 10), usage="private", inspection_due_date=D(2026, 7, 1)
    )
    # The schedule would say 2026-09-10 (6 years); the recorded 2026-07-01 wins.
    # Contact 30 days before: 2026-07-01 − 1 = 06-30, − 29 = 2026-06-01.
    tasks = generate(D(2026, 6, 1))
    assert _rows(tasks) == [(car.pk, D(2026, 7, 1), D(2026, 6, 1), "inspection:2026-07-01")]

    before = CareTask.objects.count()
    generate(D(2026, 6, 1))
    assert CareTask.objects.count() == before

    # Inspected: the next due date is recorded, which fulfils the touch; no
    # schedule touch for 2026-09-10 comes up on its contact day (2026-08-11).
    car.inspection_due_date = D(2028, 7, 1)
    car.save(update_fields=["inspection_due_date"])
    assert generate(D(2026, 8, 11)) == []
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("done", "fulfilled")


def test_leap_day_purchase_is_due_on_the_last_day_of_february(customer, generate):
    _rule()
    car = VehicleFactory(customer=customer, purchase_date=D(2020, 2, 29), usage="private")
    # 2020-02-29 + 72 months: 2026 has no 29 February, clamped to 2026-02-28.
    # Contact 30 days before: 2026-02-28 − 28 = 01-31, − 2 = 2026-01-29.
    tasks = generate(D(2026, 1, 29))
    assert _rows(tasks) == [(car.pk, D(2026, 2, 28), D(2026, 1, 29), "inspection:2026-02-28")]

    before = CareTask.objects.count()
    generate(D(2026, 1, 29))
    assert CareTask.objects.count() == before


# (purchase, usage, reference, first default inspection on or after it), worked by hand:
HAND_WORKED = [
    # 70 months to the reference → the 72nd month.
    (datetime.date(2020, 3, 15), "private", datetime.date(2026, 1, 10), datetime.date(2026, 3, 15)),
    # Bought on 29 February: the 120th month is clamped to the 28th.
    (datetime.date(2016, 2, 29), "official", datetime.date(2026, 2, 10), datetime.date(2026, 2, 28)),
    # 145 months (the day of month is past) → yearly until 15 years: the 156th.
    (datetime.date(2014, 5, 1), "private", datetime.date(2026, 5, 2), datetime.date(2027, 5, 1)),
    # Commercial after 5 years: every 6 months, 79 → 84.
    (datetime.date(2019, 6, 30), "commercial", datetime.date(2026, 1, 1), datetime.date(2026, 6, 30)),
    # Private past 15 years: every 6 months, 205 → 210.
    (datetime.date(2009, 1, 10), "private", datetime.date(2026, 1, 11), datetime.date(2026, 7, 10)),
]


def test_the_schedule_in_python_gives_the_hand_worked_dates():
    from care.kinds.inspection import inspection_due_on_or_after

    for purchase, usage, reference, due in HAND_WORKED:
        assert inspection_due_on_or_after(purchase, usage, reference) == due, (purchase, usage)


def test_the_demo_and_the_engine_read_the_same_schedule(customer):
    from care.kinds.base import Run
    from care.kinds.inspection import generate, inspection_due_on_or_after
    from demo.services import inspection_due

    rule = CareRuleFactory(kind="inspection", lead_days=30, expiry_days=0)
    day = datetime.date(2026, 1, 10)
    cars = {}
    for i, (purchase, usage, _, _) in enumerate(HAND_WORKED):
        car = VehicleFactory(customer=customer, purchase_date=purchase, usage=usage, inspection_due_date=None)
        cars[car.pk] = (purchase, usage, i)
    run = Run(rule=rule, day=day, dealership_ids=(customer.dealership_id,))
    engine = dict(generate(run).values_list("t_vehicle", "t_event"))
    for pk, (purchase, usage, _) in cars.items():
        assert engine[pk] == inspection_due_on_or_after(purchase, usage, day)
        # The demo's "strictly after today" is the same rule from the next day.
        assert inspection_due(purchase, usage, today=day - datetime.timedelta(days=1)) == engine[pk]
