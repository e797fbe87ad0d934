"""Recall and service campaigns: one touch per (campaign, car) while the
campaign runs, for every car of ours whose VIN is on the campaign's list and
not yet done (``RecallVehicle.completed_on`` empty).

The rows come from ``RecallVehicle``, so a car on two campaigns gets two
touches (occasion ``recall:<campaign code>``, subject the campaign's title).
The list holds VINs, not cars: the car's columns come from correlated
subqueries on ``Run.vehicles()`` by VIN (unique, indexed), which also apply
the rule's eligibility. A campaign of one dealership reaches only that
dealership's customers; a group-wide one (no dealership) reaches all.

The event is the campaign start: the touch lives until start + the rule's
expiry, so the rule's expiry should cover the campaign's length.
"""

from django.db.models import Exists, F, OuterRef, Q, Subquery

from care.generators import register
from care.generators.base import Run, occasion
from care.models import CareKind, RecallVehicle


@register(CareKind.RECALL)
def generate(run: Run):
    car = run.vehicles().filter(vin=OuterRef("vin"))
    in_scope = Q(campaign__dealership__isnull=True, vin__in=run.vehicles().values("vin")) | Q(
        Exists(car.filter(customer__dealership_id=OuterRef("campaign__dealership_id")))
    )

    def column(name: str) -> Subquery:
        return Subquery(car.values(name)[:1])

    return (
        RecallVehicle.objects.filter(
            completed_on__isnull=True,
            campaign__start_date__lte=run.day,
            campaign__end_date__gte=run.day,
        )
        .filter(in_scope)
        .order_by()
        .annotate(
            t_dealership=column("t_dealership"),
            t_customer=column("t_customer"),
            t_vehicle=column("t_vehicle"),
            t_tier=column("t_tier"),
            t_advisor=column("t_advisor"),
            t_event=F("campaign__start_date"),
            t_occasion=occasion("recall", "campaign__code"),
            t_subject=F("campaign__title"),
        )
    )
