"""The club's labour discount on repair orders (issue 12, item 5): service
cannot import the club, which lends it through ``service.hooks``; the API and
the admin's order list read it in the orders' own query."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from loyalty.models import LoyaltyPolicy
from loyalty.services import card_join, card_refund
from service.hooks import labour_discount_provider, labour_discount_provider_set
from service.models import RepairOrder
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
URL = "/api/v1/repair-orders/"
_numbers = iter(range(1, 100_000))


def order(customer, day: datetime.date, hour: int = 10, dealership=None) -> RepairOrder:
    car = VehicleFactory(customer=customer)
    return RepairOrder.objects.create(
        dealership=dealership or customer.dealership,
        customer=customer,
        vehicle=car,
        number=f"RO{next(_numbers)}",
        kind="repair",
        opened_at=datetime.datetime(day.year, day.month, day.day, hour, tzinfo=SH),
        mileage=10000,
        labor_amount=Decimal("400"),
        total_amount=Decimal("400"),
    )


def discount(client, ro: RepairOrder):
    response = client.get(f"{URL}{ro.pk}/")
    assert response.status_code == 200
    return response.json()["labour_discount_percent"]


@pytest.fixture
def silver(customer):
    # Silver by fee from 2026-03-01, valid until 2028-03-01.
    return card_join(customer=customer, level="silver", route="fee", by=None, day=D(2026, 3, 1))


def test_a_silver_member_has_10_percent_and_a_non_member_none(client, advisor, customer, silver):
    stranger = CustomerFactory(dealership=customer.dealership)
    client.force_login(advisor)
    assert discount(client, order(customer, D(2026, 4, 2))) == 10  # the group policy's silver discount
    assert discount(client, order(stranger, D(2026, 4, 2))) is None


def test_the_discount_follows_the_stores_own_policy(client, advisor, customer, silver):
    LoyaltyPolicy.objects.create(dealership=customer.dealership, silver_labour_discount=15)
    client.force_login(advisor)
    assert discount(client, order(customer, D(2026, 4, 2))) == 15


def test_only_the_card_of_the_day_the_order_opened_counts(client, advisor, customer, silver):
    client.force_login(advisor)
    # 2026-02-28 23:30 in Shanghai is the day before the card started (15:30 UTC).
    assert discount(client, order(customer, D(2026, 2, 28), hour=23)) is None
    assert discount(client, order(customer, D(2026, 3, 1), hour=8)) == 10
    assert discount(client, order(customer, D(2028, 3, 1))) == 10  # its last day
    assert discount(client, order(customer, D(2028, 3, 2))) is None


def test_a_refunded_card_gives_no_discount(client, advisor, manager, customer, silver):
    card_refund(card=silver, by=manager, day=D(2026, 3, 20))
    client.force_login(advisor)
    assert discount(client, order(customer, D(2026, 3, 10))) is None


def test_a_card_at_another_store_gives_no_discount_here(client, group_admin, customer, silver, other_dealership):
    client.force_login(group_admin)
    assert discount(client, order(customer, D(2026, 4, 2), dealership=other_dealership)) is None


@pytest.mark.parametrize("size", [1, 12])
def test_the_list_reads_the_discounts_in_its_own_query(client, advisor, customer, silver, size):
    for n in range(size):
        order(customer if n % 2 == 0 else CustomerFactory(dealership=customer.dealership), D(2026, 4, 2))
    client.force_login(advisor)
    client.get(URL)  # the session warm
    with CaptureQueriesContext(connection) as queries:
        rows = client.get(URL).json()["results"]
    # Session, user, the orders (with their discounts), their lines: a cursor page counts nothing.
    assert len(queries) == 4
    assert sorted(r["labour_discount_percent"] for r in rows if r["labour_discount_percent"] is not None) == [10] * (
        (size + 1) // 2
    )


def test_without_the_club_every_order_reads_null(client, advisor, customer, silver):
    provider = labour_discount_provider()
    labour_discount_provider_set(None)
    try:
        client.force_login(advisor)
        assert discount(client, order(customer, D(2026, 4, 2))) is None
    finally:
        labour_discount_provider_set(provider)


def test_the_admins_order_list_shows_the_discount(client, manager, customer, silver):
    ro = order(customer, D(2026, 4, 2))
    client.force_login(manager)
    page = client.get(reverse("admin:service_repairorder_changelist")).content.decode()
    assert "10%" in page
    assert "10%" in client.get(reverse("admin:service_repairorder_change", args=[ro.pk])).content.decode()
