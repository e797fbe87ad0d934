"""The points ledger and the night's club work, with hand-computed points.

1 point per 50 yuan of customer-paid repair spend (floor), 1 per 300 yuan of
premium, 5 per event attended, 50 per confirmed referral; silver at 100 points,
gold at 200 (the group policy's defaults)."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Sum

from loyalty.models import CardEvent, EventRegistration, MembershipCard, PointsEntry, Referral
from loyalty.services import (
    card_balance,
    card_join,
    card_refund,
    card_renew,
    loyalty_nightly,
    points_adjust,
    referral_record,
)
from service.models import InsurancePolicy, RepairOrder
from tests.crm.factories import DealershipFactory, ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
JOINED = D(2026, 3, 1)


def at(day: datetime.date, hour: int = 15) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SH)


@pytest.fixture
def store(db):
    return DealershipFactory()


@pytest.fixture
def customer(store):
    return CustomerFactory(dealership=store)


@pytest.fixture
def car(customer):
    return VehicleFactory(customer=customer, sold_here=False)


@pytest.fixture
def card(customer):
    return card_join(customer=customer, level="ordinary", route="fee", by=None, day=JOINED)


_numbers = iter(range(1, 10_000))


def order(car, amount: str, day: datetime.date, *, kind="repair", payer="customer") -> RepairOrder:
    total = Decimal(amount)
    return RepairOrder.objects.create(
        dealership=car.customer.dealership,
        customer=car.customer,
        vehicle=car,
        number=f"RO{next(_numbers)}",
        kind=kind,
        payer=payer,
        opened_at=at(day, 9),
        closed_at=at(day, 17),
        mileage=20000,
        labor_amount=total,
        parts_amount=Decimal("0"),
        total_amount=total,
    )


def entries(card) -> list[tuple[str, int]]:
    return list(PointsEntry.objects.filter(card=card).order_by("pk").values_list("kind", "points"))


def test_an_order_of_1049_99_paid_by_the_customer_earns_20_points(card, car):
    o = order(car, "1049.99", D(2026, 4, 2))
    report = loyalty_nightly(day=D(2026, 4, 2))
    # 1049.99 / 50 = 20.9998: 20 whole points, never rounded up.
    assert entries(card) == [("repair_spend", 20)]
    assert PointsEntry.objects.get(card=card).repair_order == o
    assert report.earned["repair_spend"] == 1


def test_warranty_carmaker_paid_and_insurer_paid_orders_earn_nothing(card, car):
    order(car, "2000", D(2026, 4, 2), kind="warranty")
    order(car, "2000", D(2026, 4, 2), payer="manufacturer")
    order(car, "2000", D(2026, 4, 2), kind="accident", payer="insurer")
    loyalty_nightly(day=D(2026, 4, 2))
    assert entries(card) == []


def test_orders_before_joining_and_at_another_store_earn_nothing(card, car, customer):
    order(car, "500", D(2026, 2, 27))
    elsewhere = DealershipFactory()
    RepairOrder.objects.create(
        dealership=elsewhere,
        customer=customer,
        vehicle=car,
        number="X1",
        kind="repair",
        opened_at=at(D(2026, 4, 2), 9),
        closed_at=at(D(2026, 4, 2)),
        mileage=1,
        labor_amount=Decimal("500"),
        total_amount=Decimal("500"),
    )
    loyalty_nightly(day=D(2026, 4, 2))
    assert entries(card) == []


def test_a_3000_yuan_premium_placed_here_earns_10(card, car, customer):
    InsurancePolicy.objects.create(
        dealership=customer.dealership,
        vehicle=car,
        customer=customer,
        insurer="平安",
        kind="commercial",
        premium=Decimal("3000.00"),
        starts_on=D(2026, 5, 1),
        ends_on=D(2027, 4, 30),
    )
    loyalty_nightly(day=D(2026, 5, 1))
    assert entries(card) == [("insurance", 10)]


def test_a_rerun_of_the_night_earns_nothing_twice(card, car):
    order(car, "1049.99", D(2026, 4, 2))
    loyalty_nightly(day=D(2026, 4, 2))
    again = loyalty_nightly(day=D(2026, 4, 2))
    later = loyalty_nightly(day=D(2026, 4, 3))
    assert entries(card) == [("repair_spend", 20)]
    assert sum(again.earned.values()) == 0 and sum(later.earned.values()) == 0
    assert (again.reversed, later.reversed) == (0, 0)


def test_a_voided_order_is_reversed_and_a_corrected_one_compensated(card, car):
    voided = order(car, "1000", D(2026, 4, 2))  # 20
    corrected = order(car, "800", D(2026, 4, 2))  # 16
    loyalty_nightly(day=D(2026, 4, 2))
    assert card_balance(card) == 36
    RepairOrder.objects.filter(pk=voided.pk).update(voided_at=at(D(2026, 4, 5)))
    # Lowered to 510 yuan: 10 points, 6 fewer.
    RepairOrder.objects.filter(pk=corrected.pk).update(labor_amount=Decimal("510"), total_amount=Decimal("510"))
    loyalty_nightly(day=D(2026, 4, 5))
    loyalty_nightly(day=D(2026, 4, 5))
    assert entries(card) == [("repair_spend", 20), ("repair_spend", 16), ("reversal", -20), ("reversal", -6)]
    # Corrected again, back up to 800: its own compensating entry.
    RepairOrder.objects.filter(pk=corrected.pk).update(labor_amount=Decimal("800"), total_amount=Decimal("800"))
    loyalty_nightly(day=D(2026, 4, 6))
    assert entries(card)[-1] == ("reversal", 6)
    assert card_balance(card) == 16


def test_the_card_upgrades_on_the_night_the_100th_point_arrives(card, car):
    order(car, "4950", D(2026, 4, 2))  # 99 points
    loyalty_nightly(day=D(2026, 4, 2))
    card.refresh_from_db()
    assert (card.status, card_balance(card)) == ("active", 99)
    order(car, "50", D(2026, 4, 3))  # the 100th
    report = loyalty_nightly(day=D(2026, 4, 3))
    card.refresh_from_db()
    silver = MembershipCard.objects.get(customer=card.customer, status="active")
    assert report.upgraded == 1
    assert card.status == "replaced" and card_balance(card) == 0
    assert (silver.level, silver.obtained, silver.valid_from, silver.valid_until) == (
        "silver",
        "points",
        D(2026, 4, 3),
        D(2028, 4, 3),  # silver is valid 2 years
    )
    assert silver.previous == card and card_balance(silver) == 100
    assert silver.number == f"M{silver.pk:08d}"
    assert list(CardEvent.objects.filter(card=card).values_list("action", flat=True)) == ["joined", "replaced"]
    assert list(CardEvent.objects.filter(card=silver).values_list("action", flat=True)) == ["upgraded"]
    # The next night: nothing more (silver needs 200 for gold).
    assert loyalty_nightly(day=D(2026, 4, 4)).upgraded == 0


def test_five_visits_and_3000_yuan_in_the_card_year_make_silver_but_accident_repairs_do_not_count(card, car):
    for month in (4, 5, 6, 7):
        order(car, "700", D(2026, month, 2), payer="internal")  # no points, but visits and spend
    order(car, "5000", D(2026, 8, 2), kind="accident", payer="internal")
    loyalty_nightly(day=D(2026, 8, 2))
    card.refresh_from_db()
    assert card.status == "active"  # 4 visits, 2,800 yuan without the accident
    order(car, "300", D(2026, 9, 2), payer="internal")  # 5 visits, 3,100 yuan
    loyalty_nightly(day=D(2026, 9, 2))
    silver = MembershipCard.objects.get(customer=card.customer, status="active")
    assert (silver.level, silver.obtained) == ("silver", "visits_spend")


def test_lapse_the_day_after_expiry_clears_the_balance(card, car):
    order(car, "1000", D(2026, 4, 2))
    loyalty_nightly(day=D(2026, 4, 2))
    # An ordinary card from 2026-03-01 is valid 2 years: until 2028-03-01.
    assert card.valid_until == D(2028, 3, 1)
    loyalty_nightly(day=D(2028, 3, 1))
    card.refresh_from_db()
    assert card.status == "active" and card_balance(card) == 20
    report = loyalty_nightly(day=D(2028, 3, 2))
    card.refresh_from_db()
    assert report.lapsed == 1 and card.status == "lapsed"
    assert card_balance(card) == 0 and entries(card)[-1] == ("lapse", -20)
    assert loyalty_nightly(day=D(2028, 3, 3)).lapsed == 0


def test_a_paid_card_is_refundable_on_day_30_not_on_day_31(customer, store):
    manager = ManagerFactory(dealership=store)
    card = card_join(customer=customer, level="silver", route="fee", by=manager, day=JOINED)
    assert card.fee_paid == Decimal("280.00")
    with pytest.raises(ValidationError):
        card_refund(card=card, by=manager, day=JOINED + datetime.timedelta(days=31))
    card = card_refund(card=card, by=manager, day=JOINED + datetime.timedelta(days=30), reason="客户改变主意")
    assert card.status == "refunded"
    other = CustomerFactory(dealership=store)
    given = card_join(customer=other, level="ordinary", route="bought_here", by=manager, day=JOINED)
    with pytest.raises(ValidationError):
        card_refund(card=given, by=manager, day=JOINED)


def test_a_refund_voids_the_points(customer, store, car):
    manager = ManagerFactory(dealership=store)
    card = card_join(customer=customer, level="ordinary", route="fee", by=manager, day=JOINED)
    order(car, "500", D(2026, 3, 5))
    loyalty_nightly(day=D(2026, 3, 5))
    card_refund(card=card, by=manager, day=D(2026, 3, 10))
    assert entries(card) == [("repair_spend", 10), ("refund", -10)]


def test_gold_cannot_be_bought_and_one_active_card_per_store(customer):
    with pytest.raises(ValidationError) as err:
        card_join(customer=customer, level="gold", route="fee", by=None, day=JOINED)
    assert "level" in err.value.message_dict
    card_join(customer=customer, level="ordinary", route="fee", by=None, day=JOINED)
    with pytest.raises(ValidationError):
        card_join(customer=customer, level="silver", route="fee", by=None, day=JOINED)
    assert MembershipCard.objects.filter(customer=customer).count() == 1


def test_renewal_only_in_the_30_days_before_expiry(card):
    with pytest.raises(ValidationError):
        card_renew(card=card, by=None, day=D(2028, 1, 30))  # 31 days before 2028-03-01
    renewed = card_renew(card=card, by=None, day=D(2028, 1, 31))
    assert renewed.valid_until == D(2030, 3, 1)
    assert list(renewed.events.values_list("action", flat=True)) == ["joined", "renewed"]


def test_a_car_bought_here_makes_its_owner_a_member(store):
    buyer = CustomerFactory(dealership=store)
    VehicleFactory(customer=buyer, sold_here=True, purchase_date=D(2026, 6, 10))
    report = loyalty_nightly(day=D(2026, 6, 10))
    card = MembershipCard.objects.get(customer=buyer)
    assert report.joined == 1
    assert (card.level, card.obtained, card.valid_from, card.valid_until) == (
        "ordinary",
        "bought_here",
        D(2026, 6, 10),
        D(2028, 6, 10),
    )
    assert card.number == f"M{card.pk:08d}"
    assert loyalty_nightly(day=D(2026, 6, 11)).joined == 0


def test_a_confirmed_referral_earns_50_points_once(card, store, customer):
    friend = CustomerFactory(dealership=store)
    referral_record(referrer=customer, referred=friend, by=None, now=at(D(2026, 4, 1), 10))
    loyalty_nightly(day=D(2026, 4, 1))
    assert entries(card) == []  # pending: the friend has bought nothing yet
    friend_car = VehicleFactory(customer=friend, sold_here=False)
    order(friend_car, "300", D(2026, 4, 2))
    loyalty_nightly(day=D(2026, 4, 2))
    loyalty_nightly(day=D(2026, 4, 3))
    assert entries(card) == [("referral", 50)]
    assert Referral.objects.get().status == "rewarded"


def test_nobody_refers_themselves_or_is_referred_twice(store, customer):
    friend = CustomerFactory(dealership=store)
    with pytest.raises(ValidationError):
        referral_record(referrer=customer, referred=customer, by=None)
    referral_record(referrer=customer, referred=friend, by=None)
    with pytest.raises(ValidationError):
        referral_record(referrer=CustomerFactory(dealership=store), referred=friend, by=None)


def test_attending_an_event_earns_5(card, customer, store):
    from loyalty.models import ClubEvent

    event = ClubEvent.objects.create(dealership=store, title="冬季用车讲座", starts_at=at(D(2026, 4, 10)), capacity=20)
    EventRegistration.objects.create(event=event, customer=customer, status="attended", attended_at=at(D(2026, 4, 10)))
    loyalty_nightly(day=D(2026, 4, 10))
    assert entries(card) == [("event", 5)]


def test_manual_adjustments_need_a_manager_and_a_reason(card, store):
    with pytest.raises(ValidationError):
        points_adjust(card=card, points=10, reason="补录", by=UserFactory(dealership=store), day=D(2026, 4, 1))
    manager = ManagerFactory(dealership=store)
    with pytest.raises(ValidationError) as err:
        points_adjust(card=card, points=10, reason=" ", by=manager, day=D(2026, 4, 1))
    assert "reason" in err.value.message_dict
    with pytest.raises(ValidationError):
        points_adjust(card=card, points=-1, reason="扣减", by=manager, day=D(2026, 4, 1))
    points_adjust(card=card, points=10, reason="活动补录", by=manager, day=D(2026, 4, 1))
    assert PointsEntry.objects.filter(card=card).aggregate(s=Sum("points"))["s"] == 10


def test_a_referred_customer_joins_by_referral_once_the_referral_is_recorded(store, customer):
    friend = CustomerFactory(dealership=store)
    with pytest.raises(ValidationError) as err:
        card_join(customer=friend, level="ordinary", route="referred", by=None, day=JOINED)
    assert "obtained" in err.value.message_dict
    referral_record(referrer=customer, referred=friend, by=None)
    card = card_join(customer=friend, level="ordinary", route="referred", by=None, day=JOINED)
    assert (card.obtained, card.fee_paid, card.valid_until) == ("referred", Decimal("0"), D(2028, 3, 1))
