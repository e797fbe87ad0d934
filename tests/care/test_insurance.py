import datetime

from care.models import CareTask
from tests.care.factories import CareRuleFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date

# Insurance expires on 2027-01-15. Counting back (December has 31 days,
# 2027-01-15 is 15 days after 2026-12-31):
#   45 days before: 2026-12-31 − (45 − 15) = 2026-12-01
#   33 days before: 2026-12-31 − (33 − 15) = 2026-12-13
#   31 days before: 2026-12-31 − (31 − 15) = 2026-12-15
#   30 days before: 2026-12-31 − (30 − 15) = 2026-12-16
EXPIRY = D(2027, 1, 15)


def _rule():
    return CareRuleFactory(kind="insurance", cadence_days=[45, 33, 30], expiry_days=0)


def _rows(tasks):
    return [(t.step, t.occasion, t.event_date, t.due_date, t.expires_on) for t in tasks]


def test_cadence_creates_each_step_supersedes_the_previous_and_expires(customer, generate):
    _rule()
    car = VehicleFactory(customer=customer, purchase_date=D(2024, 1, 15), insurance_expiry_date=EXPIRY)
    VehicleFactory(customer=customer, purchase_date=D(2024, 1, 15), insurance_expiry_date=None)

    # 46 days before: nothing yet.
    assert generate(D(2026, 11, 30)) == []

    # 45 days before: step 1; expiry_days 0 → expires on the expiry date itself.
    tasks = generate(D(2026, 12, 1))
    assert _rows(tasks) == [(1, "insurance:2027-01-15#1", EXPIRY, D(2026, 12, 1), EXPIRY)]
    assert tasks[0].vehicle_id == car.pk

    # A rerun of the same day, and the days up to step 2, add nothing.
    before = CareTask.objects.count()
    generate(D(2026, 12, 1))
    generate(D(2026, 12, 12))
    assert CareTask.objects.count() == before == 1

    # 33 days before: step 2, and step 1 is superseded.
    tasks = generate(D(2026, 12, 13))
    assert _rows(tasks) == [(2, "insurance:2027-01-15#2", EXPIRY, D(2026, 12, 13), EXPIRY)]
    step1 = CareTask.objects.get(step=1)
    assert (step1.status, step1.outcome) == ("cancelled", "superseded")

    # 30 days before: step 3, step 2 superseded.
    tasks = generate(D(2026, 12, 16))
    assert _rows(tasks) == [(3, "insurance:2027-01-15#3", EXPIRY, D(2026, 12, 16), EXPIRY)]
    step2 = CareTask.objects.get(step=2)
    assert (step2.status, step2.outcome) == ("cancelled", "superseded")

    # Still open on the expiry date (expires_on = 2027-01-15 + 0) ...
    assert [t.step for t in generate(EXPIRY)] == [3]
    # ... expired the day after, and nothing new comes up.
    assert generate(D(2027, 1, 16)) == []
    step3 = CareTask.objects.get(step=3)
    assert (step3.status, step3.outcome) == ("cancelled", "expired")
    assert CareTask.objects.count() == 3


def test_late_start_creates_only_the_current_step(customer, generate):
    _rule()
    VehicleFactory(customer=customer, purchase_date=D(2024, 1, 15), insurance_expiry_date=EXPIRY)

    # First run 31 days before: step 1 (45) is past, step 3 (30) is tomorrow,
    # so only step 2, due on 2026-12-13.
    tasks = generate(D(2026, 12, 15))
    assert _rows(tasks) == [(2, "insurance:2027-01-15#2", EXPIRY, D(2026, 12, 13), EXPIRY)]
    assert CareTask.objects.count() == 1

    before = CareTask.objects.count()
    generate(D(2026, 12, 15))
    assert CareTask.objects.count() == before


def test_renewal_closes_the_open_touch_as_fulfilled(customer, generate):
    _rule()
    car = VehicleFactory(customer=customer, purchase_date=D(2024, 1, 15), insurance_expiry_date=EXPIRY)
    assert [t.step for t in generate(D(2026, 12, 1))] == [1]

    # Renewed for a year: 2028-01-15. Its first contact (45 days before) is
    # 2027-12-01, far off, so the next run only closes the open touch.
    car.insurance_expiry_date = D(2028, 1, 15)
    car.save(update_fields=["insurance_expiry_date"])
    assert generate(D(2026, 12, 2)) == []
    task = CareTask.objects.get()
    assert (task.status, task.outcome) == ("done", "fulfilled")
