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

import datetime

from django.db.models import CharField, Exists, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, register
from care.touches.models import CareTask, RecallVehicle
from service.models import RepairOrder


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


def completed(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
    """The recall is recorded as completed for the car (occasion ``recall:<code>``)."""
    done = RecallVehicle.objects.annotate(
        occasion=Concat(Value("recall:"), F("campaign__code"), output_field=CharField())
    ).filter(vin=OuterRef("vehicle__vin"), occasion=OuterRef("occasion"), completed_on__isnull=False)
    return open_touches.filter(Exists(done))


DEFAULT_RULES = (
    {
        "name": "召回通知",
        "lead_days": 0,
        "expiry_days": 90,
        "message_template": (
            "【{dealership}】{name}{title}，您的爱车{plate}在厂家“{item}”范围内，请致电{booking_phone}预约免费处理。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。厂家发布了“{item}”，您的爱车{plate}在范围内，处理免费，大约需要一小时，"
            "请问哪天方便？"
        ),
        "priority": 90,
    },
)

SPEC = register(
    KindSpec(
        kind="recall",
        label=gettext_lazy("Recall"),
        generate=generate,
        fulfilled=completed,
        appointment_kind=RepairOrder.Kind.WARRANTY,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
