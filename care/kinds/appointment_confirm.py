"""The call the day before a booked appointment (``lead_days`` 1 in the default
rule): is the time still right?

One touch per booked appointment (occasion ``appointment:<pk>``), about its
local date. Appointments without a car are confirmed too, as customer-level
touches (``t_vehicle`` NULL). Once the appointment is no longer booked
(confirmed, cancelled, arrived), the engine's closer takes the touch off the
queue as inapplicable.
"""

import datetime

from django.db.models import F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.kinds.post_repair import visit_advisor
from care.registry import KindSpec, register
from care.touches.models import CareTask
from service.models import Appointment


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


def no_longer_booked(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
    """Nothing to confirm: the appointment was cancelled, moved or kept meanwhile."""
    return open_touches.exclude(appointment__status=Appointment.Status.BOOKED)


DEFAULT_RULES = (
    {
        "name": "预约确认",
        "lead_days": 1,
        "expiry_days": 0,
        "message_template": "【{dealership}】{name}{title}，提醒您明天到店，顾问{advisor}已为您预留工位。",
        "call_script": "{name}{title}您好，我是{dealership}的服务顾问{advisor}。跟您确认一下明天的预约，时间方便吗？",
        "priority": 80,
    },
)

SPEC = register(
    KindSpec(
        kind="appointment_confirm",
        label=gettext_lazy("Appointment confirmation"),
        generate=generate,
        fulfilled=no_longer_booked,
        fulfilled_status="cancelled",
        fulfilled_outcome="inapplicable",
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
