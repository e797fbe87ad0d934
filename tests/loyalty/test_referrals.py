"""Referrals: the form (who referred whom, both found by mobile, plate or name),
its refusals on the form, the list with status, and the free service a
rewarded referrer picks."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from loyalty.events_services import RewardService, referral_choose_reward
from loyalty.models import Referral
from loyalty.services import card_join, loyalty_nightly, referral_record
from service.models import RepairOrder
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
URL = "/loyalty/referrals/"


def at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def post(client, referrer_q, referred_q, **extra):
    data = {"referral-referrer_q": referrer_q, "referral-referred_q": referred_q}
    data.update({f"referral-{k}": v for k, v in extra.items()})
    return client.post(URL, data, **EN)


@pytest.fixture
def friend(dealership):
    friend = CustomerFactory(dealership=dealership, name="韩梅梅", phone="13700001111")
    VehicleFactory(customer=friend, plate_number="沪BK7788")
    return friend


@pytest.fixture
def rewarded(dealership, customer):
    """A referral the night rewarded: the referrer holds a card, the friend
    closed a first customer-paid order the day after being recorded."""
    card_join(customer=customer, level="ordinary", route="fee", by=None, day=D(2026, 3, 1))
    friend = CustomerFactory(dealership=dealership, name="王芳")
    referral = referral_record(referrer=customer, referred=friend, by=None, now=at(D(2026, 4, 1), 10))
    car = VehicleFactory(customer=friend, sold_here=False)
    RepairOrder.objects.create(
        dealership=dealership,
        customer=friend,
        vehicle=car,
        number="RO-REF-1",
        kind="repair",
        payer="customer",
        opened_at=at(D(2026, 4, 2), 9),
        closed_at=at(D(2026, 4, 2), 17),
        mileage=15000,
        labor_amount=Decimal("300"),
        parts_amount=Decimal("0"),
        total_amount=Decimal("300"),
    )
    loyalty_nightly(day=D(2026, 4, 2))
    loyalty_nightly(day=D(2026, 4, 3))
    referral.refresh_from_db()
    assert referral.status == "rewarded"
    return referral


# --- The form ----------------------------------------------------------------------------------
def test_an_advisor_records_a_referral_by_mobile_and_plate(client, advisor, customer, vehicle, friend):
    client.force_login(advisor)
    response = post(client, "13912345678", "沪BK7788")
    assert response.status_code == 302
    referral = Referral.objects.get()
    assert (referral.referrer_id, referral.referred_id, referral.status, referral.created_by_id) == (
        customer.pk,
        friend.pk,
        "pending",
        advisor.pk,
    )
    page = client.get(URL).content.decode()
    assert f'id="referral-{referral.pk}"' in page


def test_nobody_refers_themselves_and_the_form_keeps_what_was_typed(client, manager, customer):
    client.force_login(manager)
    response = post(client, "李雷", "13912345678")
    assert response.status_code == 400
    page = response.content.decode()
    assert "A customer cannot refer themselves." in page
    assert 'value="李雷"' in page and 'value="13912345678"' in page
    assert not Referral.objects.exists()


def test_a_customer_referred_twice_is_refused_on_the_form(client, manager, customer, friend, dealership):
    referral_record(referrer=customer, referred=friend, by=None)
    client.force_login(manager)
    another = CustomerFactory(dealership=dealership, name="赵敏", phone="13600002222")
    response = post(client, another.phone, friend.phone)
    assert response.status_code == 400
    assert "This customer was already referred." in response.content.decode()
    assert Referral.objects.get().referrer_id == customer.pk


def test_nobody_found_is_said_on_the_field(client, manager, customer):
    client.force_login(manager)
    response = post(client, customer.phone, "13000000000")
    assert response.status_code == 400
    assert "No customer matches “13000000000”." in response.content.decode()


def test_another_stores_customer_is_not_found(client, manager, customer, other_dealership):
    stranger = CustomerFactory(dealership=other_dealership, name="周杰", phone="13511112222")
    client.force_login(manager)
    response = post(client, customer.phone, stranger.phone)
    assert response.status_code == 400
    assert "No customer matches “13511112222”." in response.content.decode()
    assert not Referral.objects.exists()


def test_several_matches_are_offered_and_the_one_ticked_is_recorded(client, manager, customer, dealership):
    first = CustomerFactory(dealership=dealership, name="陈静", phone="13811110001")
    second = CustomerFactory(dealership=dealership, name="陈静", phone="13811110002")
    client.force_login(manager)
    response = post(client, customer.phone, "陈静")
    assert response.status_code == 400
    page = response.content.decode()
    assert "Several customers match: choose one." in page
    assert f'value="{first.pk}"' in page and f'value="{second.pk}"' in page
    response = post(client, customer.phone, "陈静", referred=second.pk)
    assert response.status_code == 302
    assert Referral.objects.get().referred_id == second.pk


# --- The free service ------------------------------------------------------------------------------
def test_the_rewarded_referrer_picks_a_free_service(rewarded, manager):
    referral_choose_reward(referral=rewarded, service=RewardService.OIL_CHANGE, by=manager)
    rewarded.refresh_from_db()
    assert rewarded.reward_service == "oil_change"
    referral_choose_reward(referral=rewarded, service=RewardService.ALIGNMENT, by=manager)
    rewarded.refresh_from_db()
    assert rewarded.reward_service == "alignment"


def test_a_pending_referral_has_no_free_service_yet_and_the_choice_is_from_the_list(customer, friend, manager):
    referral = referral_record(referrer=customer, referred=friend, by=None)
    with pytest.raises(ValidationError) as caught:
        referral_choose_reward(referral=referral, service=RewardService.WASH, by=manager)
    assert caught.value.code == "not_rewarded"
    with pytest.raises(ValidationError) as caught:
        referral_choose_reward(referral=referral, service="free car", by=manager)
    assert "service" in caught.value.message_dict
    referral.refresh_from_db()
    assert referral.reward_service == ""


def test_the_page_saves_the_choice_and_refuses_a_bad_one(client, advisor, rewarded):
    client.force_login(advisor)
    page = client.get(URL).content.decode()
    assert reverse("loyalty:referral-reward", args=[rewarded.pk]) in page
    response = client.post(reverse("loyalty:referral-reward", args=[rewarded.pk]), {"service": "check_up"})
    assert response.status_code == 302
    rewarded.refresh_from_db()
    assert rewarded.reward_service == "check_up"
    response = client.post(
        reverse("loyalty:referral-reward", args=[rewarded.pk]), {"service": "a car"}, follow=True, **EN
    )
    assert "Choose one of the free services." in response.content.decode()
    rewarded.refresh_from_db()
    assert rewarded.reward_service == "check_up"


def test_another_stores_referral_is_a_404(client, other_manager, rewarded):
    client.force_login(other_manager)
    assert client.post(reverse("loyalty:referral-reward", args=[rewarded.pk]), {"service": "wash"}).status_code == 404
    assert f'id="referral-{rewarded.pk}"' not in client.get(URL).content.decode()
    rewarded.refresh_from_db()
    assert rewarded.reward_service == ""


def test_the_list_filters_by_status(client, manager, rewarded, customer, dealership):
    pending = referral_record(referrer=customer, referred=CustomerFactory(dealership=dealership), by=None)
    client.force_login(manager)
    page = client.get(URL, {"status": "pending"}).content.decode()
    assert f'id="referral-{pending.pk}"' in page and f'id="referral-{rewarded.pk}"' not in page
    page = client.get(URL, {"status": "nonsense"}).content.decode()  # a bad filter shows all
    assert f'id="referral-{pending.pk}"' in page and f'id="referral-{rewarded.pk}"' in page


@pytest.mark.parametrize("size", [3, 30])
def test_the_referrals_page_costs_the_same_queries_at_any_size(
    client, manager, dealership, django_assert_max_num_queries, size
):
    for _ in range(size):
        referral_record(
            referrer=CustomerFactory(dealership=dealership), referred=CustomerFactory(dealership=dealership), by=manager
        )
    client.force_login(manager)
    # session, user with their store; counts per status; the paginator's
    # count, the page with both customers and who recorded it; the layout's
    # calendar check.
    with django_assert_max_num_queries(6):
        response = client.get(URL)
    assert response.content.decode().count('class="referral-row') == size
