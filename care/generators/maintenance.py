"""Maintenance due by time or by mileage, whichever comes first.

Time: the model's months since the last maintenance (first maintenance: since
delivery). Mileage: the km still to go, divided by the car's km per day
(``Vehicle.km_per_day`` from its odometer history; ``CRM_DEFAULT_KM_PER_DAY``
where the history is thin), counted from the latest reading.
"""

from django.db.models import Case, CharField, DateField, F, IntegerField, Value, When
from django.db.models.functions import Cast, Coalesce, Least

from care.generators import register
from care.generators.base import Run, km_reached_on, occasion
from care.models import CareKind
from crm.sql import AddMonths


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
    return (
        run.vehicles()
        .annotate(
            t_due_km=due_km,
            t_time_due=AddMonths(Coalesce("last_maintenance_date", "purchase_date"), months),
            t_km_due=km_reached_on(F("t_due_km")),
        )
        .annotate(
            # A car standing still has no km date: time alone decides.
            t_event=Least("t_time_due", Coalesce("t_km_due", "t_time_due"), output_field=DateField()),
            # One occasion per service cycle: a new maintenance starts a new one.
            t_occasion=occasion("maintenance", Coalesce(Cast("last_maintenance_date", CharField()), Value("first"))),
        )
    )
