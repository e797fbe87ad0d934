"""Insurance renewal: touches before ``Vehicle.insurance_expiry_date``.

Renewal calls usually come in a cadence (e.g. 45, 33 and 30 days before, set on
the rule); the engine makes each contact its own step of the occasion
``insurance:<expiry date>``. A renewal moves the vehicle's expiry date on,
which closes the open touch as fulfilled and starts next year's occasion.
"""

import datetime

from django.db.models import F, QuerySet
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, register
from care.touches.models import CareTask


def generate(run: Run):
    rule = run.rule
    # Only expiries the engine could keep today: at most the earliest contact
    # ahead, at least the expiry days behind. A plain range on a column.
    earliest = run.day - datetime.timedelta(days=rule.expiry_days)
    latest = run.day + datetime.timedelta(days=rule.reach_days)
    return (
        run.vehicles()
        .filter(insurance_expiry_date__range=(earliest, latest))
        .annotate(t_event=F("insurance_expiry_date"), t_occasion=occasion("insurance", "insurance_expiry_date"))
    )


def renewed(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
    """The policy was renewed: the car's insurance now ends after the date the touch was about."""
    return open_touches.filter(vehicle__insurance_expiry_date__gt=F("event_date"))


DEFAULT_RULES = (
    {
        "name": "保险续保提醒",
        "lead_days": 45,
        "cadence_days": [45, 33, 30],
        "expiry_days": 0,
        "message_day_before": True,
        "message_template": (
            "【{dealership}】{name}{title}，您的爱车{plate}"
            "的车险将于{due_date}到期，本店会员续保可享积分和理赔服务，"
            "详询{booking_phone}。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您的爱车{plate}车险将于{due_date}到期。在本店续保可享会员积分、"
            "出险一站式理赔和代步车服务，我帮您做一份报价好吗？"
        ),
        "priority": 60,
    },
)

SPEC = register(
    KindSpec(
        kind="insurance",
        label=gettext_lazy("Insurance renewal"),
        generate=generate,
        fulfilled=renewed,
        scans_every_car=2,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
