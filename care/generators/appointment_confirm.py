"""The call the day before a booked appointment (``lead_days`` 1 in the default
rule): is the time still right?

One touch per booked appointment (occasion ``appointment:<pk>``), about its
local date. Appointments without a car are confirmed too, as customer-level
touches (``t_vehicle`` NULL). Once the appointment is no longer booked
(confirmed, cancelled, arrived), the engine's closer takes the touch off the
queue as inapplicable.
"""

from django.db.models import F, Q
from django.db.models.functions import TruncDate

from care.generators import register
from care.generators.base import Run, occasion
from care.generators.post_repair import visit_advisor
from care.models import CareKind
from service.models import Appointment


@register(CareKind.APPOINTMENT_CONFIRM)
def generate(run: Run):
    return (
        Appointment.objects.filter(status=Appointment.Status.BOOKED, customer__in=run.customers().values("pk"))
        # A car, when named, must be one of ours in use (Run.vehicles); no car
        # is fine: the customer's eligibility is checked above.
        .filter(Q(vehicle__isnull=True) | Q(vehicle__in=run.vehicles().values("pk")))
        .order_by()
        .annotate(
            t_dealership=F("customer__dealership_id"),
            t_customer=F("customer_id"),
            # The nullable bigint column is a typed NULL already, so PostgreSQL
            # inserts it as is; such rows fall under the customer-level
            # unique constraint (rule, customer, occasion).
            t_vehicle=F("vehicle_id"),
            t_tier=F("customer__value_tier"),
            # The advisor who booked the slot confirms it, when at the customer's store.
            t_advisor=visit_advisor(),
            t_event=TruncDate("scheduled_at"),
            t_occasion=occasion("appointment", "pk"),
            t_appointment=F("pk"),
        )
    )
