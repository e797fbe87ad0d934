"""New-car follow-ups: the day-3 call and the day-7 questionnaire after delivery.

Only cars we sold (``sold_here``): a car bought elsewhere and serviced here has
no delivery of ours to ask about. The event is the purchase date plus
``params["days"]`` (3 or 7 by default); the occasion is the purchase date, so
a rerun, or a rule whose ``days`` is edited later, never calls the same
delivery twice.
"""

import logging

from django.db.models import BooleanField, Value
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, Param, register
from crm.sql import AddDays

logger = logging.getLogger(__name__)


def _days(run: Run, default: int) -> int | None:
    """``params["days"]`` when it is a whole number of days ≥ 0, else None."""
    # Params that are not an object at all are as wrong as a bad value.
    days = run.params.get("days", default) if isinstance(run.params, dict) else None
    # bool is an int in Python; "days": true is a typo, not one day.
    if isinstance(days, bool) or not isinstance(days, int) or days < 0:
        return None
    return days


def _new_car(run: Run, default_days: int):
    days = _days(run, default_days)
    cars = run.vehicles().filter(sold_here=True)
    cars = cars.annotate(
        t_event=AddDays("purchase_date", Value(days or 0)),
        t_occasion=occasion(run.rule.kind, "purchase_date"),
    )
    if days is None:
        logger.warning("care rule %s: params.days must be a whole number ≥ 0; nothing generated", run.rule.pk)
        # Not .none(): the engine annotates and compiles the queryset, and an
        # empty queryset has no SQL (EmptyResultSet). "WHERE false" has.
        return cars.filter(Value(False, output_field=BooleanField()))
    return cars


def generate_day3(run: Run):
    return _new_car(run, 3)


def generate_day7(run: Run):
    return _new_car(run, 7)


DEFAULT_RULES_DAY3 = (
    {
        "name": "新车三日回访",
        "lead_days": 0,
        "expiry_days": 4,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。感谢您选择我们，新车用了三天感觉怎么样？手续和资料都齐全吗？仪表盘有没有亮起的警告灯？"
            "首次保养时间是{due_date}前后，预约电话{booking_phone}。"
        ),
        "priority": 75,
        "params": {
            "days": 3,
        },
    },
)

SPEC_DAY3 = register(
    KindSpec(
        kind="new_car_day3",
        label=gettext_lazy("New car: day-3 call"),
        generate=generate_day3,
        params=(Param("days", gettext_lazy("Days after delivery"), type="int", default=3, min_value=0),),
        default_rules=DEFAULT_RULES_DAY3,
        module=__name__,
    )
)


DEFAULT_RULES_DAY7 = (
    {
        "name": "新车七日问卷",
        "lead_days": 0,
        "expiry_days": 7,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。打扰您几分钟做个满意度回访：对交车过程满意吗？车辆使用有没有疑问？"
        ),
        "priority": 60,
        "params": {
            "days": 7,
        },
    },
)

SPEC_DAY7 = register(
    KindSpec(
        kind="new_car_day7",
        label=gettext_lazy("New car: day-7 questionnaire"),
        generate=generate_day7,
        params=(Param("days", gettext_lazy("Days after delivery"), type="int", default=7, min_value=0),),
        default_rules=DEFAULT_RULES_DAY7,
        module=__name__,
    )
)
