"""The monthly rollups the dashboards read (analytics.rollups.monthly): hand-computed figures of
each table from hand-built rows, the group's rows, what a late order recomputes, and the tiers
of the month rebuilt once a day."""

import datetime
from decimal import Decimal

import pytest
from dateutil.relativedelta import relativedelta
from django.utils import timezone

from analytics.models import (
    DailyAdvisorStats,
    MonthlyAdvisorStats,
    MonthlyAdvisorTierStats,
    MonthlyAdvisorTotals,
    MonthlyCareStats,
    MonthlyCareTotals,
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyStoreStats,
    MonthlyTierMoves,
    MonthlyTierStats,
    MonthlyVisitorStats,
    SurveyResponse,
    WatchListEntry,
)
from analytics.rollups import rollups_run
from customers.models import ChurnEvent, Customer, TierSnapshot
from service.models import Technician
from tests.analytics.test_rollups import D1, D2, at, call, order, table, touch
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

NOV, DEC = datetime.date(2026, 11, 1), datetime.date(2026, 12, 1)
ORDER_KEY = ("dealership_id", "month", "kind", "payer", "model_id", "tier", "visits", "revenue", "labor", "parts")
TOTAL_KEY = ("dealership_id", "month", "kind", "payer", "tier", "visits", "revenue", "labor", "parts")


@pytest.fixture
def passat(db):
    return VehicleModelFactory(brand="大众", name="帕萨特", first_maintenance_months=6)


@pytest.fixture
def tiguan(db):
    return VehicleModelFactory(brand="大众", name="途观", first_maintenance_months=6)


def car(store, model, *, tier="B", advisor=None):
    return VehicleFactory(customer=CustomerFactory(dealership=store, value_tier=tier, advisor=advisor), model=model)


def rows(model, key) -> list[tuple]:
    return sorted(model.objects.values_list(*key), key=repr)


def money(*amounts: str) -> tuple:
    return tuple(Decimal(a) for a in amounts)


# --- The orders' months ---------------------------------------------------------------------------


@pytest.fixture
def orders(dealership, other_dealership, passat, tiguan):
    loyal = car(dealership, passat, tier="A")
    marginal = car(dealership, tiguan, tier="C")
    elsewhere = car(other_dealership, passat, tier="B")
    far = car(other_dealership, passat, tier="A")
    order(loyal, at(D1, 9), labor="300.00", parts="200.00")
    order(loyal, at(D2, 9), labor="100.00")
    order(marginal, at(D1, 11), kind="warranty", payer="manufacturer", parts="800.00")
    order(marginal, at(D1, 12), kind="repair", labor="999.00", closed=False)  # still open: not counted
    order(loyal, at(DEC, 9), labor="50.00")
    order(elsewhere, at(D1, 10), labor="70.00")
    order(far, at(D2, 10), labor="30.00")
    return {"loyal": loyal, "marginal": marginal, "elsewhere": elsewhere, "far": far}


def test_the_orders_of_a_month_are_its_days_summed_and_the_group_sums_the_stores(
    dealership, other_dealership, passat, tiguan, orders
):
    rollups_run()

    store, other = dealership.pk, other_dealership.pk
    # Pudong's November: the Passat's two maintenance visits (500 + 100), the Tiguan's warranty work.
    # Minhang's November: one visit of a B and one of an A customer. December: one visit.
    by_store = [
        (store, NOV, "maintenance", "customer", passat.pk, "A", 2, *money("600.00", "400.00", "200.00")),
        (store, NOV, "warranty", "manufacturer", tiguan.pk, "C", 1, *money("800.00", "0.00", "800.00")),
        (store, DEC, "maintenance", "customer", passat.pk, "A", 1, *money("50.00", "50.00", "0.00")),
        (other, NOV, "maintenance", "customer", passat.pk, "B", 1, *money("70.00", "70.00", "0.00")),
        (other, NOV, "maintenance", "customer", passat.pk, "A", 1, *money("30.00", "30.00", "0.00")),
    ]
    # The group's rows: both stores' A maintenance of November in one row (2 + 1 visits, 600 + 30).
    group = [
        (None, NOV, "maintenance", "customer", passat.pk, "A", 3, *money("630.00", "430.00", "200.00")),
        (None, NOV, "warranty", "manufacturer", tiguan.pk, "C", 1, *money("800.00", "0.00", "800.00")),
        (None, NOV, "maintenance", "customer", passat.pk, "B", 1, *money("70.00", "70.00", "0.00")),
        (None, DEC, "maintenance", "customer", passat.pk, "A", 1, *money("50.00", "50.00", "0.00")),
    ]
    assert rows(MonthlyOrderStats, ORDER_KEY) == sorted(by_store + group, key=repr)
    # Over the models: the same rows here, as each key has one model.
    assert rows(MonthlyOrderTotals, TOTAL_KEY) == sorted([row[:4] + row[5:] for row in by_store + group], key=repr)


def _row_ids(model) -> dict[tuple, int]:
    return {(r.dealership_id, r.month, r.kind, r.payer, r.tier): r.pk for r in model.objects.all()}


def test_a_late_order_recomputes_its_month_and_the_groups_month_only(dealership, passat, orders):
    rollups_run()
    before = _row_ids(MonthlyOrderTotals)

    order(orders["loyal"], at(D2, 16), labor="5.00")  # November, typed in today
    result = rollups_run()

    # Pudong's November: its two rows by model and its two over the models; the group's November
    # whole: three rows in each table (A and B maintenance, C warranty): 2 + 2 + 3 + 3.
    assert result.month_rows == 10
    nov = MonthlyOrderTotals.objects.get(dealership=dealership, month=NOV, kind="maintenance")
    group_nov = MonthlyOrderTotals.objects.get(dealership=None, month=NOV, kind="maintenance", tier="A")
    assert (nov.visits, nov.revenue) == (3, Decimal("605.00"))
    assert (group_nov.visits, group_nov.revenue) == (4, Decimal("635.00"))
    # December's rows (Pudong's, the group's) and Minhang's two November rows are the very rows they were.
    recomputed = {(dealership.pk, NOV), (None, NOV)}
    untouched = {key: pk for key, pk in before.items() if key[:2] not in recomputed}
    after = _row_ids(MonthlyOrderTotals)
    assert len(untouched) == 4 and all(after[key] == pk for key, pk in untouched.items())


def test_monthly_sums_emptied_by_hand_are_summed_again_from_the_days(dealership, orders):
    rollups_run()
    expected = table(MonthlyOrderTotals), table(MonthlyVisitorStats)
    MonthlyOrderTotals.objects.all().delete()
    MonthlyVisitorStats.objects.all().delete()

    result = rollups_run()  # nothing changed since: the days stay, the months come back

    assert not result.full and result.store_days == 0
    assert (table(MonthlyOrderTotals), table(MonthlyVisitorStats)) == expected


# --- Store, care and advisor months -----------------------------------------------------------------


def test_the_store_and_care_months_sum_their_days(dealership, advisor, passat):
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    rules = {"maintenance": CareRuleFactory(kind="maintenance")}
    for day in (D1, D2):
        ChurnEvent.objects.create(customer=customer, day=day, from_state="active", to_state="lost")
    first = touch(customer, rules, created_on=D1, advisor=advisor)
    touch(customer, rules, created_on=D2, advisor=advisor)
    call(first, advisor, when=at(D1, 10))

    rollups_run()

    store = MonthlyStoreStats.objects.get(dealership=dealership, month=NOV)
    assert store.lost_customers == 2  # one each day
    assert MonthlyStoreStats.objects.get(dealership=None, month=NOV).lost_customers == 2
    funnel = MonthlyCareStats.objects.get(dealership=dealership, month=NOV, kind="maintenance", advisor=advisor)
    assert (funnel.generated, funnel.contacted, funnel.reached) == (2, 1, 1)
    # The store's (over its advisors) and the group's.
    for store in (dealership, None):
        total = MonthlyCareTotals.objects.get(dealership=store, month=NOV, kind="maintenance")
        assert (total.generated, total.contacted, total.reached) == (2, 1, 1)


def test_the_advisors_month_keeps_the_overdue_of_its_last_day_and_counts_satisfied_answers(dealership, advisor, passat):
    colleague = UserFactory(dealership=dealership)
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    rules = {"maintenance": CareRuleFactory(kind="maintenance")}
    # Done: no touch of theirs is overdue when this morning's snapshot is taken.
    task = touch(customer, rules, created_on=D1, advisor=advisor, status="done", outcome="reached")
    call(task, advisor, when=at(D1, 9))
    call(task, advisor, reached=False, when=at(D1, 10))
    call(task, advisor, booked=True, when=at(D2, 9))
    for csat in (5, 4, 2):  # two of the three answers are 4 or 5
        SurveyResponse.objects.create(
            dealership=dealership,
            customer=customer,
            advisor=advisor,
            kind="post_service",
            channel="sms",
            csat=csat,
            answered_at=at(D2, 15),
        )
    # The overdue snapshots earlier mornings took (kept by every run): Nov 2 and 29, Dec 1.
    for day, who, overdue in [
        (D1, advisor, 5),
        (datetime.date(2026, 11, 29), advisor, 2),
        (datetime.date(2026, 11, 29), colleague, 1),
        (DEC, advisor, 7),
    ]:
        DailyAdvisorStats.objects.create(dealership=dealership, day=day, advisor=who, overdue=overdue)

    rollups_run(full=True)

    day2 = DailyAdvisorStats.objects.get(dealership=dealership, day=D2, advisor=advisor)
    assert (day2.csat_count, day2.csat_sum, day2.csat_satisfied) == (3, 11, 2)
    key = ("month", "advisor_id", "calls", "reached", "booked", "csat_count", "csat_sum", "csat_satisfied", "overdue")
    # November: three calls (two reached, one booked); the overdue of the 29th, the store's last day
    # with figures, not 5 + 2. December: the 1st's snapshot.
    assert rows(MonthlyAdvisorStats, key) == sorted(
        [
            (NOV, advisor.pk, 3, 2, 1, 3, 11, 2, 2),
            (NOV, colleague.pk, 0, 0, 0, 0, 0, 0, 1),
            (DEC, advisor.pk, 0, 0, 0, 0, 0, 0, 7),
        ],
        key=repr,
    )
    # The store's month over its advisors: their sums, and their last day's overdue added up (2 + 1).
    store_key = ("month", "calls", "reached", "booked", "csat_count", "csat_sum", "csat_satisfied", "overdue")
    assert rows(MonthlyAdvisorTotals, store_key) == [(NOV, 3, 2, 1, 3, 11, 2, 3), (DEC, 0, 0, 0, 0, 0, 0, 7)]


# --- Customers with a visit ---------------------------------------------------------------------------


def test_customers_with_a_visit_are_distinct_per_store_month_and_attribution(
    dealership, other_dealership, advisor, passat, tiguan
):
    colleague = UserFactory(dealership=dealership)
    technician = Technician.objects.create(dealership=dealership, name="王师傅")
    loyal = car(dealership, passat, advisor=advisor)
    marginal = car(dealership, tiguan, advisor=advisor)
    elsewhere = car(other_dealership, passat)
    order(loyal, at(D1, 9), technician=technician)  # no advisor on the order: the customer's
    order(loyal, at(D2, 9), advisor=colleague)
    order(marginal, at(D1, 11), voided=True)  # any order opened counts as a visit here
    order(loyal, at(DEC, 9))
    order(elsewhere, at(D1, 10))

    rollups_run()

    key = ("dealership_id", "month", "attribution", "advisor_id", "technician_id", "model_id", "customers")
    store, other = dealership.pk, other_dealership.pk
    assert rows(MonthlyVisitorStats, key) == sorted(
        [
            # Pudong's November: two customers; by advisor, both are the advisor's (the customer's
            # advisor where the order names none) and one the colleague's too; by technician, one
            # with 王师傅 and two with nobody named; by model, one each.
            (store, NOV, "all", None, None, None, 2),
            (store, NOV, "advisor", advisor.pk, None, None, 2),
            (store, NOV, "advisor", colleague.pk, None, None, 1),
            (store, NOV, "technician", None, technician.pk, None, 1),
            (store, NOV, "technician", None, None, None, 2),
            (store, NOV, "model", None, None, passat.pk, 1),
            (store, NOV, "model", None, None, tiguan.pk, 1),
            (store, DEC, "all", None, None, None, 1),
            (store, DEC, "advisor", advisor.pk, None, None, 1),
            (store, DEC, "technician", None, None, None, 1),
            (store, DEC, "model", None, None, passat.pk, 1),
            (other, NOV, "all", None, None, None, 1),
            (other, NOV, "advisor", None, None, None, 1),
            (other, NOV, "technician", None, None, None, 1),
            (other, NOV, "model", None, None, passat.pk, 1),
        ],
        key=repr,
    )


# --- The tiers of the month ---------------------------------------------------------------------------


@pytest.fixture
def tiers_world(dealership, advisor):
    """This month: c1 (A, active) and c2 (B, at risk) are the advisor's, c3 (C) a colleague's, and
    one more moved away. Last month's snapshot: c1 was B, c3 C, the one who moved A; c2 had none."""
    colleague = UserFactory(dealership=dealership)
    today = timezone.localdate()
    this, before = today.replace(day=1), today.replace(day=1) - relativedelta(months=1)
    c1 = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="A")
    c2 = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="B", churn_state="at_risk")
    c3 = CustomerFactory(dealership=dealership, advisor=colleague, value_tier="C")
    gone = CustomerFactory(dealership=dealership, advisor=advisor, value_tier="A", status=Customer.Status.MOVED)
    for customer, tier in [(c1, "B"), (c3, "C"), (gone, "A")]:
        TierSnapshot.objects.create(
            month=before, customer=customer, dealership=dealership, tier=tier, churn_state="active"
        )
    # This month's moves: c2 turned at risk twice (one customer), c1 came back.
    ChurnEvent.objects.create(customer=c2, day=this, from_state="active", to_state="at_risk")
    ChurnEvent.objects.create(customer=c2, day=today, from_state="active", to_state="at_risk")
    ChurnEvent.objects.create(customer=c1, day=today, from_state="at_risk", to_state="active", recovered=True)
    # The watch list: c1 flagged after c3; the customer who moved is no longer listed.
    for customer, since in [(c3, this), (c1, today), (gone, today)]:
        customer.watch_reason, customer.watch_since = "tier_down", since
        customer.save(update_fields=["watch_reason", "watch_since"])
    return {"this": this, "before": before, "colleague": colleague, "c1": c1, "c3": c3}


def test_the_months_tiers_by_advisor_with_the_months_churn_moves(dealership, advisor, tiers_world):
    rollups_run()

    this, before, colleague = tiers_world["this"], tiers_world["before"], tiers_world["colleague"]
    key = ("month", "advisor_id", "tier", "churn_state", "customers", "turned_at_risk", "turned_lost", "recovered")
    assert rows(MonthlyAdvisorTierStats, key) == sorted(
        [
            # This month: the active customers now (the one who moved is not).
            (this, advisor.pk, "A", "active", 1, 0, 0, 0),
            (this, advisor.pk, "B", "at_risk", 1, 0, 0, 0),
            (this, colleague.pk, "C", "active", 1, 0, 0, 0),
            (this, advisor.pk, "", "", 0, 1, 0, 1),  # c2 at risk (once), c1 recovered
            # Last month: its snapshot, by each customer's advisor now.
            (before, advisor.pk, "B", "active", 1, 0, 0, 0),
            (before, advisor.pk, "A", "active", 1, 0, 0, 0),
            (before, colleague.pk, "C", "active", 1, 0, 0, 0),
        ],
        key=repr,
    )
    store_key = ("dealership_id", "month", "tier", "churn_state", "customers")
    this_month = [(this, "A", "active", 1), (this, "B", "at_risk", 1), (this, "C", "active", 1)]
    last_month = [(before, "B", "active", 1), (before, "A", "active", 1), (before, "C", "active", 1)]
    assert rows(MonthlyTierStats, store_key) == sorted(
        [(store, *row) for store in (dealership.pk, None) for row in this_month + last_month], key=repr
    )


def test_the_movement_between_last_months_tier_and_this_months(dealership, tiers_world):
    rollups_run()

    moves = MonthlyTierMoves.objects.filter(dealership=dealership, month=tiers_world["this"])
    # c1 B → A, c2 new → B, c3 C → C, the one who moved A → no longer counted.
    assert sorted(moves.values_list("from_tier", "to_tier", "customers")) == [
        ("", "B", 1),
        ("A", "", 1),
        ("B", "A", 1),
        ("C", "C", 1),
    ]


def test_the_watch_list_keeps_each_stores_newest_flags_of_active_customers(dealership, tiers_world):
    rollups_run()

    entries = WatchListEntry.objects.order_by("-since")
    assert [(e.customer_id, e.since) for e in entries] == [
        (tiers_world["c1"].pk, timezone.localdate()),
        (tiers_world["c3"].pk, tiers_world["this"]),
    ]


def test_the_tiers_are_rebuilt_by_the_first_run_of_a_day_only(dealership, advisor, tiers_world):
    first = rollups_run()
    CustomerFactory(dealership=dealership, advisor=advisor, value_tier="D")
    again = rollups_run()
    assert first.tier_rows > 0 and again.tier_rows == 0
    this = tiers_world["this"]
    assert not MonthlyTierStats.objects.filter(month=this, tier="D").exists()
    rollups_run(full=True)
    assert MonthlyTierStats.objects.get(dealership=dealership, month=this, tier="D").customers == 1
