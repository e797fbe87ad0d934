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
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, km_reached_on, occasion, visited_with
from care.registry import KindSpec, register
from service.models import RepairOrder


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


DEFAULT_RULES = (
    {
        "name": "超保提醒",
        "lead_days": 30,
        "expiry_days": 7,
        "message_day_before": True,
        "message_template": (
            "【{dealership}】{name}{title}，您的爱车{plate}"
            "的整车质保将于{due_date}到期，建议到期前到店免费检测，"
            "发现问题可在保修期内处理。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您的{model}质保将于{due_date}到期。建议您在到期前来店做一次免费检测，"
            "如有质保范围内的问题可以免费处理。请问哪天方便？"
        ),
        "priority": 65,
    },
)

SPEC = register(
    KindSpec(
        kind="warranty_expiry",
        label=gettext_lazy("Warranty expiry"),
        generate=generate,
        fulfilled=visited_with(RepairOrder.Kind.MAINTENANCE, RepairOrder.Kind.REPAIR, RepairOrder.Kind.WARRANTY),
        appointment_kind=RepairOrder.Kind.WARRANTY,
        scans_every_car=4,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
