"""The card panel of the customer 360: level, number, points, valid until,
benefits left this card year, the "renew" hint, in one query."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from loyalty.models import BenefitAllowance, CardEvent, LoyaltyPolicy, MembershipCard
from loyalty.panels import card_context
from loyalty.selectors import card_summary
from loyalty.services import benefit_redeem, card_join, card_transition, points_adjust
from service.models import RepairOrder
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
JOINED = D(2025, 3, 10)  # a silver card: valid until 2027-03-10; card years start on 10 March


def at(day: datetime.date) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, 14, tzinfo=SH)


@pytest.fixture
def card(customer, manager):
    card = card_join(customer=customer, level="silver", route="fee", by=None, day=JOINED, now=at(JOINED))
    for n, day in ((30, D(2025, 4, 1)), (12, D(2026, 4, 2))):
        points_adjust(card=card, points=n, reason="活动补录", by=manager, day=day, now=at(day))
    # Card year 2025-03-10 – 2026-03-09: three washes. Card year from 2026-03-10: an alignment on the
    # anniversary itself, washes of 2 and 1, 15 km of towing.
    for benefit, quantity, day in (
        ("wash", 3, D(2025, 6, 1)),
        ("alignment", 1, D(2026, 3, 10)),
        ("wash", 2, D(2026, 4, 1)),
        ("wash", 1, D(2026, 4, 20)),
        ("towing_km", 15, D(2026, 4, 21)),
    ):
        benefit_redeem(card=card, benefit=benefit, quantity=quantity, by=manager, day=day, now=at(day))
    return card


def left(summary) -> dict[str, tuple[int | None, int]]:
    return {line.benefit: (line.allowance, line.left) for line in summary.benefits}


def test_the_summary_shows_points_and_what_is_left_this_card_year(card, customer):
    summary = card_summary(customer=customer, day=D(2026, 5, 1))
    assert summary.card == card and summary.card.number == card.number
    assert summary.balance == 42  # 30 + 12
    assert summary.year_start == D(2026, 3, 10)
    # Silver: 20 washes − 3 this year (the 3 of last year do not count), 1 alignment − 1,
    # 20 km − 15, inspection agency 1; the courtesy car a perk.
    assert left(summary) == {
        "wash": (20, 17),
        "alignment": (1, 0),
        "towing_km": (20, 5),
        "inspection_agency": (1, 1),
        "courtesy_car": (None, 0),
    }
    assert [line.benefit for line in summary.perks] == ["courtesy_car"]
    assert not summary.in_renewal_window


def test_the_day_before_the_anniversary_counts_last_years_uses(card, customer):
    summary = card_summary(customer=customer, day=D(2026, 3, 9))
    assert summary.year_start == D(2025, 3, 10)
    assert left(summary)["wash"] == (20, 17)  # the 3 washes of June 2025
    assert left(summary)["alignment"] == (1, 1)


def test_renew_is_offered_from_30_days_before_expiry(card, customer):
    # Expires 2027-03-10: the window opens on 2027-02-08.
    assert not card_summary(customer=customer, day=D(2027, 2, 7)).in_renewal_window
    assert card_summary(customer=customer, day=D(2027, 2, 8)).in_renewal_window
    assert card_summary(customer=customer, day=D(2027, 3, 10)).in_renewal_window


def test_a_stores_own_policy_gives_its_own_allowances(card, customer):
    store = LoyaltyPolicy.objects.create(dealership=customer.dealership, renewal_window_days=60)
    BenefitAllowance.objects.create(policy=store, level="silver", benefit="wash", allowance=5)
    summary = card_summary(customer=customer, day=D(2026, 5, 1))
    assert left(summary) == {"wash": (5, 2)}
    # 60 days before 2027-03-10 is 2027-01-09.
    assert card_summary(customer=customer, day=D(2027, 1, 9)).in_renewal_window


def test_a_lapsed_card_shows_as_lapsed_and_a_customer_without_one_as_none(card, customer, other_dealership):
    card_transition(card=card, to=MembershipCard.Status.LAPSED, action=CardEvent.Action.LAPSED, by=None)
    summary = card_summary(customer=customer, day=D(2027, 3, 11))
    assert summary.card == card and not summary.is_active and not summary.in_renewal_window
    # A card at another store is not this store's customer's card.
    from tests.customers.factories import CustomerFactory

    stranger = CustomerFactory(dealership=other_dealership)
    assert card_summary(customer=stranger, day=D(2026, 5, 1)) is None


@pytest.mark.parametrize("size", [1, 10])
def test_the_panel_costs_one_query_whatever_the_history(
    card, customer, manager, size, django_assert_num_queries, monkeypatch
):
    for i in range(size):
        day = D(2026, 5, 2) + datetime.timedelta(days=i)
        points_adjust(card=card, points=1, reason="补录", by=manager, day=day, now=at(day))
        benefit_redeem(card=card, benefit="wash", quantity=1, by=manager, day=day, now=at(day))
    monkeypatch.setattr("loyalty.panels.today", lambda: D(2026, 6, 1))
    with django_assert_num_queries(1):
        context = card_context(customer=customer, user=manager)
    assert context["club"].balance == 42 + size
    assert left(context["club"])["wash"] == (20, 17 - size)
    assert context["card_url"] == reverse("loyalty:desk-card", args=[card.pk])


def test_the_customer_page_shows_the_card(client, advisor, customer, card, monkeypatch):
    monkeypatch.setattr("loyalty.panels.today", lambda: D(2027, 2, 20))
    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'id="club-card"' in page
    assert card.number in page and reverse("loyalty:desk-card", args=[card.pk]) in page
    assert '<dd class="card-points">42</dd>' in page
    assert "2027-03-10" in page
    assert 'class="badge warn renew"' in page  # in the renewal window
    assert '<tr data-benefit="wash"><td>' in page


def test_a_customer_without_a_card_is_offered_to_join(client, advisor, customer):
    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert 'id="club-card"' in page
    assert reverse("loyalty:desk-join", args=[customer.pk]) in page


@pytest.mark.parametrize("size", [1, 12])
def test_the_customer_page_with_a_card_costs_no_more_queries(
    client, advisor, customer, card, manager, size, django_assert_max_num_queries
):
    for i in range(size):
        vehicle = VehicleFactory(customer=customer)
        RepairOrder.objects.create(
            dealership=customer.dealership,
            customer=customer,
            vehicle=vehicle,
            number=f"RO{i}",
            kind="repair",
            opened_at=timezone.now(),
            mileage=10,
        )
        points_adjust(card=card, points=1, reason="补录", by=manager, day=timezone.localdate())
    client.force_login(advisor)
    # The bound of tests/crm/test_pages.py: the card panel is one query, and the
    # cars come with their models in one (customers.selectors.customer_get_for_user).
    with django_assert_max_num_queries(12):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    assert f'<dd class="card-points">{42 + size}</dd>' in response.content.decode()
