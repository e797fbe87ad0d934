"""Rollup rows with known numbers: the KPI selectors' input, written directly (the rollups'
own tests check how the nightly run fills them)."""

import datetime
from decimal import Decimal

import factory
from django.utils import timezone

from analytics.models import DailyAdvisorStats, DailyCareStats, DailyOrderStats, DailyStoreStats, RetentionStats
from customers.models import TierSnapshot
from service.models import RepairOrder
from tests.vehicles.factories import VehicleFactory

D = datetime.date
AS_OF = D(2025, 6, 1)


def orders(
    store, day, *, kind="maintenance", payer="customer", model=None, tier="B", visits=1, revenue="0", labor=None
):
    revenue = Decimal(revenue)
    labor = Decimal(labor) if labor is not None else revenue
    return DailyOrderStats.objects.create(
        dealership=store,
        day=day,
        kind=kind,
        payer=payer,
        model=model,
        tier=tier,
        visits=visits,
        revenue=revenue,
        labor=labor,
        parts=revenue - labor,
    )


def store_day(store, day, **figures):
    return DailyStoreStats.objects.create(dealership=store, day=day, **figures)


def care(store, day, *, kind="maintenance", advisor=None, revenue="0", **stages):
    return DailyCareStats.objects.create(
        dealership=store, day=day, kind=kind, advisor=advisor, revenue=Decimal(revenue), **stages
    )


def advisor_day(store, day, advisor, **figures):
    return DailyAdvisorStats.objects.create(dealership=store, day=day, advisor=advisor, **figures)


def retention(store, dimension, band, *, model=None, as_of=AS_OF, **figures):
    return RetentionStats.objects.create(
        dealership=store, dimension=dimension, band=band, model=model, as_of=as_of, **figures
    )


def snapshot(customer, month, tier="B", churn_state="active"):
    return TierSnapshot.objects.create(
        month=month, customer=customer, dealership=customer.dealership, tier=tier, churn_state=churn_state
    )


class RepairOrderFactory(factory.django.DjangoModelFactory):
    """A closed repair order of the vehicle's owner at their store: labour + parts = total."""

    class Meta:
        model = RepairOrder

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.LazyAttribute(lambda o: o.vehicle.customer)
    dealership = factory.LazyAttribute(lambda o: o.customer.dealership)
    number = factory.Sequence(lambda n: f"RO-KPI-{n:06d}")
    kind = RepairOrder.Kind.MAINTENANCE
    payer = RepairOrder.Payer.CUSTOMER
    opened_at = factory.LazyFunction(timezone.now)
    closed_at = factory.LazyAttribute(lambda o: o.opened_at + datetime.timedelta(hours=5))
    mileage = 10000
    labor_amount = Decimal("300.00")
    parts_amount = Decimal("200.00")
    total_amount = factory.LazyAttribute(lambda o: o.labor_amount + o.parts_amount)
