"""The loyalty API: cards (join, renew, balance), the points ledger, referrals."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from customers.models import Customer
from loyalty.models import CardEvent, MembershipCard, PointsEntry, Referral
from loyalty.services import add_years, card_join
from tests.api_more.conftest import get, ids, post
from tests.customers.factories import CustomerFactory


@pytest.fixture
def today():
    return timezone.localdate()


def join(customer, by, day, level="ordinary") -> MembershipCard:
    return card_join(customer=customer, level=level, route="fee", by=by, day=day)


def entry(card, points, n, kind="repair_spend", **extra) -> PointsEntry:
    return PointsEntry.objects.create(
        card=card, points=points, kind=kind, source=f"ro:{card.pk}-{n}", earned_on=card.valid_from, **extra
    )


# --- Cards -----------------------------------------------------------------------------------
def test_a_customer_joins_the_club_by_the_fee(api, customer, advisor, today):
    response = post(api, "/api/v1/membership-cards/", {"customer": customer.pk, "level": "ordinary", "obtained": "fee"})
    assert response.status_code == 201, response.content
    card = MembershipCard.objects.get()
    body = response.json()
    assert body["id"] == card.pk
    assert body["number"] == f"M{card.pk:08d}"
    assert (body["level"], body["status"], body["obtained"], body["fee_paid"]) == (
        "ordinary",
        "active",
        "fee",
        "180.00",
    )
    assert body["valid_from"] == str(today)
    assert body["valid_until"] == str(add_years(today, 2))
    assert body["balance"] == 0
    event = CardEvent.objects.get()
    assert (event.card, event.action, event.to_status, event.by) == (card, "joined", "active", advisor)


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ({"level": "gold", "obtained": "fee"}, "level", "gold card cannot be bought"),
        ({"level": "silver", "obtained": "referred"}, "obtained", "who referred the customer"),
        ({"level": "ordinary", "obtained": "points"}, "obtained", "not a valid choice"),
    ],
)
def test_a_bad_join_is_a_400_with_the_reason(api, customer, data, field, reason):
    response = post(api, "/api/v1/membership-cards/", {"customer": customer.pk, **data})
    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])
    assert not MembershipCard.objects.exists()


def test_a_second_active_card_is_refused(api, customer, advisor, today):
    join(customer, advisor, today)
    response = post(api, "/api/v1/membership-cards/", {"customer": customer.pk, "level": "silver", "obtained": "fee"})
    assert response.status_code == 400
    assert "already holds an active card" in response.json()["non_field_errors"][0]
    assert MembershipCard.objects.count() == 1


def test_a_card_is_renewed_in_its_window(api, customer, advisor, today):
    # Joined two years less ten days ago: it expires in ten days, inside the 30-day window.
    start = add_years(today, -2) + datetime.timedelta(days=10)
    card = join(customer, advisor, start)
    assert card.valid_until == today + datetime.timedelta(days=10)
    response = post(api, f"/api/v1/membership-cards/{card.pk}/renew/")
    assert response.status_code == 200, response.content
    assert response.json()["valid_until"] == str(add_years(today + datetime.timedelta(days=10), 2))
    assert CardEvent.objects.filter(card=card, action="renewed", by=advisor).count() == 1


def test_a_renewal_outside_the_window_is_a_400_with_the_dates(api, customer, advisor, today):
    card = join(customer, advisor, today)
    response = post(api, f"/api/v1/membership-cards/{card.pk}/renew/")
    assert response.status_code == 400
    opens = add_years(today, 2) - datetime.timedelta(days=30)
    assert response.json()["non_field_errors"] == [
        f"A card can be renewed from {opens.isoformat()} until it expires on {add_years(today, 2).isoformat()}."
    ]
    assert MembershipCard.objects.get().valid_until == add_years(today, 2)


def test_the_balance_is_the_sum_of_the_ledger(api, customer, advisor, today):
    card = join(customer, advisor, today)
    entry(card, 120, 1)
    entry(card, 30, 2)
    entry(card, -25, 3, kind="adjustment", reason="兑换洗车")
    other = join(CustomerFactory(dealership=customer.dealership), advisor, today)
    entry(other, 7, 1)
    assert get(api, f"/api/v1/membership-cards/{card.pk}/").json()["balance"] == 125
    balances = {row["id"]: row["balance"] for row in get(api, "/api/v1/membership-cards/").json()["results"]}
    assert balances == {card.pk: 125, other.pk: 7}


def test_cards_filter_by_customer_level_and_status(api, customer, advisor, today):
    card = join(customer, advisor, today)
    silver = join(CustomerFactory(dealership=customer.dealership), advisor, today, level="silver")
    assert ids(get(api, "/api/v1/membership-cards/", {"customer": customer.pk})) == [card.pk]
    assert ids(get(api, "/api/v1/membership-cards/", {"level": "silver"})) == [silver.pk]
    assert ids(get(api, "/api/v1/membership-cards/", {"status": "lapsed"})) == []


def test_another_stores_card_is_a_404_on_every_route(api, other_customer, other_advisor, today):
    card = join(other_customer, other_advisor, add_years(today, -2) + datetime.timedelta(days=10))
    points = entry(card, 50, 1)
    assert ids(get(api, "/api/v1/membership-cards/")) == []
    assert get(api, f"/api/v1/membership-cards/{card.pk}/").status_code == 404
    assert post(api, f"/api/v1/membership-cards/{card.pk}/renew/").status_code == 404
    assert ids(get(api, "/api/v1/points-entries/")) == []
    assert get(api, f"/api/v1/points-entries/{points.pk}/").status_code == 404
    response = post(
        api, "/api/v1/membership-cards/", {"customer": other_customer.pk, "level": "silver", "obtained": "fee"}
    )
    assert response.status_code == 400 and "customer" in response.json()


# --- Points ----------------------------------------------------------------------------------
def test_the_ledger_reads_a_cards_entries_and_cannot_be_written(api, customer, advisor, today):
    card = join(customer, advisor, today)
    first, second = entry(card, 120, 1), entry(card, -20, 2, kind="adjustment", reason="更正")
    other = entry(join(CustomerFactory(dealership=customer.dealership), advisor, today), 5, 1)
    assert ids(get(api, "/api/v1/points-entries/", {"card": card.pk})) == [first.pk, second.pk]
    assert ids(get(api, "/api/v1/points-entries/", {"kind": "adjustment"})) == [second.pk]
    assert ids(get(api, "/api/v1/points-entries/")) == [first.pk, second.pk, other.pk]
    body = get(api, f"/api/v1/points-entries/{second.pk}/").json()
    assert (body["points"], body["kind"], body["reason"]) == (-20, "adjustment", "更正")
    assert post(api, "/api/v1/points-entries/", {"card": card.pk, "points": 1000}).status_code == 405


# --- Referrals -------------------------------------------------------------------------------
def test_a_referral_is_recorded_through_the_service(api, customer, advisor, dealership):
    friend = CustomerFactory(dealership=dealership, name="王芳")
    response = post(api, "/api/v1/referrals/", {"referrer": customer.pk, "referred": friend.pk})
    assert response.status_code == 201, response.content
    referral = Referral.objects.get()
    assert response.json()["id"] == referral.pk
    assert (referral.referrer, referral.referred, referral.status, referral.created_by) == (
        customer,
        friend,
        "pending",
        advisor,
    )
    assert Customer.objects.get(pk=friend.pk).referred_by == customer
    assert ids(get(api, "/api/v1/referrals/")) == [referral.pk]
    assert ids(get(api, "/api/v1/referrals/", {"status": "confirmed"})) == []


def test_a_bad_referral_is_a_400_with_the_reason(api, customer, dealership):
    friend = CustomerFactory(dealership=dealership)
    response = post(api, "/api/v1/referrals/", {"referrer": customer.pk, "referred": customer.pk})
    assert response.status_code == 400
    assert response.json()["referred"] == ["A customer cannot refer themselves."]
    assert post(api, "/api/v1/referrals/", {"referrer": customer.pk, "referred": friend.pk}).status_code == 201
    again = post(
        api, "/api/v1/referrals/", {"referrer": CustomerFactory(dealership=dealership).pk, "referred": friend.pk}
    )
    assert again.status_code == 400
    assert again.json()["referred"] == ["This customer was already referred."]


def test_another_stores_referral_is_a_404_and_its_customers_are_refused(
    api, customer, other_customer, other_dealership
):
    theirs = Referral.objects.create(
        dealership=other_dealership, referrer=other_customer, referred=CustomerFactory(dealership=other_dealership)
    )
    assert get(api, f"/api/v1/referrals/{theirs.pk}/").status_code == 404
    assert ids(get(api, "/api/v1/referrals/")) == []
    response = post(api, "/api/v1/referrals/", {"referrer": customer.pk, "referred": other_customer.pk})
    assert response.status_code == 400 and "referred" in response.json()


def test_the_lists_cost_the_same_queries_at_any_size(api, advisor, dealership, today, django_assert_max_num_queries):
    for n in (2, 10):
        while MembershipCard.objects.count() < n:
            card = join(CustomerFactory(dealership=dealership), advisor, today)
            entry(card, 10, 1)
            Referral.objects.create(
                dealership=dealership, referrer=card.customer, referred=CustomerFactory(dealership=dealership)
            )
        for url in ("/api/v1/membership-cards/", "/api/v1/points-entries/", "/api/v1/referrals/"):
            with django_assert_max_num_queries(3):
                assert len(ids(get(api, url))) == n, url
    assert Decimal(get(api, "/api/v1/membership-cards/").json()["results"][0]["fee_paid"]) == Decimal("180")
