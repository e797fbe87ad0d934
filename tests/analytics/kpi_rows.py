"""Rollup rows with known numbers: the KPI selectors' input, written directly (the rollups'
own tests check how the nightly run fills them). The pages read the monthly tables: each helper
adds its figures to the row of the day's month, and to the group's row (no dealership) where the
table keeps one, as the nightly run sums them."""

import datetime
from decimal import Decimal

import factory
from django.db.models import F
from django.utils import timezone

from analytics.models import (
    MonthlyAdvisorStats,
    MonthlyAdvisorTotals,
    MonthlyCareStats,
    MonthlyCareTotals,
    MonthlyOrderStats,
    MonthlyOrderTotals,
    MonthlyStoreStats,
    MonthlyTierStats,
    RetentionStats,
)
from service.models import RepairOrder
from tests.vehicles.factories import VehicleFactory

D = datetime.date
AS_OF = D(2025, 6, 1)


def _add(model, key: dict, figures: dict, *, group: bool) -> None:
    """Add ``figures`` to the row of ``key`` (created at zero), and to the group's row."""
    for dealership in (key["dealership"], None) if group else (key["dealership"],):
        row, _created = model.objects.get_or_create(**{**key, "dealership": dealership})
        model.objects.filter(pk=row.pk).update(**{name: F(name) + value for name, value in figures.items()})


def orders(
    store, day, *, kind="maintenance", payer="customer", model=None, tier="B", visits=1, revenue="0", labor=None
):
    revenue = Decimal(revenue)
    labor = Decimal(labor) if labor is not None else revenue
    figures = {"visits": visits, "revenue": revenue, "labor": labor, "parts": revenue - labor}
    key = {"dealership": store, "month": day.replace(day=1), "kind": kind, "payer": payer, "tier": tier}
    _add(MonthlyOrderStats, {**key, "model": model}, figures, group=True)
    _add(MonthlyOrderTotals, key, figures, group=True)


def store_day(store, day, **figures):
    _add(MonthlyStoreStats, {"dealership": store, "month": day.replace(day=1)}, figures, group=True)


def care(store, day, *, kind="maintenance", advisor=None, revenue="0", **stages):
    figures = {"revenue": Decimal(revenue), **stages}
    key = {"dealership": store, "month": day.replace(day=1), "kind": kind}
    _add(MonthlyCareStats, {**key, "advisor": advisor}, figures, group=False)
    _add(MonthlyCareTotals, key, figures, group=True)  # the store's over its advisors


def advisor_month(store, month, advisor, **figures):
    """An advisor's month: the sums of its days, and ``overdue`` as its last day left it."""
    _add(MonthlyAdvisorTotals, {"dealership": store, "month": month}, figures, group=False)
    return MonthlyAdvisorStats.objects.create(dealership=store, month=month, advisor=advisor, **figures)


def tiers(store, month, *, tier="B", churn_state="active", customers=1):
    """Customers of a store-month's tier snapshot (the current month: the active customers now)."""
    key = {"dealership": store, "month": month, "tier": tier, "churn_state": churn_state}
    _add(MonthlyTierStats, key, {"customers": customers}, group=True)


def retention(store, dimension, band, *, model=None, as_of=AS_OF, **figures):
    return RetentionStats.objects.create(
        dealership=store, dimension=dimension, band=band, model=model, as_of=as_of, **figures
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
