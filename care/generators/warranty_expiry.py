"""Warranty expiry: a touch before the factory warranty ends, by time or by km,
whichever comes first.

Time: ``Vehicle.warranty_end_date``. Km: the date ``warranty_end_km`` is
predicted to be reached, as for mileage milestones (see ``km_reached_on``).
A car already beyond the km limit gets an estimated date in the past, so it is
touched only while that date is within the rule's expiry days, like a car past
its end date: nothing special-cases "already expired".

The occasion is the warranty's end date, not the event: the km prediction
moves with every reading, the end date only when the warranty is extended
(which rightly starts a new touch). Warranties known only by km fall back to
``warranty_expiry:<km>km``.
"""

from django.db.models import CharField, DateField, F, Q, Value
from django.db.models.functions import Cast, Coalesce, Concat, Least

from care.generators import register
from care.generators.base import Run, km_reached_on, occasion
from care.models import CareKind


@register(CareKind.WARRANTY_EXPIRY)
def generate(run: Run):
    return (
        run.vehicles()
        .filter(Q(warranty_end_date__isnull=False) | Q(warranty_end_km__isnull=False))
        .annotate(t_time_end=F("warranty_end_date"), t_km_end=km_reached_on(F("warranty_end_km")))
        .annotate(
            # SQLite's min() is NULL when any argument is, PostgreSQL's LEAST
            # skips NULLs: coalescing each side makes both take the known limit.
            t_event=Least(
                Coalesce("t_time_end", "t_km_end"), Coalesce("t_km_end", "t_time_end"), output_field=DateField()
            ),
            t_occasion=occasion(
                "warranty_expiry",
                Coalesce(
                    Cast("warranty_end_date", CharField()),
                    Concat(Cast("warranty_end_km", CharField()), Value("km"), output_field=CharField()),
                ),
            ),
        )
    )
