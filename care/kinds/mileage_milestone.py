"""Mileage milestones: a touch before the car reaches the next round figure.

``params = {"milestones": [10000, 30000, 50000]}`` (the default). Only the
next milestone the car has not reached yet (``current_mileage < km``) counts,
so a car has one milestone touch at a time; the occasion names the milestone
(``mileage_milestone:30000``), so each milestone is touched once.

The date it is reached is predicted like maintenance by km: the km still to go
divided by the car's km per day (``Vehicle.km_per_day``, else
``CRM_DEFAULT_KM_PER_DAY``), counted from the latest reading (else delivery).
``km_reached_on`` (care.kinds.base) is shared with maintenance and warranty.
"""

from django.db.models import Case, F, IntegerField, Value, When
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, km_reached_on, occasion, visited_with
from care.registry import KindSpec, Param, register
from service.models import RepairOrder

DEFAULT_MILESTONES = [10000, 30000, 50000]


def milestones(run: Run) -> list[int]:
    """The configured milestones, ascending and without repeats."""
    return sorted({int(km) for km in run.params.get("milestones", DEFAULT_MILESTONES)})


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


DEFAULT_RULES = (
    {
        "name": "里程节点检查",
        "expiry_days": 30,
        "message_template": (
            "【{dealership}】{name}{title}，您的爱车{plate}即将行驶满{mileage}公里，建议到店做一次全面检查。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您的爱车{plate}即将达到{mileage}公里，这是一个重要的检查节点，"
            "我们为您安排一次免费全面检查，您看什么时间方便？"
        ),
        "priority": 55,
        "params": {
            "milestones": [10000, 30000, 50000],
        },
    },
)

SPEC = register(
    KindSpec(
        kind="mileage_milestone",
        label=gettext_lazy("Mileage milestone"),
        generate=generate,
        fulfilled=visited_with(RepairOrder.Kind.MAINTENANCE, RepairOrder.Kind.REPAIR),
        params=(
            Param(
                "milestones", gettext_lazy("Milestones (km)"), type="int_list", default=DEFAULT_MILESTONES, min_value=1
            ),
        ),
        scans_every_car=5,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
