"""The call after a missed appointment (爽约回访): was something wrong, shall we
book another time?

One touch per no-show appointment (occasion ``appointment-no-show:<pk>``),
about its local date, for the appointment's advisor (else the customer's).
``service.services.appointments_mark_no_shows`` turns the appointments into
no-shows (``care.tasks.mark_no_shows_task``, every 15 minutes, which then
applies this rule). A no-show who turns up after all closes the touch as
fulfilled: at once through the ``appointment_arrived`` signal, and in the
same task's scan for arrivals written in bulk (repair orders imported from
the DMS), which send no signal.
"""

import datetime

from django.db.models import F, Q, QuerySet
from django.db.models.functions import TruncDate
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.kinds.post_repair import visit_advisor
from care.registry import KindSpec, register
from care.touches.models import CareTask, CareTaskEvent
from care.touches.services import care_tasks_transition
from service.models import Appointment
from service.signals import appointment_arrived


def generate(run: Run):
    # Only slots recent enough to be inside today's window (event ≥ day −
    # expiry): a range on scheduled_at the index answers, a day early for the
    # time zone's sake; the engine keeps the exact dates.
    oldest = run.day - datetime.timedelta(days=run.rule.expiry_days + 1)
    since = timezone.make_aware(datetime.datetime.combine(oldest, datetime.time.min))
    return (
        Appointment.objects.filter(
            status=Appointment.Status.NO_SHOW,
            scheduled_at__gte=since,
            customer__in=run.customers().values("pk"),
        )
        # A car, when named, must be one of ours in use (Run.vehicles); no car is
        # a customer-level touch, as for the confirmation call.
        .filter(Q(vehicle__isnull=True) | Q(vehicle__in=run.vehicles().values("pk")))
        .order_by()
        .annotate(
            t_dealership=F("customer__dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=F("vehicle_id"),
            t_tier=F("customer__value_tier"),
            # The advisor of the appointment, when at the customer's store; else the customer's.
            t_advisor=visit_advisor(),
            t_event=TruncDate("scheduled_at"),
            t_occasion=occasion("appointment-no-show", "pk"),
            t_appointment=F("pk"),
        )
    )


def arrived(open_touches: QuerySet[CareTask], day: datetime.date | None = None) -> QuerySet[CareTask]:
    """The customer came after all: the appointment is marked arrived."""
    return open_touches.filter(appointment__status=Appointment.Status.ARRIVED)


def no_show_touches_close(*, now: datetime.datetime, appointment_ids: list[int] | None = None, by=None) -> int:
    """Open no-show touches whose appointment has arrived after all are done, as
    fulfilled. One statement; ``appointment_ids`` narrows it to those appointments."""
    touches = arrived(CareTask.objects.filter(kind="appointment_no_show", status=CareTask.Status.OPEN))
    if appointment_ids is not None:
        touches = touches.filter(appointment_id__in=appointment_ids)
    return care_tasks_transition(
        tasks=touches,
        to=CareTask.Status.DONE,
        outcome=CareTask.Outcome.FULFILLED,
        by=by,
        job=CareTaskEvent.Job.ARRIVED,
        now=now,
    )


@receiver(appointment_arrived, dispatch_uid="care.no_show_touches_close")
def _close_on_arrival(sender, *, appointment_ids: list[int], now: datetime.datetime, by=None, **kwargs) -> None:
    # The history names who marked the arrival.
    no_show_touches_close(now=now, appointment_ids=appointment_ids, by=by)


DEFAULT_RULES = (
    {
        "name": "爽约回访",
        "lead_days": 0,
        "expiry_days": 7,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您预约的到店时间已过，是临时有事吗？我帮您重新约个方便的时间好吗？"
        ),
        "priority": 85,
    },
)

SPEC = register(
    KindSpec(
        kind="appointment_no_show",
        label=gettext_lazy("Missed appointment"),
        generate=generate,
        fulfilled=arrived,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
