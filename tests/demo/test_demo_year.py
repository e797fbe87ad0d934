"""A year of demo history on 200 customers (seed 3): tier movement, the watch
list and the spread of tiers and churn states. One seed for the module; each
test's own writes roll back to it."""

import datetime

import pytest
from django.db import transaction

from customers.models import ChurnEvent, Customer, TierChange, TierSnapshot
from demo.services import seed_demo
from service.models import Appointment, RepairLine
from tests.demo.test_seed_demo import TODAY, local_date
from vehicles.models import Vehicle


@pytest.fixture(scope="module")
def year_once(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        atomic = transaction.atomic()
        atomic.__enter__()
        try:
            yield seed_demo(customers=200, seed=3, today=TODAY)
        finally:
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)


@pytest.fixture
def year(year_once, db):
    return year_once


def test_a_year_of_tier_history_shows_movement(year):
    summary = year

    months = sorted(set(TierSnapshot.objects.values_list("month", flat=True)))
    # The first of each month from 2024-06 to 2025-06 (this month's is today's).
    assert months == [datetime.date(2024 + (5 + n) // 12, (5 + n) % 12 + 1, 1) for n in range(13)]
    assert summary.tier_snapshots == TierSnapshot.objects.count()
    per_month = [TierSnapshot.objects.filter(month=month).count() for month in months]
    # Customers join over the year (a snapshot only once they came to us), never leave.
    assert per_month == sorted(per_month) and per_month[0] < per_month[-1] == 200
    # Each month's snapshot is of its first day, this month's of today.
    for row in TierSnapshot.objects.select_related("customer"):
        as_of = TODAY if row.month == months[-1] else row.month
        assert local_date(row.customer.created_at) <= as_of
    # Month-on-month movement, and churn moves recorded in most months.
    may = dict(TierSnapshot.objects.filter(month=datetime.date(2025, 5, 1)).values_list("customer_id", "tier"))
    june = dict(TierSnapshot.objects.filter(month=datetime.date(2025, 6, 1)).values_list("customer_id", "tier"))
    assert sum(may[c] != june[c] for c in may) > 0
    assert len(set(ChurnEvent.objects.values_list("day", flat=True))) >= 10
    assert ChurnEvent.objects.filter(recovered=True).exists()
    assert TierChange.objects.filter(day__lt=datetime.date(2025, 6, 1)).exists()
    # The customer's last state is this month's snapshot.
    for customer in Customer.objects.all():
        row = TierSnapshot.objects.get(month=datetime.date(2025, 6, 1), customer=customer)
        assert (row.tier, row.churn_state) == (customer.value_tier, customer.churn_state)


def test_few_customers_are_watched_and_each_with_its_figures(year):
    summary = year

    watched = Customer.objects.exclude(watch_reason="")
    assert summary.watched == watched.count() <= 200 * 5 // 100
    for customer in watched:
        assert customer.watch_reason in ("tier_down", "visit_rate")
        # Watches last 60 days: from the runs of 2025-05-01 and 2025-06-15.
        assert customer.watch_since in (datetime.date(2025, 5, 1), TODAY)
        if customer.watch_reason == "visit_rate":
            assert customer.watch_days_since * 2 > customer.watch_usual_days * 3
            assert customer.watch_last_visit + datetime.timedelta(days=customer.watch_days_since) == (
                customer.watch_since
            )
        else:
            assert customer.watch_from_tier < customer.watch_to_tier


def test_two_hundred_customers_cover_every_tier_and_churn_state(year):
    tiers = set(Customer.objects.values_list("value_tier", flat=True))
    states = set(Customer.objects.values_list("churn_state", flat=True))
    assert tiers == {"A", "B", "C", "D"}
    assert states == {"active", "at_risk", "lost"}
    # Lost customers (D) have not been back for a year.
    assert not Customer.objects.filter(value_tier="D").exclude(churn_state="lost").exists()
    assert Customer.objects.filter(occupation=Customer.Occupation.TEACHER).exists()
    assert Customer.objects.filter(marketing_consent=True, marketing_consent_at__isnull=False).count() > 100
    assert Customer.objects.exclude(source=Customer.Source.BOUGHT_HERE).exists()
    assert Customer.objects.filter(referred_by__isnull=False).exists()
    assert Vehicle.objects.filter(purchase_date__gt=TODAY - datetime.timedelta(days=365)).exists()
    assert Vehicle.objects.filter(insurance_expiry_date__lte=TODAY + datetime.timedelta(days=60)).exists()
    assert Vehicle.objects.exclude(usage=Vehicle.Usage.PRIVATE).exists()
    assert RepairLine.objects.filter(status=RepairLine.Status.DECLINED).exists()
    assert Appointment.objects.exists()
