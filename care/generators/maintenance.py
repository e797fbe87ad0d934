"""Maintenance due by time or by mileage, whichever comes first.

Time: the model's months since the last maintenance (first maintenance: since
delivery). Mileage: the km still to go, divided by the car's km per day
(``Vehicle.km_per_day`` from its odometer history; ``CRM_DEFAULT_KM_PER_DAY``
where the history is thin), counted from the latest reading.
"""

from django.conf import settings
from django.db.models import Case, CharField, DateField, F, FloatField, IntegerField, Value, When
from django.db.models.functions import Cast, Coalesce, Greatest, Least

from care.generators import register
from care.generators.base import Run, occasion
from care.models import CareKind
from crm.sql import AddDays, AddMonths


@register(CareKind.MAINTENANCE)
def generate(run: Run):
    months = Case(
        When(last_maintenance_date__isnull=True, then=F("model__first_maintenance_months")),
        default=F("model__maintenance_interval_months"),
        output_field=IntegerField(),
    )
    due_km = Case(
        When(last_maintenance_date__isnull=True, then=F("model__first_maintenance_km")),
        default=F("last_maintenance_mileage") + F("model__maintenance_interval_km"),
        output_field=IntegerField(),
    )
    km_per_day = Cast(Coalesce(F("km_per_day"), Value(settings.CRM_DEFAULT_KM_PER_DAY)), FloatField())
    km_to_go = Greatest(F("t_due_km") - F("current_mileage"), Value(0))
    return (
        run.vehicles()
        .annotate(
            t_due_km=due_km,
            t_time_due=AddMonths(Coalesce("last_maintenance_date", "purchase_date"), months),
            t_km_due=AddDays(
                Coalesce("current_mileage_date", "purchase_date"), Cast(km_to_go, FloatField()) / km_per_day
            ),
        )
        .annotate(
            t_event=Least("t_time_due", "t_km_due", output_field=DateField()),
            # One occasion per service cycle: a new maintenance starts a new one.
            t_occasion=occasion("maintenance", Coalesce(Cast("last_maintenance_date", CharField()), Value("first"))),
        )
    )
