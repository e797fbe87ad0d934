"""The morning plan: each advisor's day filled up to capacity, the most urgent
first, the rest on the next working days, never past expiry."""

import datetime

import pytest
from django.urls import reverse

from care.models import AdvisorAbsence, AdvisorCapacity, CareTask, TaskReassignment
from care.workspace.planning import care_plan_day
from care.workspace.selectors import care_backlog
from crm.models import Holiday
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

D = datetime.date
MONDAY = D(2026, 12, 7)


@pytest.fixture
def rules(db):
    return {
        "post_repair_day3": CareRuleFactory(kind="post_repair_day3", name="回访"),
        "maintenance": CareRuleFactory(kind="maintenance", name="保养"),
    }


def call(advisor, rule, *, tier: str, expires: D, due: D = MONDAY, priority: int = 50) -> CareTask:
    customer = CustomerFactory(dealership=advisor.dealership, advisor=advisor, value_tier=tier)
    car = VehicleFactory(customer=customer)
    return CareTask.objects.create(
        dealership=advisor.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind=rule.kind,
        channel="call",
        occasion=f"{rule.kind}:{car.pk}",
        event_date=due,
        due_date=due,
        planned_for=due,
        expires_on=expires,
        created_on=due,
        assigned_to=advisor,
        priority=priority,
    )


def planned(task: CareTask) -> tuple[D | None, bool]:
    task.refresh_from_db()
    return task.planned_for, task.overflow


def test_a_post_repair_call_with_2_days_left_beats_a_tier_a_maintenance_call_with_10(advisor, rules):
    AdvisorCapacity.objects.create(user=advisor, daily_calls=1)
    maintenance = call(advisor, rules["maintenance"], tier="A", expires=MONDAY + datetime.timedelta(days=10))
    post_repair = call(advisor, rules["post_repair_day3"], tier="B", expires=MONDAY + datetime.timedelta(days=2))

    report = care_plan_day(day=MONDAY)

    assert planned(post_repair) == (D(2026, 12, 7), False)  # today
    assert planned(maintenance) == (D(2026, 12, 8), False)  # Tuesday, the next working day
    assert (report.planned_today, report.planned_later, report.overflow) == (1, 1, 0)


def test_nothing_is_planned_past_expiry_and_what_cannot_fit_is_overflow(advisor, rules):
    AdvisorCapacity.objects.create(user=advisor, daily_calls=1)
    tuesday = D(2026, 12, 8)
    first = call(advisor, rules["maintenance"], tier="A", expires=tuesday)
    second = call(advisor, rules["maintenance"], tier="B", expires=tuesday)
    third = call(advisor, rules["maintenance"], tier="C", expires=tuesday)
    later = call(advisor, rules["maintenance"], tier="D", expires=D(2026, 12, 31))

    report = care_plan_day(day=MONDAY)

    assert planned(first) == (MONDAY, False)
    assert planned(second) == (tuesday, False)
    # Wednesday would be past its expiry: the manager is told instead.
    assert planned(third) == (None, True)
    # The overflowing call does not push a later one further out.
    assert planned(later) == (D(2026, 12, 9), False)
    assert report.overflow == 1


def test_the_plan_skips_weekends_and_holidays(advisor, rules):
    AdvisorCapacity.objects.create(user=advisor, daily_calls=1)
    friday = D(2026, 12, 11)
    Holiday.objects.create(date=D(2026, 12, 14), name="测试假日", is_day_off=True)
    calls = [
        call(advisor, rules["maintenance"], tier="A", expires=D(2026, 12, 31), due=friday, priority=90 - i)
        for i in range(3)
    ]

    care_plan_day(day=friday)

    # Friday, then Saturday and Sunday off, Monday the holiday: Tuesday, Wednesday.
    assert [planned(t)[0] for t in calls] == [friday, D(2026, 12, 15), D(2026, 12, 16)]


def test_capacity_defaults_to_the_setting_and_a_call_counts_once_per_customer(advisor, rules, settings):
    settings.CRM_CARE_DAILY_CALLS = 2
    one = call(advisor, rules["maintenance"], tier="B", expires=D(2026, 12, 31))
    # A second reason for the same customer is the same call.
    same = CareTask.objects.create(
        **{
            f.attname: getattr(one, f.attname)
            for f in CareTask._meta.concrete_fields
            if f.attname not in ("id", "occasion", "rule_id", "kind")
        },
        occasion="other",
        rule=rules["post_repair_day3"],
        kind="post_repair_day3",
    )
    two = call(advisor, rules["maintenance"], tier="B", expires=D(2026, 12, 31))
    three = call(advisor, rules["maintenance"], tier="B", expires=D(2026, 12, 31))

    care_plan_day(day=MONDAY)

    assert planned(one)[0] == planned(same)[0] == MONDAY
    assert sorted([planned(two)[0], planned(three)[0]]) == [MONDAY, D(2026, 12, 8)]


def test_an_absent_advisor_gets_no_plan_and_their_calls_go_to_the_least_loaded_colleague(advisor, dealership, rules):
    busy = UserFactory(username="busy", dealership=dealership)
    free = UserFactory(username="free", dealership=dealership)
    for _ in range(2):
        call(busy, rules["maintenance"], tier="B", expires=D(2026, 12, 31))
    mine = call(advisor, rules["maintenance"], tier="B", expires=D(2026, 12, 31))
    AdvisorAbsence.objects.create(user=advisor, date=MONDAY, reason="年假")

    report = care_plan_day(day=MONDAY)

    mine.refresh_from_db()
    assert mine.assigned_to == free
    assert mine.planned_for == MONDAY
    assert report.covered == 1
    moved = TaskReassignment.objects.get(task=mine)
    assert (moved.from_user, moved.to_user, moved.by) == (advisor, free, None)
    assert not CareTask.objects.filter(assigned_to=advisor, status="open").exists()


def test_the_queue_shows_todays_plan_and_the_manager_sees_the_backlog(client, advisor, manager, rules):
    AdvisorCapacity.objects.create(user=advisor, daily_calls=1)
    today = datetime.date.today()
    from django.utils import timezone

    today = timezone.localdate()
    first = call(advisor, rules["maintenance"], tier="A", expires=today + datetime.timedelta(days=30), due=today)
    second = call(advisor, rules["maintenance"], tier="B", expires=today + datetime.timedelta(days=30), due=today)
    care_plan_day(day=today)

    client.force_login(advisor)
    page = client.get(reverse("care:queue")).content.decode()
    assert first.customer.name in page
    assert second.customer.name not in page  # planned for the next working day

    backlog = care_backlog(user=manager, day=today)
    [row] = [r for r in backlog.rows if r.advisor == advisor]
    assert row.capacity == 1
    assert row.per_day[:2] == [1, 1]
    assert sum(row.per_day) == 2 and row.overflow == 0
    client.force_login(manager)
    assert reverse("care:backlog") in client.get(reverse("care:queue")).content.decode()
    page = client.get(reverse("care:backlog")).content.decode()
    assert advisor.display_name in page
    client.force_login(advisor)
    assert client.get(reverse("care:backlog")).status_code == 404


@pytest.mark.parametrize("size", [2, 30])
def test_the_backlog_costs_the_same_queries_at_any_size(client, manager, rules, django_assert_max_num_queries, size):
    from django.utils import timezone

    today = timezone.localdate()
    for i in range(size):
        advisor = UserFactory(username=f"a{i}", dealership=manager.dealership)
        call(advisor, rules["maintenance"], tier="B", expires=today + datetime.timedelta(days=30), due=today)
    care_plan_day(day=today)
    client.force_login(manager)
    # session, user, dealership (layout), advisors with capacity, working days, planned counts.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("care:backlog"))
    assert len(response.context["backlog"].rows) == size


def test_a_rerun_during_the_day_fills_only_what_is_left_of_it(advisor, rules):
    from django.utils import timezone

    from care.models import Contact

    AdvisorCapacity.objects.create(user=advisor, daily_calls=2)
    today = timezone.localdate()
    month = today + datetime.timedelta(days=30)
    calls = [call(advisor, rules["maintenance"], tier="A", expires=month, due=today, priority=90 - i) for i in range(3)]
    # One call already made today (logged at the queue).
    Contact.objects.create(dealership=advisor.dealership, customer=calls[0].customer, advisor=advisor, channel="call")

    care_plan_day(day=today)

    planned_days = [planned(t)[0] for t in calls]
    assert planned_days[0] == today
    assert all(d > today for d in planned_days[1:])  # 2 a day, 1 made: room for one more today
