"""The demo's membership club: three years of members, made by the club's own
services and nights (demo.services.club).

One seed of 400 customers is shared by the module's tests (read only).
Expected values are read off the rows themselves and the rules of the
default policy as written (1 point per 50 yuan of customer-paid spend, 5 per
event, 50 per referral; ordinary and silver cards valid 2 years, gold 3),
never from the generator's helpers.
"""

import datetime
from collections import defaultdict
from decimal import Decimal

import pytest
from django.db import transaction
from django.db.models import Count, Q, Sum

from demo.services import seed_demo
from loyalty.models import (
    BenefitAllowance,
    BenefitUse,
    CardEvent,
    EventRegistration,
    MembershipCard,
    PointsEntry,
    Referral,
)
from loyalty.services import add_years, loyalty_nightly
from vehicles.models import Vehicle

TODAY = datetime.date(2025, 6, 15)
N = 400
SEED = 3
YEARS = {"ordinary": 2, "silver": 2, "gold": 3}


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker):
    """The seed, once for the module, rolled back after it."""
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield seed_demo(customers=N, seed=SEED, today=TODAY)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def club(demo, db):
    return demo


def balances() -> dict[int, int]:
    return dict(PointsEntry.objects.values_list("card").annotate(s=Sum("points")).values_list("card", "s"))


def test_members_of_every_level_at_every_store(club):
    active = MembershipCard.objects.filter(status="active")
    levels = set(active.values_list("dealership__code", "level"))
    stores = set(active.values_list("dealership__code", flat=True))
    assert len(stores) == 3
    assert {(store, level) for store in stores for level in ("ordinary", "silver")} <= levels
    assert active.filter(level="gold").exists()
    # A believable share: some customers, not all, are members.
    assert N // 10 < active.count() < N // 2
    assert club.membership_cards == MembershipCard.objects.count()
    assert club.points_entries == PointsEntry.objects.count()


def test_every_card_was_started_by_an_event_and_runs_its_level_s_years(club):
    for card in MembershipCard.objects.prefetch_related("events"):
        actions = [event.action for event in card.events.all()]
        assert actions[0] in {"joined", "upgraded"}, card
        renewals = actions.count("renewed")
        assert card.valid_until == add_years(card.valid_from, YEARS[card.level] * (1 + renewals)), card
        assert card.number == f"M{card.pk:08d}"
        if card.status == "replaced":
            assert actions[-1] == "replaced"
            assert MembershipCard.objects.filter(previous=card).count() == 1
        if card.status == "lapsed":
            # Lapsed the first night after its last valid day.
            assert actions[-1] == "lapsed" and card.valid_until < TODAY


def test_the_ledger_is_the_balance_and_void_cards_hold_nothing(club):
    held = balances()
    assert all(points >= 0 for points in held.values())
    for card in MembershipCard.objects.exclude(status="active"):
        assert held.get(card.pk, 0) == 0, card
    outstanding = sum(
        held.get(pk, 0) for pk in MembershipCard.objects.filter(status="active").values_list("pk", flat=True)
    )
    assert outstanding > 0


def test_repair_points_are_one_per_50_yuan_of_the_order(club):
    entries = PointsEntry.objects.filter(kind="repair_spend").select_related("repair_order")
    assert entries.count() > 50
    for entry in entries:
        order = entry.repair_order
        assert order.payer == "customer" and order.kind != "warranty"
        assert entry.points == int(order.total_amount // Decimal(50))


def test_gold_and_silver_came_through_the_rules_and_one_by_a_manager(club):
    routes = dict(
        MembershipCard.objects.filter(level__in=["silver", "gold"], previous__isnull=False)
        .values_list("obtained")
        .annotate(n=Count("pk"))
    )
    assert set(routes) <= {"points", "continuous", "visits_spend", "referrals", "special"}
    special = MembershipCard.objects.get(obtained="special")
    assert special.level == "gold" and special.previous.level == "silver"
    assert special.events.get().by.role == "manager"


def test_cars_sold_here_in_the_replayed_years_made_their_owners_members(club):
    """The night's join: a car sold here makes its owner a member from the
    purchase day, unless they already held a card of the store then."""
    since = add_years(TODAY, -3)
    bought = Vehicle.objects.filter(sold_here=True, purchase_date__gt=since, purchase_date__lte=TODAY)
    assert bought.count() > 10
    for car in bought.select_related("customer"):
        cards = MembershipCard.objects.filter(customer=car.customer, dealership=car.customer.dealership)
        held = Q(valid_from__lte=car.purchase_date, valid_until__gte=car.purchase_date)
        assert cards.filter(held | Q(valid_from__gte=car.purchase_date)).exists(), car
    joined = MembershipCard.objects.filter(obtained="bought_here")
    assert joined.count() > 10
    for card in joined:
        assert Vehicle.objects.filter(customer=card.customer, sold_here=True, purchase_date=card.valid_from).exists()


def test_rewarded_referrals_earned_their_referrer_50_once(club):
    rewarded = Referral.objects.filter(status="rewarded")
    assert rewarded.exists()
    for referral in rewarded:
        entry = PointsEntry.objects.get(referral=referral)
        assert entry.points == 50 and entry.card.customer_id == referral.referrer_id
    assert not PointsEntry.objects.filter(referral__status="pending").exists()


def test_events_have_guests_and_attendance_earns_5(club):
    registrations = EventRegistration.objects.all()
    assert registrations.filter(status="attended").exists()
    assert registrations.filter(status="registered", event__starts_at__date__gt=TODAY).exists()
    for entry in PointsEntry.objects.filter(kind="event").select_related("registration", "card"):
        assert entry.points == 5 and entry.card.customer_id == entry.registration.customer_id


def test_benefits_used_stay_within_the_card_year_s_allowance(club):
    allowance = {
        (level, benefit): n
        for level, benefit, n in BenefitAllowance.objects.filter(policy__dealership=None).values_list(
            "level", "benefit", "allowance"
        )
    }
    used = defaultdict(int)
    uses = BenefitUse.objects.select_related("card")
    assert uses.count() >= 3
    for use in uses:
        used[(use.card_id, use.card.level, use.benefit, use.card_year)] += use.quantity
        assert use.by.role == "advisor"
    for (_, level, benefit, _), quantity in used.items():
        assert quantity <= allowance[(level, benefit)]


def test_the_demo_s_today_was_the_last_night(club):
    before = (PointsEntry.objects.count(), CardEvent.objects.count(), MembershipCard.objects.count())
    report = loyalty_nightly(day=TODAY)
    assert (report.joined, report.upgraded, report.lapsed, report.reversed, sum(report.earned.values())) == (
        0,
        0,
        0,
        0,
        0,
    )
    assert (PointsEntry.objects.count(), CardEvent.objects.count(), MembershipCard.objects.count()) == before
