"""The service desk (/loyalty/desk/): search by plate, mobile or card number;
the card's benefits left this card year and redeeming them (plain POST and
htmx); renew, refund (managers, within 30 days), join; events attended; a
card of another store is a 404 for the page and every action; fixed query
counts at two sizes.

The group policy's defaults (loyalty.models): an ordinary card has 10 washes
and 10 km of towing per card year, 5 % labour discount, costs 180 yuan; a
silver card 20 washes, 1 alignment, 20 km, 1 inspection agency, 10 %, 280
yuan; refundable within 30 days; renewal in the 30 days before expiry."""

import datetime
import re
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext

from loyalty.models import BenefitUse, CardEvent, ClubEvent, EventRegistration, MembershipCard, PointsEntry
from loyalty.services import benefit_redeem, card_join, loyalty_nightly
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
JOINED = D(2026, 3, 1)
HTMX = {"HX-Request": "true"}


@pytest.fixture
def clock(monkeypatch):
    """Set the desk's today (10:00 in Shanghai); call it before logging in."""

    def set_day(day: datetime.date, hour: int = 10) -> datetime.datetime:
        moment = datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SH)
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_day


@pytest.fixture
def card(customer, vehicle):
    return card_join(customer=customer, level="ordinary", route="fee", by=None, day=JOINED)


def zh(message: str) -> str:
    """A message as the Chinese page shows it (the UI default)."""
    with translation.override("zh-hans"):
        return gettext(message)


def card_url(card) -> str:
    return reverse("loyalty:desk-card", args=[card.pk])


def redeem_url(card, benefit: str = "wash") -> str:
    return reverse("loyalty:desk-redeem", args=[card.pk, benefit])


def left(response, benefit: str) -> int:
    """The "left" counter of one benefit's row, as the page shows it."""
    page = response.content.decode()
    row = re.search(rf'data-benefit="{benefit}">(.*?)</tr>', page, re.S)
    assert row, f"no row for {benefit}"
    return int(re.search(r'class="left"><strong>(\d+)</strong>', row.group(1)).group(1))


# --- Search ---------------------------------------------------------------------------------------
def test_the_desk_finds_a_customer_by_plate_typed_loosely(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    response = client.get(reverse("loyalty:desk"), {"q": "沪ad·123 45"})
    assert response.status_code == 200
    assert [c.pk for c in response.context["results"]] == [card.customer_id]
    page = response.content.decode()
    assert card.number in page
    assert card_url(card) in page


def test_the_desk_finds_a_customer_by_mobile_with_country_code(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    response = client.get(reverse("loyalty:desk"), {"q": "+86 139-1234-5678"})
    assert [c.pk for c in response.context["results"]] == [card.customer_id]
    # The last digits alone, as a customer reads them out.
    response = client.get(reverse("loyalty:desk"), {"q": "5678"})
    assert [c.pk for c in response.context["results"]] == [card.customer_id]


def test_the_desk_finds_a_customer_by_card_number_short_or_full(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    assert card.number == f"M{card.pk:08d}"
    for typed in (card.number, card.number.lower(), f"m{card.pk}"):
        response = client.get(reverse("loyalty:desk"), {"q": typed})
        assert [c.pk for c in response.context["results"]] == [card.customer_id], typed


def test_the_search_stays_in_the_users_store_and_offers_joining(
    client, advisor, dealership, other_dealership, card, clock
):
    clock(D(2026, 4, 1))
    # Same plate prefix at another store: never shown.
    stranger = CustomerFactory(dealership=other_dealership, phone="13912340000")
    VehicleFactory(customer=stranger, plate_number="沪AD12399")
    card_join(customer=stranger, level="ordinary", route="fee", by=None, day=JOINED)
    no_card = CustomerFactory(dealership=dealership, phone="13912341111")
    VehicleFactory(customer=no_card, plate_number="沪AD12388")
    client.force_login(advisor)
    response = client.get(reverse("loyalty:desk"), {"q": "沪AD123"})
    found = {c.pk for c in response.context["results"]}
    assert found == {card.customer_id, no_card.pk}
    assert reverse("loyalty:desk-join", args=[no_card.pk]) in response.content.decode()


def test_the_search_answers_htmx_with_the_results_only(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    response = client.get(reverse("loyalty:desk"), {"q": "13912345678"}, headers={**HTMX, "HX-Target": "desk-results"})
    page = response.content.decode()
    assert page.lstrip().startswith('<section id="desk-results"')
    assert card.number in page


def test_a_search_that_matches_nothing_says_so(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    response = client.get(reverse("loyalty:desk"), {"q": "ab"})
    assert response.status_code == 200
    assert response.context["results"] == []


# --- The card ---------------------------------------------------------------------------------------
def test_the_card_shows_its_year_benefits_points_and_discount(client, advisor, customer, vehicle, clock):
    silver = card_join(customer=customer, level="silver", route="fee", by=None, day=JOINED)
    clock(D(2026, 6, 15))
    client.force_login(advisor)
    response = client.get(card_url(silver))
    assert response.status_code == 200
    desk = response.context["desk"]
    assert (desk.year_start, desk.year_end) == (D(2026, 3, 1), D(2027, 2, 28))
    assert [(b.benefit, b.allowance, b.used, b.left) for b in desk.counted] == [
        ("wash", 20, 0, 20),
        ("alignment", 1, 0, 1),
        ("towing_km", 20, 0, 20),
        ("inspection_agency", 1, 0, 1),
    ]
    assert [b.benefit for b in desk.perks] == ["courtesy_car"]
    assert desk.labour_discount == 10
    assert desk.balance == 0
    page = response.content.decode()
    assert "2026-03-01 – 2027-02-28" in page
    assert "2028-03-01" in page  # valid until: two years
    assert 'class="labour-discount">10%' in page


def test_redeeming_lowers_what_is_left_by_the_amounts_used(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    response = client.post(redeem_url(card), {"wash-quantity": "1", "wash-note": ""})
    assert response.status_code == 302
    response = client.post(redeem_url(card), {"wash-quantity": "3", "wash-note": "三次一起"})
    response = client.post(redeem_url(card, "towing_km"), {"towing_km-quantity": "7"})
    response = client.get(card_url(card))
    # 10 washes − 1 − 3 = 6; 10 km − 7 = 3.
    assert left(response, "wash") == 6
    assert left(response, "towing_km") == 3
    assert sorted(BenefitUse.objects.filter(card=card).values_list("benefit", "quantity", "card_year", "by")) == [
        ("towing_km", 7, JOINED, advisor.pk),
        ("wash", 1, JOINED, advisor.pk),
        ("wash", 3, JOINED, advisor.pk),
    ]


def test_redeeming_by_htmx_answers_the_card_work_area_with_the_new_counter(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    response = client.post(redeem_url(card), {"wash-quantity": "1"}, headers=HTMX)
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<div id="card-work"')
    assert left(response, "wash") == 9
    message = zh("%(number)s: %(benefit)s × %(quantity)d redeemed.") % {
        "number": card.number,
        "benefit": zh("Free car wash"),
        "quantity": 1,
    }
    assert message in page  # the message, in the work area


def test_over_redemption_is_refused_on_the_form_and_keeps_what_was_typed(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    benefit_redeem(card=card, benefit="towing_km", quantity=4, by=advisor, day=D(2026, 3, 20))
    # 10 km − 4 = 6 left; 11 km asked.
    response = client.post(redeem_url(card, "towing_km"), {"towing_km-quantity": "11"})
    assert response.status_code == 400
    form = next(b.form for b in response.context["desk"].counted if b.benefit == "towing_km")
    assert form.errors["quantity"] == [zh("Only %(left)d left in this card year.") % {"left": 6}]
    assert 'value="11"' in response.content.decode()
    # htmx: the same message, in a 200 so that htmx swaps it in.
    response = client.post(redeem_url(card, "towing_km"), {"towing_km-quantity": "11"}, headers=HTMX)
    assert response.status_code == 200
    assert str(form.errors["quantity"][0]) in response.content.decode()
    assert BenefitUse.objects.filter(card=card).count() == 1
    assert left(client.get(card_url(card)), "towing_km") == 6


def test_nonsense_quantities_are_form_errors_never_a_500(client, advisor, card, clock):
    clock(D(2026, 4, 1))
    client.force_login(advisor)
    for typed in ("abc", "0", "-2", ""):
        response = client.post(redeem_url(card), {"wash-quantity": typed})
        assert response.status_code == 400, typed
    # A benefit the card does not count (ordinary: no alignment), and one that does not exist.
    response = client.post(redeem_url(card, "alignment"), {"alignment-quantity": "1"})
    assert response.status_code == 400
    assert client.post(redeem_url(card, "massage"), {"massage-quantity": "1"}).status_code == 404
    assert not BenefitUse.objects.exists()


def test_counters_reset_on_the_card_anniversary(client, advisor, card, clock):
    # Given a card from 2026-03-01 whose 10 washes are all used on 2027-02-28 (card year 1)
    clock(D(2027, 2, 28))
    client.force_login(advisor)
    for _ in range(2):
        client.post(redeem_url(card), {"wash-quantity": "5"})
    response = client.get(card_url(card))
    assert left(response, "wash") == 0
    assert response.context["desk"].year_start == D(2026, 3, 1)
    assert client.post(redeem_url(card), {"wash-quantity": "1"}).status_code == 400
    # When the anniversary comes, the counter is back to the allowance
    clock(D(2027, 3, 1))
    response = client.get(card_url(card))
    desk = response.context["desk"]
    # The second card year: 2027-03-01 to the day before 2028-03-01 (2028 is a leap year).
    assert (desk.year_start, desk.year_end) == (D(2027, 3, 1), D(2028, 2, 29))
    assert left(response, "wash") == 10
    client.post(redeem_url(card), {"wash-quantity": "1"})
    assert left(client.get(card_url(card)), "wash") == 9
    assert list(BenefitUse.objects.filter(card=card).order_by("pk").values_list("card_year", "quantity")) == [
        (D(2026, 3, 1), 5),
        (D(2026, 3, 1), 5),
        (D(2027, 3, 1), 1),
    ]


def test_a_card_no_longer_active_redeems_nothing(client, manager, card, clock):
    clock(D(2026, 3, 10))
    client.force_login(manager)
    client.post(reverse("loyalty:desk-refund", args=[card.pk]), {"refund-reason": "首次保养不满意"})
    response = client.get(card_url(card))
    assert 'class="redeem-form"' not in response.content.decode()
    response = client.post(redeem_url(card), {"wash-quantity": "1"})
    assert response.status_code == 400
    assert not BenefitUse.objects.exists()


# --- Renew and refund ---------------------------------------------------------------------------
def test_renewal_opens_30_days_before_expiry(client, advisor, card, clock):
    # Valid until 2028-03-01: the window opens on 2028-01-31.
    clock(D(2028, 1, 30))
    client.force_login(advisor)
    response = client.get(card_url(card))
    assert 'class="outcome renew-form"' not in response.content.decode()
    assert "2028-01-31" in response.content.decode()
    response = client.post(reverse("loyalty:desk-renew", args=[card.pk]))
    assert response.status_code == 400
    assert "2028-01-31" in str(response.context["renew_form"].non_field_errors())
    clock(D(2028, 1, 31))
    response = client.get(card_url(card))
    assert 'class="outcome renew-form"' in response.content.decode()
    assert "180.00" in response.content.decode()  # the fee again
    response = client.post(reverse("loyalty:desk-renew", args=[card.pk]), headers=HTMX)
    assert response.status_code == 200
    card.refresh_from_db()
    assert card.valid_until == D(2030, 3, 1)
    assert CardEvent.objects.filter(card=card, action="renewed", by=advisor).count() == 1


def test_a_manager_refunds_on_day_30(client, manager, card, clock):
    clock(D(2026, 3, 31))  # 2026-03-01 + 30 days
    client.force_login(manager)
    response = client.get(card_url(card))
    assert 'class="outcome refund-form"' in response.content.decode()
    response = client.post(reverse("loyalty:desk-refund", args=[card.pk]), {"refund-reason": "首次保养不满意"})
    assert response.status_code == 302
    card.refresh_from_db()
    assert card.status == MembershipCard.Status.REFUNDED
    assert CardEvent.objects.get(card=card, action="refunded").reason == "首次保养不满意"


def test_the_refund_is_refused_on_day_31(client, manager, card, clock):
    clock(D(2026, 4, 1))  # 2026-03-01 + 31 days
    client.force_login(manager)
    response = client.get(card_url(card))
    assert 'class="outcome refund-form"' not in response.content.decode()
    response = client.post(reverse("loyalty:desk-refund", args=[card.pk]), {"refund-reason": "首次保养不满意"})
    assert response.status_code == 400
    assert "2026-03-31" in str(response.context["refund_form"].non_field_errors())
    assert "2026-03-31" in response.content.decode()
    card.refresh_from_db()
    assert card.status == MembershipCard.Status.ACTIVE


def test_a_refund_needs_a_reason(client, manager, card, clock):
    clock(D(2026, 3, 5))
    client.force_login(manager)
    response = client.post(reverse("loyalty:desk-refund", args=[card.pk]), {"refund-reason": "  "})
    assert response.status_code == 400
    assert response.context["refund_form"].errors["reason"]
    card.refresh_from_db()
    assert card.status == MembershipCard.Status.ACTIVE


def test_advisors_cannot_refund(client, advisor, card, clock):
    clock(D(2026, 3, 5))
    client.force_login(advisor)
    response = client.get(card_url(card))
    assert 'class="outcome refund-form"' not in response.content.decode()
    assert 'class="refund-info"' in response.content.decode()  # ask a manager
    response = client.post(reverse("loyalty:desk-refund", args=[card.pk]), {"refund-reason": "首次保养不满意"})
    assert response.status_code == 403
    card.refresh_from_db()
    assert card.status == MembershipCard.Status.ACTIVE


# --- Joining ------------------------------------------------------------------------------------
def test_joining_by_fee_shows_and_charges_the_fee(client, advisor, customer, clock):
    clock(D(2026, 5, 20))
    client.force_login(advisor)
    url = reverse("loyalty:desk-join", args=[customer.pk])
    page = client.get(url).content.decode()
    assert "180.00" in page and "280.00" in page
    response = client.post(url, {"join-level": "silver", "join-obtained": "fee"}, follow=True)
    card = MembershipCard.objects.get(customer=customer)
    assert response.redirect_chain == [(card_url(card), 302)]
    assert (card.level, card.obtained, card.fee_paid) == ("silver", "fee", Decimal("280.00"))
    assert (card.valid_from, card.valid_until) == (D(2026, 5, 20), D(2028, 5, 20))
    page = response.content.decode()
    assert "280.00" in page  # the message and the card's "fee paid"
    assert CardEvent.objects.get(card=card).by == advisor
    # Holding a card, the join page leads to it.
    assert client.get(url).url == card_url(card)


def test_a_gold_card_cannot_be_bought_at_the_desk(client, advisor, customer, clock):
    clock(D(2026, 5, 20))
    client.force_login(advisor)
    url = reverse("loyalty:desk-join", args=[customer.pk])
    response = client.post(url, {"join-level": "gold", "join-obtained": "fee"})
    assert response.status_code == 400
    assert response.context["form"].errors["level"]
    assert not MembershipCard.objects.exists()
    # A campaign card costs nothing.
    response = client.post(url, {"join-level": "ordinary", "join-obtained": "campaign"})
    card = MembershipCard.objects.get(customer=customer)
    assert (card.obtained, card.fee_paid) == ("campaign", Decimal("0"))


def test_joining_twice_is_refused_with_a_message(client, advisor, card, clock):
    clock(D(2026, 5, 20))
    client.force_login(advisor)
    url = reverse("loyalty:desk-join", args=[card.customer_id])
    response = client.post(url, {"join-level": "ordinary", "join-obtained": "fee"})
    assert response.status_code == 400
    assert response.context["form"].non_field_errors()
    assert MembershipCard.objects.count() == 1


# --- Club events ----------------------------------------------------------------------------------
def event(store, starts: datetime.datetime, title="保养知识讲座") -> ClubEvent:
    return ClubEvent.objects.create(dealership=store, title=title, starts_at=starts, capacity=30)


def test_the_desk_marks_todays_guest_attended_and_the_night_earns_5_points(client, advisor, dealership, card, clock):
    now = clock(D(2026, 6, 6), hour=11)
    today = EventRegistration.objects.create(
        event=event(dealership, now - datetime.timedelta(hours=2)), customer=card.customer
    )
    later = EventRegistration.objects.create(
        event=event(dealership, now + datetime.timedelta(days=7), title="自驾游"), customer=card.customer
    )
    client.force_login(advisor)
    page = client.get(card_url(card)).content.decode()
    attend = reverse("loyalty:desk-attend", args=[today.pk])
    assert attend in page
    assert reverse("loyalty:desk-attend", args=[later.pk]) not in page  # next week's: not yet
    response = client.post(attend, headers=HTMX)
    assert response.status_code == 200
    assert response.content.decode().lstrip().startswith('<section class="card desk-events"')
    today.refresh_from_db()
    assert (today.status, today.attended_at) == ("attended", now)
    # Twice: refused with its message, nothing changes.
    response = client.post(attend, headers=HTMX)
    assert 'class="errors"' in response.content.decode()
    response = client.post(reverse("loyalty:desk-attend", args=[later.pk]))
    assert response.url == card_url(card)
    later.refresh_from_db()
    assert later.status == "registered"
    loyalty_nightly(day=D(2026, 6, 6))
    assert list(PointsEntry.objects.filter(card=card).values_list("kind", "points")) == [("event", 5)]


# --- Another store's card -------------------------------------------------------------------------
def test_another_stores_card_is_a_404_for_the_page_and_every_action(client, other_manager, card, clock):
    clock(D(2026, 3, 10))
    registration = EventRegistration.objects.create(
        event=event(card.dealership, timezone.now()), customer=card.customer
    )
    client.force_login(other_manager)
    assert client.get(card_url(card)).status_code == 404
    posts = [
        (redeem_url(card), {"wash-quantity": "1"}),
        (reverse("loyalty:desk-renew", args=[card.pk]), {}),
        (reverse("loyalty:desk-refund", args=[card.pk]), {"refund-reason": "x"}),
        (reverse("loyalty:desk-join", args=[card.customer_id]), {"join-level": "ordinary", "join-obtained": "fee"}),
        (reverse("loyalty:desk-attend", args=[registration.pk]), {}),
    ]
    for url, data in posts:
        assert client.post(url, data).status_code == 404, url
        assert client.post(url, data, headers=HTMX).status_code == 404, url
    assert client.get(reverse("loyalty:desk-join", args=[card.customer_id])).status_code == 404
    assert not BenefitUse.objects.exists()
    card.refresh_from_db()
    assert card.status == "active"
    registration.refresh_from_db()
    assert registration.status == "registered"


def test_the_desk_needs_a_login(client):
    response = client.get(reverse("loyalty:desk"))
    assert response.status_code == 302
    assert reverse("login") in response.url


# --- Fixed query counts ---------------------------------------------------------------------------
@pytest.mark.parametrize("size", [1, 10])
def test_the_search_costs_the_same_queries_at_any_size(
    client, advisor, dealership, clock, django_assert_max_num_queries, size
):
    clock(D(2026, 4, 1))
    for n in range(size):
        customer = CustomerFactory(dealership=dealership, phone=f"1391234{n:04d}")
        VehicleFactory(customer=customer, plate_number=f"沪B1{n:04d}")
        VehicleFactory(customer=customer, plate_number=f"沪C1{n:04d}")
        card_join(customer=customer, level="ordinary", route="fee", by=None, day=JOINED)
    client.force_login(advisor)
    with django_assert_max_num_queries(5):  # session, user, customers, their cars, their active cards
        response = client.get(reverse("loyalty:desk"), {"q": "1391234"})
    assert len(response.context["results"]) == size


@pytest.mark.parametrize("size", [1, 10])
def test_the_card_costs_the_same_queries_at_any_size(
    client, advisor, dealership, card, clock, django_assert_max_num_queries, size
):
    now = clock(D(2026, 6, 6))
    for n in range(size):
        benefit_redeem(card=card, benefit="wash", quantity=1, by=advisor, day=D(2026, 6, 1))
        EventRegistration.objects.create(
            event=event(dealership, now + datetime.timedelta(days=n), title=f"活动{n}"), customer=card.customer
        )
    client.force_login(advisor)
    # Session, user, card, policy, allowances, uses this year, recent uses, balance, registrations.
    with django_assert_max_num_queries(9):
        response = client.get(card_url(card))
    assert left(response, "wash") == 10 - size
    assert len(response.context["events"]) == size


def test_an_advisor_of_the_store_uses_the_desk_for_any_customer_of_it(client, dealership, card, clock):
    clock(D(2026, 4, 1))
    colleague = UserFactory(username="advisor2", dealership=dealership)
    client.force_login(colleague)
    assert client.get(card_url(card)).status_code == 200
    assert client.post(redeem_url(card), {"wash-quantity": "1"}).status_code == 302


def test_a_group_manager_sees_every_store(client, card, clock):
    clock(D(2026, 4, 1))
    group = ManagerFactory(username="group", dealership=None)
    client.force_login(group)
    assert client.get(card_url(card)).status_code == 200
