"""Annual inspection (年检): a touch before the car's next safety inspection.

The event is ``Vehicle.inspection_due_date`` when the store recorded it (from
the registration certificate or the last inspection: it always wins).
Otherwise it comes from a default schedule on the purchase date, a
simplification of the rules in force since 2022 (公安部/市场监管总局 reform of
2022-10-01 and 道路交通安全法实施条例 art. 16):

* Private and official cars (non-commercial passenger cars of up to 9 seats;
  the catalogue has no seat count, so every private/official car counts as
  one): on-site inspection 6 and 10 years after purchase, then every year up
  to 15 years, then every 6 months. Due at 72, 120, 132, 144, …, 180, 186,
  192, … months. (The stickers of years 2, 4 and 8 are claimed online without
  an inspection: nothing for a dealership to call about.)
* Commercial cars: every year for the first 5 years, then every 6 months.
  Due at 12, 24, …, 60, 66, 72, … months.

Each due date is the purchase anniversary (``AddMonths``, clamped at month
end: a car bought on 29 February is due on the 28th), standing in for the
registration date, which we do not record; vans, trucks and the end-of-month
validity of the real sticker are ignored.

The next due date is the first on the schedule on or after ``run.day -
expiry_days``, so a touch stays while it can still be worked and the schedule
moves on once it has expired. Computed exactly in SQL, without a search: the
fewest whole months ``m`` with ``AddMonths(purchase, m) >= reference`` is the
calendar-month difference, plus one when the purchase day of month is before
the reference's (clamping never matters: the reference's day of month is never
past its month's end). The due date is then the first scheduled month ≥ ``m``.
"""

import datetime

from dateutil.relativedelta import relativedelta
from django.db.models import Case, DateField, F, IntegerField, QuerySet, Value, When
from django.db.models.functions import Cast, Coalesce, ExtractMonth, ExtractYear
from django.db.models.lookups import LessThanOrEqual
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.registry import KindSpec, register
from care.touches.models import CareTask
from crm.sql import AddMonths
from vehicles.models import Vehicle

# The default schedule, in months after the purchase, as (up to month, step)
# segments: a first due month ≥ m is the segment's own month when it has no
# step, else m rounded up to the step. The SQL of the generator and the
# Python of ``inspection_due_on_or_after`` (the demo's cars) both read it.
SCHEDULES = {
    Vehicle.Usage.COMMERCIAL: ((12, None), (60, 12), (None, 6)),
    "default": ((72, None), (120, None), (180, 12), (None, 6)),
}


def _schedule(usage: str):
    return SCHEDULES.get(usage, SCHEDULES["default"])


def next_due_month(months: int, usage: str) -> int:
    """The first scheduled month ≥ ``months`` for a car of ``usage``."""
    for limit, step in _schedule(usage):
        if limit is None or months <= limit:
            return limit if step is None else -(-months // step) * step
    raise AssertionError("a schedule ends with an open segment")


def inspection_due_on_or_after(purchase: datetime.date, usage: str, reference: datetime.date) -> datetime.date:
    """The first default inspection date on or after ``reference`` (the purchase
    anniversary, clamped at month end like the engine's ``AddMonths``)."""
    months = (reference.year * 12 + reference.month) - (purchase.year * 12 + purchase.month)
    months += 1 if purchase.day < reference.day else 0
    return purchase + relativedelta(months=next_due_month(months, usage))


def _every(months, step: int):
    """``months`` (an integer > 0) rounded up to a multiple of ``step``:
    integer division truncates alike on PostgreSQL and SQLite."""
    return (months + Value(step - 1)) / Value(step) * Value(step)


def _schedule_sql(months, usage: str):
    """SQL of ``next_due_month`` for one usage's schedule."""
    *bounded, (_, last_step) = _schedule(usage)
    return Case(
        *[
            When(LessThanOrEqual(months, Value(limit)), then=Value(limit) if step is None else _every(months, step))
            for limit, step in bounded
        ],
        default=_every(months, last_step),
        output_field=IntegerField(),
    )


def _next_scheduled(months):
    return Case(
        When(usage=Vehicle.Usage.COMMERCIAL, then=_schedule_sql(months, Vehicle.Usage.COMMERCIAL)),
        default=_schedule_sql(months, "default"),
        output_field=IntegerField(),
    )


def generate(run: Run):
    reference = run.day - datetime.timedelta(days=run.rule.expiry_days)
    # EXTRACT is numeric on PostgreSQL: cast, so the rounding in the schedule
    # is integer division on both databases.
    months_to_reference = Cast(
        Value(reference.year * 12 + reference.month)
        - (ExtractYear("purchase_date") * Value(12) + ExtractMonth("purchase_date"))
        + Case(When(purchase_date__day__lt=reference.day, then=Value(1)), default=Value(0)),
        IntegerField(),
    )
    return (
        run.vehicles()
        .annotate(t_months=months_to_reference)
        .annotate(
            t_event=Coalesce(
                "inspection_due_date",
                AddMonths("purchase_date", _next_scheduled(F("t_months"))),
                output_field=DateField(),
            )
        )
        .annotate(t_occasion=occasion("inspection", "t_event"))
    )


def inspected(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
    """The inspection was recorded: the next one is due after the date the touch was about."""
    return open_touches.filter(vehicle__inspection_due_date__gt=F("event_date"))


DEFAULT_RULES = (
    {
        "name": "年检提醒",
        "lead_days": 30,
        "expiry_days": 0,
        "message_day_before": True,
        "message_template": (
            "【{dealership}】{name}{title}，您的爱车{plate}应于{due_date}前完成年检，银卡及以上会员可免费代办。"
        ),
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}"
            "。您的爱车{plate}年检截止日期是{due_date}。请带好行驶证、"
            "交强险保单和身份证，我们可以为您代办，需要预约吗？"
        ),
        "priority": 55,
    },
)

SPEC = register(
    KindSpec(
        kind="inspection",
        label=gettext_lazy("Annual inspection"),
        generate=generate,
        fulfilled=inspected,
        scans_every_car=0,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
