"""Mileage milestones: a touch before the car reaches the next round figure.

``params = {"milestones": [10000, 30000, 50000]}`` (the default). Only the
next milestone the car has not reached yet (``current_mileage < km``) counts,
so a car has one milestone touch at a time; the occasion names the milestone
(``mileage_milestone:30000``), so each milestone is touched once.

The date it is reached is predicted like maintenance by km: the km still to go
divided by the car's km per day (``Vehicle.km_per_day``, else
``CRM_DEFAULT_KM_PER_DAY``), counted from the latest reading (else delivery).
``km_reached_on`` (care.generators.base) is shared with maintenance and warranty.
"""

from django.db.models import Case, F, IntegerField, Value, When

from care.generators import register
from care.generators.base import Run, km_reached_on, occasion
from care.models import CareKind

DEFAULT_MILESTONES = [10000, 30000, 50000]


def milestones(run: Run) -> list[int]:
    """The configured milestones, ascending and without repeats."""
    return sorted({int(km) for km in run.params.get("milestones", DEFAULT_MILESTONES)})


@register(CareKind.MILEAGE_MILESTONE)
def generate(run: Run):
    marks = milestones(run)
    # The first milestone above the odometer; NULL past the last one (or when
    # none is configured), which drops the car below.
    next_milestone = Case(
        *[When(current_mileage__lt=km, then=Value(km)) for km in marks],
        default=Value(None),
        output_field=IntegerField(),
    )
    return (
        run.vehicles()
        .annotate(t_milestone=next_milestone)
        .filter(t_milestone__isnull=False)
        .annotate(
            t_event=km_reached_on(F("t_milestone")),
            t_occasion=occasion("mileage_milestone", F("t_milestone")),
        )
    )
