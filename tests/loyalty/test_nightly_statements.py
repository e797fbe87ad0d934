"""The club's night runs a fixed number of statements whatever the data size.

The same mix of work at two sizes (one and ten "neighbourhoods", 5 and 50
customers): members whose orders reach silver tonight, cards expiring, cars
sold today, referrals the friend confirms today, an order voided after it
earned, a policy placed and an event attended. Every step of the night finds
work at both sizes; the count is asserted exactly, and again for a rerun that
finds none.
"""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from loyalty.models import ClubEvent, EventRegistration, MembershipCard, PointsEntry
from loyalty.services import card_join, loyalty_nightly, referral_record
from service.models import InsurancePolicy, RepairOrder
from tests.crm.factories import DealershipFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
NIGHT = D(2026, 6, 10)
YESTERDAY = NIGHT - datetime.timedelta(days=1)

# What one night issues: measured once (below, at both sizes) and fixed here.
# Every step is set-based (INSERT … SELECT, UPDATE … WHERE), so a night with
# nothing to do issues the same statements.
STATEMENTS = 24

_numbers = iter(range(1, 1_000_000))


def at(day: datetime.date, hour: int = 15) -> datetime.datetime:
    return datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SH)


def order(car, amount: str, day: datetime.date, *, kind="repair") -> RepairOrder:
    total = Decimal(amount)
    return RepairOrder.objects.create(
        dealership=car.customer.dealership,
        customer=car.customer,
        vehicle=car,
        number=f"RO{next(_numbers)}",
        kind=kind,
        opened_at=at(day, 9),
        closed_at=at(day, 17),
        mileage=20000,
        labor_amount=total,
        total_amount=total,
    )


def member(store, *, joined: datetime.date, level: str = "ordinary"):
    customer = CustomerFactory(dealership=store)
    car = VehicleFactory(customer=customer, sold_here=False, purchase_date=D(2020, 1, 1))
    card = card_join(customer=customer, level=level, route="fee", by=None, day=joined)
    return customer, car, card


def neighbourhood(store):
    """One of each kind of work, as it stood before yesterday's night; returns
    what today adds (run after that night: the night earns whatever is
    recorded by then, whatever its date)."""
    # Silver tonight: 99 points yesterday, the 100th today (4,950 + 50 yuan).
    _, car, _ = member(store, joined=D(2026, 3, 1))
    order(car, "4950", YESTERDAY)
    # A card that expired yesterday (an ordinary card is valid 2 years), with 10 points to clear.
    _, old_car, _ = member(store, joined=D(2024, 6, 9))
    order(old_car, "500", D(2026, 5, 1))
    # A referral recorded yesterday.
    referrer, _, _ = member(store, joined=D(2026, 1, 1))
    friend = CustomerFactory(dealership=store)
    referral_record(referrer=referrer, referred=friend, by=None, now=at(YESTERDAY, 10))
    # A silver member whose order earned yesterday and is voided today.
    customer, silver_car, _ = member(store, joined=D(2026, 1, 1), level="silver")
    voided = order(silver_car, "1000", YESTERDAY)

    def today(event):
        order(car, "50", NIGHT)
        # A car sold here today: its owner joins.
        VehicleFactory(customer=CustomerFactory(dealership=store), sold_here=True, purchase_date=NIGHT)
        # The friend's first paid order confirms the referral.
        order(VehicleFactory(customer=friend, sold_here=False), "300", NIGHT)
        RepairOrder.objects.filter(pk=voided.pk).update(voided_at=at(NIGHT, 11))
        # A policy placed today and an event attended today.
        InsurancePolicy.objects.create(
            dealership=store,
            vehicle=silver_car,
            customer=customer,
            insurer="平安",
            kind="commercial",
            premium=Decimal("3000.00"),
            starts_on=NIGHT,
            ends_on=D(2027, 6, 9),
        )
        EventRegistration.objects.create(event=event, customer=customer, status="attended", attended_at=at(NIGHT))

    return today


def build(size: int) -> None:
    store = DealershipFactory()
    todays = [neighbourhood(store) for _ in range(size)]
    loyalty_nightly(day=YESTERDAY)  # earns yesterday's orders (not counted)
    event = ClubEvent.objects.create(dealership=store, title="夏季用车讲座", starts_at=at(NIGHT), capacity=100)
    for today in todays:
        today(event)


@pytest.mark.parametrize("size", [1, 10])
def test_the_night_issues_the_same_statements_at_two_sizes(db, size, django_assert_num_queries):
    build(size)
    with django_assert_num_queries(STATEMENTS):
        report = loyalty_nightly(day=NIGHT)
    # Every step had work, in proportion to the size.
    assert report.joined == size
    assert report.confirmed == size
    assert report.upgraded == size
    assert report.lapsed == size
    assert report.reversed == size
    # The 100th point of each future silver member; 10 for a 3,000-yuan premium; 5 per event; 50 per referral.
    earned = {str(kind): n for kind, n in report.earned.items()}
    assert earned == {"repair_spend": size, "insurance": size, "event": size, "referral": size}
    # And did it: the silver cards start tonight, the lapsed cards hold nothing.
    assert MembershipCard.objects.filter(level="silver", valid_from=NIGHT, obtained="points").count() == size
    lapsed = PointsEntry.objects.filter(card__status="lapsed")
    assert lapsed.filter(kind="lapse", points=-10).count() == size
    assert sum(lapsed.values_list("points", flat=True)) == 0
    # A rerun writes nothing, with the same statements.
    with django_assert_num_queries(STATEMENTS):
        again = loyalty_nightly(day=NIGHT)
    assert (again.joined, again.upgraded, again.lapsed, again.reversed, sum(again.earned.values())) == (0, 0, 0, 0, 0)
