"""The nightly tier and churn recompute, on hand-built histories.

Day of the recompute: 2026-11-23. Six months before is 2026-05-23, twelve
months before is 2025-11-23 (worked out by hand). The group policy is the
default: window 12 months; A needs a score of 65, 2 visits and half of the
work paid; C for warranty/free work only or fewer than 2 visits a year; at
risk after 6 months, lost after 12."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from analytics.models import CustomerStats
from analytics.services import tiers_recompute
from customers.models import ChurnEvent, Customer, TierChange, TierSnapshot
from customers.selectors import customer_watch_text
from customers.services import customer_tier_pin
from service.models import RepairOrder
from service.services import repair_order_close
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
DAY = datetime.date(2026, 11, 23)
D = datetime.date
_numbers = iter(range(10_000, 99_999))


def visit(customer, day: datetime.date, amount: str = "1000.00", payer: str = "customer", vehicle=None) -> RepairOrder:
    car = vehicle or customer.vehicles.first() or VehicleFactory(customer=customer, km_per_day=Decimal("200"))
    labour = Decimal(amount)
    return RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number=f"RO{next(_numbers)}",
        kind="maintenance" if payer == "customer" else "warranty",
        payer=payer,
        opened_at=datetime.datetime(day.year, day.month, day.day, 10, tzinfo=SH),
        closed_at=datetime.datetime(day.year, day.month, day.day, 16, tzinfo=SH),
        mileage=1000,
        labor_amount=labour,
        parts_amount=Decimal("0"),
        total_amount=labour,
    )


def person(dealership, **kwargs) -> Customer:
    return CustomerFactory(dealership=dealership, **kwargs)


def state(customer) -> tuple[str, str, bool]:
    customer.refresh_from_db()
    return customer.value_tier, customer.churn_state, customer.churn_confirm_by_call


# --- Churn boundaries ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("last_visit", "expected"),
    [
        (D(2026, 5, 24), "active"),  # the day before six months
        (D(2026, 5, 23), "at_risk"),  # six months to the day
        (D(2025, 11, 24), "at_risk"),  # the day before twelve months
        (D(2025, 11, 23), "lost"),  # twelve months to the day
    ],
)
def test_churn_boundaries(dealership, last_visit, expected):
    customer = person(dealership)
    visit(customer, last_visit)
    tiers_recompute(day=DAY)
    assert state(customer)[1] == expected
    assert customer.last_visit_date == last_visit


def test_a_car_that_has_not_driven_its_interval_stays_active_to_be_confirmed(dealership):
    slow, fast = person(dealership), person(dealership)
    # The test factory's models are serviced every maintenance_interval_km; 20 km a day for
    # 184 days (2026-05-23 → 2026-11-23) is 3,680 km, 200 km a day is 36,800 km.
    slow_car = VehicleFactory(customer=slow, km_per_day=Decimal("20"))
    fast_car = VehicleFactory(customer=fast, km_per_day=Decimal("200"))
    assert 3_680 < slow_car.model.maintenance_interval_km < 36_800
    visit(slow, D(2026, 5, 23), vehicle=slow_car)
    visit(fast, D(2026, 5, 23), vehicle=fast_car)
    tiers_recompute(day=DAY)
    assert state(slow)[1:] == ("active", True)
    assert state(fast)[1:] == ("at_risk", False)


# --- Tiers -----------------------------------------------------------------------------------


def test_each_tier_from_its_history(dealership):
    loyal = person(dealership, name="忠诚")  # three paid visits this year, with us for four years
    for day in (D(2022, 10, 1), D(2026, 3, 1), D(2026, 7, 1), D(2026, 11, 1)):
        visit(loyal, day, "2500.00")
    warranty_only = person(dealership, name="只保修")
    for day in (D(2022, 10, 1), D(2026, 6, 1), D(2026, 10, 1)):
        visit(warranty_only, day, "800.00", payer="manufacturer")
    slow = person(dealership, name="周期长")  # one visit a year: a single one in the window since 2025-11-24
    for day in (D(2023, 11, 1), D(2024, 11, 1), D(2025, 11, 1), D(2026, 9, 1)):
        visit(slow, day)
    big_once = person(dealership, name="一次大单")  # new: one large paid visit, not loyal by spend alone
    visit(big_once, D(2026, 10, 1), "30000.00")
    gone = person(dealership, name="流失")
    visit(gone, D(2025, 10, 1))

    tiers_recompute(day=DAY)
    assert {c.name: state(c)[:2] for c in (loyal, warranty_only, slow, big_once, gone)} == {
        "忠诚": ("A", "active"),
        "只保修": ("C", "active"),
        "周期长": ("C", "active"),
        "一次大单": ("B", "active"),
        "流失": ("D", "lost"),
    }


def test_a_voided_order_is_no_visit_and_no_spend(dealership):
    gone = person(dealership, name="流失")
    visit(gone, D(2025, 10, 1))
    voided = visit(gone, D(2026, 11, 1), "30000.00")
    RepairOrder.objects.filter(pk=voided.pk).update(voided_at=datetime.datetime(2026, 11, 2, 9, tzinfo=SH))

    tiers_recompute(day=DAY)

    # Without the voided order, the last visit is 2025-10-01: more than 12 months before 2026-11-23.
    assert state(gone)[:2] == ("D", "lost")
    stats = CustomerStats.objects.get(customer=gone)
    assert (stats.visits, stats.total_spend) == (0, Decimal("0"))


def test_the_score_is_the_weighted_mean_of_its_parts(dealership):
    customer = person(dealership)
    # In the window (2025-11-24 → 2026-11-23): paid 2 × 1500 = 3000 of the 6000 target (0.5),
    # 2 of 3 visits (0.667), last visit within a month (1.0), all paid (1.0); first visit two
    # whole years ago, of the 3-year target (0.667); no referrals.
    visit(customer, D(2024, 11, 1), "900.00")
    visit(customer, D(2026, 6, 1), "1500.00")
    visit(customer, D(2026, 11, 1), "1500.00")
    tiers_recompute(day=DAY)
    customer.refresh_from_db()
    # (30×0.5 + 25×(2/3) + 15×1 + 10×1 + 10×(2/3) + 10×0) / 100 × 100 = 63.33…
    assert customer.tier_score == Decimal("63.3")
    assert customer.value_tier == "B"  # under the A threshold of 65


def test_a_pinned_tier_survives_the_recompute(dealership, manager):
    customer = person(dealership)
    visit(customer, D(2025, 10, 1))  # lost: the recompute would say D
    customer_tier_pin(customer=customer, tier="A", reason="集团大客户", by=manager, day=DAY)
    tiers_recompute(day=DAY)
    assert state(customer)[:2] == ("A", "lost")
    assert list(TierChange.objects.values_list("cause", "from_tier", "to_tier", "reason")) == [
        ("pinned", "B", "A", "集团大客户")
    ]
    customer_tier_pin(customer=customer, tier=None, reason="", by=manager, day=DAY)
    tiers_recompute(day=DAY)
    assert state(customer)[0] == "D"
    assert TierChange.objects.filter(cause="recompute", from_tier="A", to_tier="D").count() == 1


def test_history_is_kept_and_a_rerun_changes_nothing(dealership):
    customer = person(dealership, value_tier="A")
    visit(customer, D(2026, 4, 1))
    first = tiers_recompute(day=DAY)
    change = TierChange.objects.get()
    assert (change.day, change.from_tier, change.to_tier, change.cause) == (DAY, "A", "C", "recompute")
    event = ChurnEvent.objects.get()
    assert (event.day, event.from_state, event.to_state, event.recovered) == (DAY, "active", "at_risk", False)
    assert (first.tier_changes, first.churn_changes) == (1, 1)
    again = tiers_recompute(day=DAY)
    assert (again.tier_changes, again.churn_changes, again.watched) == (0, 0, 0)
    assert TierChange.objects.count() == 1 and ChurnEvent.objects.count() == 1
    assert list(TierSnapshot.objects.values_list("month", "tier", "churn_state")) == [(D(2026, 11, 1), "C", "at_risk")]


def test_a_new_repair_order_recovers_a_lost_customer(dealership):
    customer = person(dealership)
    visit(customer, D(2025, 6, 1))
    tiers_recompute(day=DAY)
    assert state(customer)[1] == "lost"
    order = visit(customer, D(2026, 11, 24))
    repair_order_close(repair_order=order, closed_at=order.closed_at)
    assert state(customer)[1] == "active"
    event = ChurnEvent.objects.get(recovered=True)
    assert (event.day, event.from_state, event.to_state) == (D(2026, 11, 24), "lost", "active")
    # The next night's recompute agrees and records nothing more.
    tiers_recompute(day=D(2026, 11, 24))
    assert ChurnEvent.objects.filter(recovered=True).count() == 1
    assert state(customer)[1] == "active"


# --- Early warning ------------------------------------------------------------------------------
#
# Only while the customer is still active by time (at risk and lost customers get win-back calls).
# Visit rate: watched when the days since the last visit exceed 1.5 × the customer's usual gap,
# the median of the gaps between their last (up to) six visit days, with at least three visits.
# Tier down: a tier that went down from one recompute to the next, never on the customer's first
# recompute, and only once the customer is past their usual gap (or has none yet).


def watched() -> dict[str, tuple]:
    return {c.name: (c.watch_reason, c.watch_since) for c in Customer.objects.exclude(watch_reason="").order_by("name")}


def figures(customer) -> tuple:
    customer.refresh_from_db()
    return (
        customer.watch_usual_days,
        customer.watch_days_since,
        customer.watch_last_visit,
        customer.watch_from_tier,
        customer.watch_to_tier,
    )


def test_a_tier_a_customer_who_comes_every_four_months_is_not_watched(dealership):
    regular = person(dealership, name="四个月")
    # Every 120 days, the last one 100 days before 2026-11-23: well inside 1.5 × 120 = 180.
    for day in (D(2025, 8, 20), D(2025, 12, 18), D(2026, 4, 17), D(2026, 8, 15)):
        visit(regular, day, "2500.00")
    report = tiers_recompute(day=DAY)
    assert state(regular)[:2] == ("A", "active")
    stats = CustomerStats.objects.get(customer=regular)
    assert (stats.usual_gap_days, stats.days_since_visit, stats.watch_visit_rate) == (120, 100, False)
    assert watched() == {}
    assert report.watched == 0


def slipping(dealership):
    """Seven visit days; the last six are 70, 50, 65, 55 and 60 days apart (median 60, where
    all seven gaps would give (60 + 65) / 2 = 62.5); the last is on 2026-07-26, 120 days
    before 2026-11-23: twice the usual gap, and still under six months (active)."""
    customer = person(dealership, name="变少")
    for day in (
        D(2024, 12, 3),  # 300 days before the next one: too old to count
        D(2025, 9, 29),
        D(2025, 12, 8),
        D(2026, 1, 27),
        D(2026, 4, 2),
        D(2026, 5, 27),
        D(2026, 7, 26),
    ):
        visit(customer, day)
    # A second car in on one of those days: the same visit, not a gap of 0 days.
    visit(customer, D(2026, 4, 2), vehicle=VehicleFactory(customer=customer))
    return customer


def test_a_customer_at_twice_their_usual_gap_is_watched_with_the_figures(dealership):
    customer = slipping(dealership)
    report = tiers_recompute(day=DAY)
    assert state(customer)[1] == "active"
    assert watched() == {"变少": ("visit_rate", DAY)}
    assert figures(customer) == (60, 120, D(2026, 7, 26), "", "")
    assert report.watched == 1
    with translation.override("en"):
        assert customer_watch_text(customer) == "Visits slowed down: usually every 60 days; 120 days since 2026-07-26"


def test_a_watch_is_kept_and_not_renewed_while_it_lasts(dealership):
    customer = slipping(dealership)
    tiers_recompute(day=DAY)
    later = tiers_recompute(day=D(2026, 11, 30))
    assert later.watched == 0
    assert watched() == {"变少": ("visit_rate", DAY)}
    assert figures(customer) == (60, 120, D(2026, 7, 26), "", "")


@pytest.mark.parametrize(
    ("last_visit", "expected"),
    [
        # Gaps of 60 days: 1.5 × 60 = 90 days since the last visit is not yet too long, 91 is.
        (D(2026, 8, 25), ""),  # 90 days before 2026-11-23
        (D(2026, 8, 24), "visit_rate"),  # 91 days
    ],
)
def test_the_visit_rate_boundary_is_one_and_a_half_usual_gaps(dealership, last_visit, expected):
    customer = person(dealership)
    for gaps in (180, 120, 60, 0):
        visit(customer, last_visit - datetime.timedelta(days=gaps))
    tiers_recompute(day=DAY)
    customer.refresh_from_db()
    assert customer.watch_reason == expected


def test_with_fewer_than_three_visits_there_is_no_usual_gap(dealership):
    customer = person(dealership, name="两次")
    # 30 days apart, the last 100 days ago: over 1.5 × 30, but two visits are no rhythm yet.
    visit(customer, D(2026, 7, 16))
    visit(customer, D(2026, 8, 15))
    tiers_recompute(day=DAY)
    assert CustomerStats.objects.get(customer=customer).usual_gap_days is None
    assert watched() == {}


def test_at_risk_customers_are_left_to_win_back_not_watched(dealership):
    customer = person(dealership, name="久未来")
    # Every 60 days, the last on 2026-05-01.
    for day in (D(2025, 11, 2), D(2026, 1, 1), D(2026, 3, 2), D(2026, 5, 1)):
        visit(customer, day)
    # On 2026-05-15: 4,000 paid of the 6,000 target (20), 3 of 3 visits (25), within a month
    # (15), all paid (10), under a year with us (0): a score of 70, A.
    tiers_recompute(day=D(2026, 5, 15))
    assert state(customer)[:2] == ("A", "active")
    # On 2026-11-23 the last visit is 206 days old, far past 1.5 × 60 and six months: at risk, C.
    tiers_recompute(day=DAY)
    assert state(customer)[:2] == ("C", "at_risk")
    assert CustomerStats.objects.get(customer=customer).usual_gap_days == 60
    assert TierChange.objects.filter(customer=customer, from_tier="A", to_tier="C", day=DAY).exists()
    assert watched() == {}


def test_the_first_recompute_of_a_fresh_install_moves_no_tier_down(dealership):
    # Tiers from before the first recompute (imported, or the default B) are no tier on record.
    imported = person(dealership, value_tier="A", name="导入A")
    visit(imported, D(2026, 4, 1))  # at risk now: C
    default = person(dealership, name="默认B")
    visit(default, D(2025, 10, 1))  # lost: D
    report = tiers_recompute(day=DAY)
    assert (state(imported)[0], state(default)[0]) == ("C", "D")
    assert sorted(TierChange.objects.values_list("from_tier", "to_tier")) == [("A", "C"), ("B", "D")]
    assert watched() == {}
    assert report.watched == 0


def a_tier_customer(dealership):
    """On 2026-06-01: four paid visits of 2,500 in the window (2025-06-02 → 2026-06-01), the
    last within a month, with us for three years: A. Visit days 2023-05-01, 2025-06-10,
    2025-10-10, 2026-02-10, 2026-05-20."""
    customer = person(dealership, name="下滑")
    for day in (D(2023, 5, 1), D(2025, 6, 10), D(2025, 10, 10), D(2026, 2, 10), D(2026, 5, 20)):
        visit(customer, day, "2500.00")
    tiers_recompute(day=D(2026, 6, 1))
    assert state(customer)[0] == "A"
    assert watched() == {}  # the first recompute: a move up from the default B anyway
    return customer


def test_a_move_from_a_to_b_past_the_usual_gap_is_watched_with_the_tiers(dealership):
    customer = a_tier_customer(dealership)
    # Then a large warranty job: by 2026-11-23, 5,000 paid of 13,000 in the window is under
    # half: B. Gaps 771, 122, 123, 99 and 42 days: usually 122; 2026-07-01 is 145 days ago,
    # past 122 (and not yet 1.5 × 122 = 183, nor six months).
    visit(customer, D(2026, 7, 1), "8000.00", payer="manufacturer")
    report = tiers_recompute(day=DAY)
    assert state(customer)[:2] == ("B", "active")
    stats = CustomerStats.objects.get(customer=customer)
    assert (stats.usual_gap_days, stats.days_since_visit) == (122, 145)
    assert watched() == {"下滑": ("tier_down", DAY)}
    assert figures(customer) == (None, None, None, "A", "B")
    assert report.watched == 1
    with translation.override("en"):
        assert customer_watch_text(customer) == "Tier went down: A → B on 2026-11-23"
    # 61 days later, nothing new worth a call (at risk by now: win-back's): the watch has
    # expired, figures and all.
    tiers_recompute(day=D(2027, 1, 23))
    assert watched() == {}
    assert figures(customer) == (None, None, None, "", "")


def test_a_move_from_a_to_b_within_the_usual_gap_is_not_watched(dealership):
    customer = a_tier_customer(dealership)
    # The same warranty job on 2026-09-15, 69 days before 2026-11-23: B, but the customer
    # still comes as usual (every 122 days), so the tier history has it and the watch list not.
    visit(customer, D(2026, 9, 15), "8000.00", payer="manufacturer")
    report = tiers_recompute(day=DAY)
    assert state(customer)[:2] == ("B", "active")
    assert TierChange.objects.filter(customer=customer, from_tier="A", to_tier="B", day=DAY).exists()
    assert watched() == {}
    assert report.watched == 0


# --- Scale -------------------------------------------------------------------------------------------


def recompute_statements(day) -> int:
    with CaptureQueriesContext(connection) as queries:
        tiers_recompute(day=day)
    return len(queries.captured_queries)


def test_the_statement_count_does_not_grow_with_the_customers(dealership):
    for n in range(3):
        visit(person(dealership), D(2026, 1 + n, 1))
    small = recompute_statements(DAY)
    for n in range(40):
        visit(person(dealership), D(2025 + n % 2, 1 + n % 12, 1))
    assert recompute_statements(DAY) == small


def test_the_customer_page_shows_the_tier_history(client, advisor, customer, manager):
    customer_tier_pin(customer=customer, tier="A", reason="集团大客户", by=manager, day=DAY)
    client.force_login(advisor)
    page = client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'id="tier-history"' in page and "集团大客户" in page and "B → <strong>A</strong>" in page
