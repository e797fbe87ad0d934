"""The nightly rollups (analytics.rollups): hand-computed figures of each table
from hand-built rows, and the incremental runs (what a late, corrected or new
row recomputes, and what it leaves alone)."""

import datetime
import itertools
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from analytics.models import (
    DailyAdvisorStats,
    DailyCareStats,
    DailyOrderStats,
    DailyStoreStats,
    MonthlyAdvisorStats,
    MonthlyCareStats,
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyStoreStats,
    MonthlyVisitorStats,
    RetentionStats,
    RollupRun,
    SurveyResponse,
)
from analytics.rollups import rollups_run
from analytics.tasks import build_rollups_task
from care.models import CareTask, CareTaskEvent, Contact
from care.touches.services import care_tasks_transition
from complaints.models import ComplaintCategory
from complaints.services import complaint_open
from customers.models import ChurnEvent, Customer
from demo.services import seed_demo
from loyalty.services.cards import card_join, card_upgrade
from service.models import Appointment, InsurancePolicy, RepairLine, RepairOrder
from service.services import repair_line_add, repair_order_close
from tests.care.factories import CareRuleFactory
from tests.crm.factories import DealershipFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory
from vehicles.models import Vehicle

TZ = ZoneInfo("Asia/Shanghai")
D1, D2, D3 = datetime.date(2026, 11, 2), datetime.date(2026, 11, 3), datetime.date(2026, 11, 4)
_numbers = itertools.count(1)


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=TZ)


def order(
    vehicle, opened, *, kind="maintenance", payer="customer", labor="0", parts="0", closed=True, voided=False, **extra
):
    labor, parts = Decimal(labor), Decimal(parts)
    return RepairOrder.objects.create(
        **extra,  # the order's advisor, technician
        dealership_id=vehicle.customer.dealership_id,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=f"RO{next(_numbers):05d}",
        kind=kind,
        payer=payer,
        opened_at=opened,
        closed_at=opened + datetime.timedelta(hours=2) if closed else None,
        mileage=10000,
        labor_amount=labor,
        parts_amount=parts,
        total_amount=labor + parts,
        voided_at=opened + datetime.timedelta(hours=3) if voided else None,
    )


def table(model, **filters) -> list[dict]:
    """The table's rows without their ids, in a fixed order."""
    rows = model.objects.filter(**filters).values()
    return sorted(({k: v for k, v in row.items() if k != "id"} for row in rows), key=repr)


def ids(model) -> dict:
    """Each row's id by its key columns and figures: unchanged rows keep theirs."""
    return {repr({k: v for k, v in row.items() if k != "id"}): row["id"] for row in model.objects.values()}


def nothing_written(result) -> bool:
    counts = (result.order_rows, result.store_rows, result.care_rows, result.advisor_rows, result.retention_rows)
    return result.store_days == 0 and not any(counts) and result.overdue_rows == 0


@pytest.fixture
def passat(db):
    return VehicleModelFactory(brand="大众", name="帕萨特", first_maintenance_months=6)


@pytest.fixture
def tiguan(db):
    return VehicleModelFactory(brand="大众", name="途观", first_maintenance_months=6)


@pytest.fixture
def loyal(dealership, advisor, passat):
    """A tier-A customer with a Passat."""
    customer = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="A")
    return VehicleFactory(customer=customer, model=passat)


@pytest.fixture
def marginal(dealership, advisor, tiguan):
    """A tier-C customer with a Tiguan."""
    customer = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="C")
    return VehicleFactory(customer=customer, model=tiguan)


@pytest.fixture
def elsewhere(other_dealership, passat):
    customer = CustomerFactory(dealership=other_dealership, value_tier="B")
    return VehicleFactory(customer=customer, model=passat)


# --- DailyOrderStats ----------------------------------------------------------------------------


def test_orders_are_counted_by_the_day_the_car_came_in_kind_payer_model_and_tier(
    dealership, other_dealership, loyal, marginal, elsewhere, passat, tiguan
):
    order(loyal, at(D1, 9), labor="300.00", parts="200.00")
    order(loyal, at(D1, 15), labor="100.00")
    order(marginal, at(D1, 11), kind="warranty", payer="manufacturer", parts="800.00")
    order(marginal, at(D1, 12), kind="repair", labor="999.00", closed=False)  # still in the workshop
    order(marginal, at(D1, 13), kind="repair", labor="777.00", voided=True)  # cancelled
    # 23:30 in Shanghai is the same day; 00:10 the next (15:30 and 16:10 UTC of D1).
    order(loyal, at(D1, 23, 30), labor="10.00")
    order(loyal, at(D2, 0, 10), kind="accident", payer="insurer", labor="40.00", parts="60.00")
    order(elsewhere, at(D1, 10), labor="50.00")

    rollups_run()

    key = ("dealership_id", "day", "kind", "payer", "model_id", "tier", "visits", "revenue", "labor", "parts")
    got = sorted(DailyOrderStats.objects.values_list(*key), key=repr)
    store, other = dealership.pk, other_dealership.pk
    assert got == sorted(
        [
            (
                store,
                D1,
                "maintenance",
                "customer",
                passat.pk,
                "A",
                3,
                Decimal("610.00"),
                Decimal("410.00"),
                Decimal("200.00"),
            ),
            (
                store,
                D1,
                "warranty",
                "manufacturer",
                tiguan.pk,
                "C",
                1,
                Decimal("800.00"),
                Decimal("0.00"),
                Decimal("800.00"),
            ),
            (
                store,
                D2,
                "accident",
                "insurer",
                passat.pk,
                "A",
                1,
                Decimal("100.00"),
                Decimal("40.00"),
                Decimal("60.00"),
            ),
            (
                other,
                D1,
                "maintenance",
                "customer",
                passat.pk,
                "B",
                1,
                Decimal("50.00"),
                Decimal("50.00"),
                Decimal("0.00"),
            ),
        ],
        key=repr,
    )


def test_a_late_order_updates_its_day_on_the_next_run_and_nothing_else(dealership, loyal, marginal):
    order(loyal, at(D1), labor="100.00")
    order(loyal, at(D2), labor="200.00")
    order(marginal, at(D3), labor="300.00")
    first = rollups_run()
    assert first.full
    before = ids(DailyOrderStats)
    store_before = ids(DailyStoreStats)

    # Opened on D1, typed in today.
    order(loyal, at(D1, 16), labor="50.00", parts="5.00")
    result = rollups_run()

    assert (result.full, result.store_days, result.order_rows) == (False, 1, 1)
    assert (result.store_rows, result.care_rows, result.advisor_rows) == (0, 0, 0)
    d1 = DailyOrderStats.objects.get(day=D1)
    assert (d1.visits, d1.revenue, d1.labor, d1.parts) == (2, Decimal("155.00"), Decimal("150.00"), Decimal("5.00"))
    after = ids(DailyOrderStats)
    untouched = {k: v for k, v in before.items() if "datetime.date(2026, 11, 2)" not in k}
    assert untouched and all(after.get(k) == v for k, v in untouched.items())
    assert ids(DailyStoreStats) == store_before


def test_a_voided_a_corrected_and_a_closed_order_update_their_days(dealership, loyal):
    voided = order(loyal, at(D1), labor="100.00")
    corrected = order(loyal, at(D2), labor="200.00")
    open_order = order(loyal, at(D3), closed=False)
    rollups_run()
    assert set(DailyOrderStats.objects.values_list("day", flat=True)) == {D1, D2}

    voided.voided_at = timezone.now()
    voided.save()
    corrected.labor_amount, corrected.total_amount = Decimal("150.00"), Decimal("150.00")
    corrected.save()
    # Closed through the service: its amounts are summed from the done lines.
    repair_line_add(
        repair_order=open_order, description="机油", line_type=RepairLine.LineType.PART, amount=Decimal("88.00")
    )
    repair_order_close(repair_order=open_order, closed_at=at(D3, 17))
    result = rollups_run()

    assert (result.store_days, result.order_rows) == (3, 2)
    assert sorted(DailyOrderStats.objects.values_list("day", "visits", "revenue")) == [
        (D2, 1, Decimal("150.00")),
        (D3, 1, Decimal("88.00")),
    ]


def test_a_second_run_with_nothing_changed_recomputes_nothing(dealership, loyal, marginal, advisor):
    order(loyal, at(D1), labor="100.00")
    order(marginal, at(D2), kind="repair", labor="10.00")
    ChurnEvent.objects.create(customer=marginal.customer, day=D2, from_state="active", to_state="at_risk")
    rollups_run()
    tables = [DailyOrderStats, DailyStoreStats, DailyCareStats, DailyAdvisorStats, RetentionStats]
    before = {model: ids(model) for model in tables}

    again = rollups_run()

    assert nothing_written(again)
    assert {model: ids(model) for model in tables} == before
    assert RollupRun.objects.count() == 2
    assert RollupRun.objects.order_by("started_at").last().store_days == 0


# --- DailyStoreStats ----------------------------------------------------------------------------


def test_store_figures_of_customers_churn_complaints_surveys_and_club(dealership, advisor, manager, loyal, marginal):
    new = [CustomerFactory(dealership=dealership) for _ in range(3)]
    Customer.objects.filter(pk__in=[c.pk for c in new[:2]]).update(created_at=at(D1, 23, 50))
    Customer.objects.filter(pk=new[2].pk).update(created_at=at(D2, 0, 5))
    Customer.objects.filter(pk__in=[loyal.customer_id, marginal.customer_id]).update(created_at=at(D3))
    for to_state, recovered in [("at_risk", False), ("at_risk", False), ("lost", False), ("active", True)]:
        ChurnEvent.objects.create(
            customer=marginal.customer, day=D1, from_state="active", to_state=to_state, recovered=recovered
        )
    category = ComplaintCategory.objects.get(code="attitude")
    for moment in (at(D1, 9), at(D1, 18), at(D2, 9)):
        complaint_open(
            customer=loyal.customer,
            channel="hotline",
            category=category,
            severity="normal",
            description="等待时间太长",
            by=manager,
            received_at=moment,
        )
    # Post-service: CSAT 5, 4, 2 and NPS 10, 9, 7, 3; lapsed: NPS 9, 2, 0 (CSAT 1 once).
    answers = [
        ("post_service", 5, 10),
        ("post_service", 4, 9),
        ("post_service", 2, None),
        ("post_service", None, 7),
        ("post_service", None, 3),
        ("lapsed", None, 9),
        ("lapsed", None, 2),
        ("lapsed", 1, 0),
    ]
    for n, (kind, csat, nps) in enumerate(answers):
        SurveyResponse.objects.create(
            dealership=dealership,
            customer=loyal.customer,
            kind=kind,
            channel="sms",
            csat=csat,
            nps=nps,
            answered_at=at(D1, 8) + datetime.timedelta(minutes=n),
        )
    # Two joins on D1; an upgrade that day is no join.
    card = card_join(customer=loyal.customer, level="ordinary", route="fee", by=None, day=D1)
    card_join(customer=marginal.customer, level="ordinary", route="fee", by=None, day=D1)
    card_upgrade(card=card, level="silver", route="points", by=None, day=D1)

    rollups_run()

    day1 = DailyStoreStats.objects.get(dealership=dealership, day=D1)
    assert (day1.new_customers, day1.at_risk_customers, day1.lost_customers, day1.recovered_customers) == (2, 2, 1, 1)
    assert day1.complaints == 2
    # CSAT: 5 + 4 + 2 + 1 over 4 answers, 2 of them 4 or 5.
    assert (day1.csat_count, day1.csat_sum, day1.csat_satisfied) == (4, 12, 2)
    assert (day1.nps_count, day1.nps_promoters, day1.nps_detractors) == (4, 2, 1)
    assert (day1.lapsed_nps_count, day1.lapsed_nps_promoters, day1.lapsed_nps_detractors) == (3, 1, 2)
    assert day1.membership_joins == 2
    day2 = DailyStoreStats.objects.get(dealership=dealership, day=D2)
    assert (day2.new_customers, day2.complaints, day2.csat_count, day2.membership_joins) == (1, 1, 0, 0)
    assert DailyStoreStats.objects.get(dealership=dealership, day=D3).new_customers == 2


def policy(vehicle, kind, starts_on, ends_on) -> InsurancePolicy:
    return InsurancePolicy.objects.create(
        dealership_id=vehicle.customer.dealership_id,
        vehicle=vehicle,
        customer=vehicle.customer,
        insurer="平安保险",
        kind=kind,
        premium=Decimal("950.00"),
        starts_on=starts_on,
        ends_on=ends_on,
    )


def test_insurance_renewal_counts_a_policy_of_the_same_car_and_kind_starting_near_the_end(dealership, advisor):
    cars = [VehicleFactory(customer=CustomerFactory(dealership=dealership)) for _ in range(5)]
    end = datetime.date(2026, 12, 1)
    year_before = datetime.date(2025, 12, 1)
    # 1: renewed 11 days early; 2: renewed 60 days early (the window's first day).
    policy(cars[0], "compulsory", year_before, end)
    policy(cars[0], "compulsory", datetime.date(2026, 11, 20), datetime.date(2027, 11, 20))
    policy(cars[1], "commercial", year_before, end)
    policy(cars[1], "commercial", end - datetime.timedelta(days=60), datetime.date(2027, 10, 1))
    # 3: the commercial policy came, not the compulsory one; 4: renewed 31 days late; 5: not renewed.
    policy(cars[2], "compulsory", year_before, end)
    policy(cars[2], "commercial", end, datetime.date(2027, 12, 1))
    policy(cars[3], "compulsory", year_before, end)
    policy(cars[3], "compulsory", end + datetime.timedelta(days=31), datetime.date(2028, 1, 1))
    policy(cars[4], "compulsory", year_before, end)

    rollups_run()

    day = DailyStoreStats.objects.get(dealership=dealership, day=end)
    assert (day.insurance_due, day.insurance_renewed) == (5, 2)

    # The fifth is renewed 30 days after its end (the window's last day), recorded today.
    policy(cars[4], "compulsory", end + datetime.timedelta(days=30), datetime.date(2027, 12, 31))
    result = rollups_run()
    day = DailyStoreStats.objects.get(dealership=dealership, day=end)
    assert (day.insurance_due, day.insurance_renewed) == (5, 3)
    # The policy's own end day and the renewed policy's end day.
    assert result.store_days == 2


# --- DailyCareStats -----------------------------------------------------------------------------


@pytest.fixture
def rules(db):
    return {kind: CareRuleFactory(kind=kind) for kind in ("maintenance", "insurance")}


def touch(
    customer, rules, *, created_on, advisor, kind="maintenance", due=None, planned=None, status="open", outcome=""
):
    return CareTask.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        rule=rules[kind],
        kind=kind,
        channel="call",
        occasion=f"{kind}:{next(_numbers)}",
        event_date=created_on,
        due_date=due or created_on,
        planned_for=planned,
        expires_on=created_on + datetime.timedelta(days=30),
        created_on=created_on,
        assigned_to=advisor,
        status=status,
        outcome=outcome,
    )


def call(task, advisor, *, reached=True, booked=False, when=None, channel="call") -> Contact:
    appointment = None
    if booked:
        appointment = Appointment.objects.create(
            dealership_id=task.dealership_id, customer=task.customer, scheduled_at=at(D3, 9), advisor=advisor
        )
    contact = Contact.objects.create(
        dealership_id=task.dealership_id,
        customer=task.customer,
        advisor=advisor,
        channel=channel,
        reached=reached,
        appointment=appointment,
        created_at=when or timezone.now(),
    )
    contact.tasks.add(task)
    return contact


def test_the_care_funnel_of_a_day_by_kind_and_advisor(dealership, advisor, loyal, marginal, rules):
    colleague = UserFactory(dealership=dealership)
    # Advisor: five maintenance touches of D1 down the funnel.
    booked = touch(loyal.customer, rules, created_on=D1, advisor=advisor)
    call(booked, advisor, booked=True, when=at(D1, 10))
    visit = order(loyal, at(D2), labor="400.00", parts="100.00")
    voided_visit = order(marginal, at(D2, 11), labor="70.00", voided=True)
    not_reached = touch(marginal.customer, rules, created_on=D1, advisor=advisor)
    call(not_reached, advisor, reached=False, when=at(D1, 11))
    reached = touch(marginal.customer, rules, created_on=D1, advisor=advisor)
    call(reached, advisor, when=at(D1, 12))
    touch(loyal.customer, rules, created_on=D1, advisor=advisor)  # not called yet
    came_anyway = touch(loyal.customer, rules, created_on=D1, advisor=advisor)
    CareTask.objects.filter(pk=booked.pk).update(converted_repair_order=visit)
    CareTask.objects.filter(pk=reached.pk).update(converted_repair_order=voided_visit)
    CareTask.objects.filter(pk=came_anyway.pk).update(converted_repair_order=visit)
    # A colleague's insurance touch of D1, booked by its outcome.
    outcome_booked = touch(loyal.customer, rules, created_on=D1, advisor=colleague, kind="insurance")
    call(outcome_booked, colleague, when=at(D1, 15))
    care_tasks_transition(
        tasks=CareTask.objects.filter(pk=outcome_booked.pk), to="done", outcome="booked", by=colleague
    )

    rollups_run()

    key = ("advisor_id", "kind", "generated", "contacted", "reached", "booked", "arrived", "revenue")
    got = sorted(DailyCareStats.objects.filter(dealership=dealership, day=D1).values_list(*key), key=repr)
    assert got == sorted(
        [
            # 5 made, 3 called, 2 reached, 1 booked; 2 came in (the voided visit is none), 500 + 500.
            (advisor.pk, "maintenance", 5, 3, 2, 1, 2, Decimal("1000.00")),
            (colleague.pk, "insurance", 1, 1, 1, 1, 0, Decimal("0.00")),
        ],
        key=repr,
    )


def test_a_call_a_status_change_and_a_linked_visit_update_the_touches_day(dealership, advisor, loyal, rules):
    recent = timezone.localdate() - datetime.timedelta(days=5)
    first = touch(loyal.customer, rules, created_on=recent, advisor=advisor)
    second = touch(loyal.customer, rules, created_on=recent, advisor=advisor)
    old = touch(loyal.customer, rules, created_on=D1, advisor=advisor)
    visit = order(loyal, at(recent + datetime.timedelta(days=1)), labor="300.00")
    rollups_run()
    old_ids = set(DailyCareStats.objects.filter(day=D1).values_list("pk", flat=True))

    # A call today on the first; the morning run links the visit to the second
    # (an UPDATE with no timestamp: the conversion window's check finds it).
    call(first, advisor)
    CareTask.objects.filter(pk=second.pk).update(converted_repair_order=visit)
    result = rollups_run()

    row = DailyCareStats.objects.get(day=recent)
    assert (row.generated, row.contacted, row.reached, row.arrived, row.revenue) == (2, 1, 1, 1, Decimal("300.00"))
    assert set(DailyCareStats.objects.filter(day=D1).values_list("pk", flat=True)) == old_ids
    # The touches' day, and the advisor's day of the call.
    assert result.store_days == 2

    # A status change (the outcome booked) of a touch outside the window.
    care_tasks_transition(
        tasks=CareTask.objects.filter(pk=old.pk), to="done", outcome="booked", job=CareTaskEvent.Job.FULFILLED
    )
    result = rollups_run()
    assert result.store_days == 1
    assert DailyCareStats.objects.get(day=D1).booked == 1


# --- DailyAdvisorStats --------------------------------------------------------------------------


def test_advisor_calls_reached_booked_and_their_customers_csat(dealership, advisor, loyal, marginal, rules):
    colleague = UserFactory(dealership=dealership)
    task = touch(loyal.customer, rules, created_on=D1, advisor=advisor)
    call(task, advisor, booked=True, when=at(D1, 9))
    call(task, advisor, when=at(D1, 10))
    call(task, advisor, reached=False, when=at(D1, 11))
    call(task, advisor, when=at(D1, 12), channel="wechat")  # not a call
    call(task, colleague, reached=False, when=at(D1, 13))
    call(task, advisor, when=at(D2, 0, 30))  # after midnight: the next day
    for csat, who in [(5, advisor), (3, advisor), (None, advisor), (4, colleague)]:
        SurveyResponse.objects.create(
            dealership=dealership,
            customer=marginal.customer,
            advisor=who,
            kind="post_service",
            channel="call",
            csat=csat,
            nps=8,
            answered_at=at(D1, 16),
        )

    rollups_run()

    key = ("day", "advisor_id", "calls", "reached", "booked", "csat_count", "csat_sum")
    got = sorted(DailyAdvisorStats.objects.filter(day__in=[D1, D2]).values_list(*key), key=repr)
    assert got == sorted(
        [(D1, advisor.pk, 3, 2, 1, 2, 8), (D1, colleague.pk, 1, 0, 0, 1, 4), (D2, advisor.pk, 1, 1, 0, 0, 0)],
        key=repr,
    )


def test_overdue_touches_are_a_snapshot_of_the_day_before_kept_by_later_runs(dealership, advisor, loyal, rules):
    colleague = UserFactory(dealership=dealership)
    today = timezone.localdate()
    yesterday = today - datetime.timedelta(days=1)
    late = touch(
        loyal.customer,
        rules,
        created_on=today - datetime.timedelta(days=9),
        advisor=advisor,
        due=today - datetime.timedelta(days=3),
    )
    touch(loyal.customer, rules, created_on=yesterday, advisor=advisor, due=yesterday, planned=yesterday)
    touch(loyal.customer, rules, created_on=yesterday, advisor=advisor, due=today)  # due today: not late yet
    # Due two days ago, but the plan moved it to tomorrow (the advisor's day was full).
    touch(
        loyal.customer,
        rules,
        created_on=yesterday,
        advisor=advisor,
        due=today - datetime.timedelta(days=2),
        planned=today + datetime.timedelta(days=1),
    )
    touch(loyal.customer, rules, created_on=yesterday, advisor=advisor, due=yesterday, status="done", outcome="reached")
    touch(loyal.customer, rules, created_on=yesterday, advisor=colleague, due=yesterday)

    first = rollups_run()

    assert first.overdue_rows == 2
    assert dict(DailyAdvisorStats.objects.filter(day=yesterday).values_list("advisor_id", "overdue")) == {
        advisor.pk: 2,
        colleague.pk: 1,
    }
    # The late call is made today: yesterday's snapshot stays what it was, through
    # a second run and a full rebuild.
    call(late, advisor)
    care_tasks_transition(tasks=CareTask.objects.filter(pk=late.pk), to="done", outcome="reached", by=advisor)
    again = rollups_run()
    rebuilt = rollups_run(full=True)
    assert (again.overdue_rows, rebuilt.overdue_rows) == (0, 0)
    assert dict(DailyAdvisorStats.objects.filter(day=yesterday).values_list("advisor_id", "overdue")) == {
        advisor.pk: 2,
        colleague.pk: 1,
    }
    assert DailyAdvisorStats.objects.get(day=today, advisor=advisor).calls == 1


# --- RetentionStats -----------------------------------------------------------------------------


def car(customer, model, purchased, *, first=None, last=None, sold_here=True, status="active", visits=0) -> Vehicle:
    return VehicleFactory(
        customer=customer,
        model=model,
        purchase_date=purchased,
        first_maintenance_date=first,
        last_maintenance_date=last,
        maintenance_count=visits,
        sold_here=sold_here,
        status=status,
    )


def test_first_and_second_maintenance_return_rates_of_a_purchase_year(dealership, passat):
    owner = CustomerFactory(dealership=dealership)
    d = datetime.date
    car(owner, passat, d(2024, 3, 15), first=d(2024, 9, 10), last=d(2025, 9, 1))  # first and second
    car(owner, passat, d(2024, 5, 1), last=d(2024, 11, 1))  # a first, kept by the nightly refresh
    car(owner, passat, d(2024, 6, 1))  # never came back
    car(owner, passat, d(2024, 4, 1), last=d(2026, 4, 1), visits=3)  # three maintenance visits here
    car(owner, passat, d(2024, 7, 1), last=d(2025, 7, 1), visits=2)  # two visits, no recorded first
    car(owner, passat, d(2024, 2, 1), sold_here=False, last=d(2024, 8, 1))  # bought elsewhere
    car(owner, passat, d(2025, 12, 31), status="sold")  # first maintenance due 2026-06-30: due
    car(owner, passat, d(2026, 1, 1))  # due 2026-07-01: not yet

    rollups_run(day=d(2026, 6, 30))

    # The store's rows, and the group's (one store: the same figures).
    for store in (dealership, None):
        rows = RetentionStats.objects.filter(dimension="maintenance", dealership=store).order_by("band")
        got = [(r.band, r.model_id, r.cars, r.returned, r.returned_2, r.returned_3, r.as_of) for r in rows]
        assert got == [
            # 首保回厂率 of 2024: 4 of 5 cars; the second maintenance 3 of 5; the third 1 of 5.
            ("2024", passat.pk, 5, 4, 3, 1, d(2026, 6, 30)),
            ("2025", passat.pk, 1, 0, 0, 0, d(2026, 6, 30)),
        ]


def test_cars_in_use_by_age_band_and_those_maintained_in_the_last_twelve_months(dealership, passat, tiguan):
    owner = CustomerFactory(dealership=dealership)
    d = datetime.date
    as_of = d(2026, 6, 30)
    car(owner, passat, d(2026, 1, 1))  # 0-1
    car(owner, passat, d(2025, 6, 30), last=d(2026, 1, 5))  # exactly a year: 0-1, came back
    car(owner, passat, d(2025, 6, 29), last=d(2025, 6, 30))  # 1-3; the visit is 12 months old: not counted
    car(owner, passat, d(2023, 6, 30), last=d(2025, 7, 1))  # exactly 3 years: 1-3, came back
    car(owner, tiguan, d(2023, 6, 29), first=d(2024, 1, 1))  # 3-5
    car(owner, passat, d(2019, 1, 1), last=d(2026, 6, 1))  # 5-8
    car(owner, passat, d(2017, 1, 1))  # 8+
    car(owner, passat, d(2017, 1, 1), status="scrapped")  # not in use: not counted

    rollups_run(day=as_of)

    rows = RetentionStats.objects.filter(dimension="age", dealership=dealership)
    got = sorted((r.band, r.model_id, r.cars, r.returned) for r in rows)
    assert got == [
        ("0-1", passat.pk, 2, 1),
        ("1-3", passat.pk, 2, 1),
        ("3-5", tiguan.pk, 1, 0),
        ("5-8", passat.pk, 1, 1),
        ("8+", passat.pk, 1, 0),
    ]


def test_retention_is_rebuilt_by_the_first_run_of_a_day_only(dealership, passat):
    owner = CustomerFactory(dealership=dealership)
    car(owner, passat, datetime.date(2024, 1, 1))
    first = rollups_run()
    car(owner, passat, datetime.date(2024, 2, 1))
    again = rollups_run()
    # The store's age and maintenance rows, and the group's two.
    assert first.retention_rows == 4 and again.retention_rows == 0
    assert RetentionStats.objects.get(dimension="age", dealership=dealership).cars == 1
    rollups_run(full=True)
    assert RetentionStats.objects.get(dimension="age", dealership=dealership).cars == 2


# --- Incremental equals full --------------------------------------------------------------------


def test_the_incremental_runs_end_where_a_full_rebuild_does(dealership, advisor, loyal, marginal, elsewhere, rules):
    recent = timezone.localdate() - datetime.timedelta(days=3)
    order(loyal, at(D1), labor="100.00")
    task = touch(loyal.customer, rules, created_on=recent, advisor=advisor)
    rollups_run()
    # A night's worth of changes, over three runs.
    late = order(marginal, at(D1, 14), kind="repair", labor="20.00", parts="2.50")
    order(elsewhere, at(D2), labor="30.00")
    ChurnEvent.objects.create(customer=marginal.customer, day=D2, from_state="active", to_state="lost")
    call(task, advisor, booked=True)
    rollups_run()
    late.voided_at = timezone.now()
    late.save()
    visit = order(loyal, at(recent, 15), labor="60.00")
    CareTask.objects.filter(pk=task.pk).update(converted_repair_order=visit)
    SurveyResponse.objects.create(
        dealership=dealership,
        customer=loyal.customer,
        advisor=advisor,
        kind="post_service",
        channel="sms",
        csat=4,
        nps=9,
        answered_at=timezone.now(),
    )
    policy(loyal, "compulsory", D1, datetime.date(2027, 11, 2))
    rollups_run()
    # And the months summed from them (the tiers of the month are rebuilt once a day, not here).
    tables = [
        DailyOrderStats,
        DailyStoreStats,
        DailyCareStats,
        DailyAdvisorStats,
        RetentionStats,
        MonthlyOrderStats,
        MonthlyOrderTotals,
        MonthlyStoreStats,
        MonthlyCareStats,
        MonthlyAdvisorStats,
        MonthlyVisitorStats,
    ]
    incremental = {model: table(model) for model in tables}

    rollups_run(full=True)

    assert {model: table(model) for model in tables} == incremental
    assert DailyCareStats.objects.get(day=recent).arrived == 1


# --- How it runs --------------------------------------------------------------------------------


def test_a_night_costs_the_same_statements_whatever_the_history(dealership, passat):
    def history(stores: int, per_day: int) -> None:
        for _ in range(stores):
            store = DealershipFactory()
            cars = [VehicleFactory(customer=CustomerFactory(dealership=store), model=passat) for _ in range(per_day)]
            for day in (D1, D2, D3):
                for vehicle in cars:
                    order(vehicle, at(day), labor="10.00")

    def night() -> int:
        rollups_run()
        last = RepairOrder.objects.order_by("pk").last()
        order(last.vehicle, at(D2, 18), labor="1.00")
        with CaptureQueriesContext(connection) as queries:
            rollups_run()
        return len(queries)

    history(1, 2)
    small = night()
    history(3, 6)
    assert night() == small


def test_the_command_and_the_task(dealership, loyal, capsys):
    order(loyal, at(D1), labor="100.00")
    call_command("build_rollups", "--date", "2026-11-30", "--full")
    out = capsys.readouterr().out
    assert "2026-11-30 (full rebuild)" in out and "1 orders" in out
    assert RetentionStats.objects.filter(as_of=datetime.date(2026, 11, 30)).exists()
    with pytest.raises(CommandError):
        call_command("build_rollups", "--date", "30/11/2026")
    result = build_rollups_task()
    assert (result["full"], result["store_days"]) == ("False", "0")


def test_runs_are_read_only_in_admin(client, group_admin):
    rollups_run()
    client.force_login(group_admin)
    assert client.get("/admin/analytics/rolluprun/").status_code == 200
    assert client.get("/admin/analytics/rolluprun/add/").status_code == 403


def test_rollups_emptied_by_hand_are_rebuilt_whole_by_the_next_run(dealership, loyal):
    order(loyal, at(D1), labor="100.00")
    rollups_run()
    for model in (DailyOrderStats, DailyStoreStats, DailyCareStats, DailyAdvisorStats):
        model.objects.all().delete()

    result = rollups_run()

    assert result.full and result.since is None
    assert DailyOrderStats.objects.get().revenue == Decimal("100.00")


def test_the_demo_ends_with_its_figures_rolled_up(db):
    seed_demo(customers=10, seed=3, today=datetime.date(2026, 6, 15))

    run = RollupRun.objects.get()
    assert run.full and run.store_days > 0
    counted = RepairOrder.objects.filter(closed_at__isnull=False, voided_at__isnull=True)
    assert sum(DailyOrderStats.objects.values_list("visits", flat=True)) == counted.count() > 0
    assert RetentionStats.objects.filter(as_of=datetime.date(2026, 6, 15)).exists()
