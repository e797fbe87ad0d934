"""The verification call after a complaint closes (投诉回访核实): is the problem
really solved, is the customer satisfied with the remedy?

One touch per closing of a case (occasion ``complaint:<id>:<reopen_count>``,
so a case reopened and closed again is called again), ``params["days"]``
working days after the local closing day (the next working day by default),
for the customer's advisor, or the case's handler when the advisor is the
staff member the complaint was about (or the customer has no advisor).

The touch is made at once when a case closes (``care.engine.receivers``, which
runs this generator narrowed to that case) and, by the morning run, for any
closed case still without one (closed while the rule was disabled). Its
outcome records the customer's satisfaction (1–5); a dissatisfied one reopens
the case (``care.workspace.complaints``). A touch whose case was reopened
meanwhile is no longer applicable.
"""

import bisect
import datetime
import logging

from django.db.models import BooleanField, Case, DateField, F, Q, QuerySet, Value, When
from django.db.models.functions import TruncDate
from django.utils import timezone
from django.utils.translation import gettext_lazy

from care.kinds.base import Run, occasion
from care.kinds.base import days as each_day
from care.registry import KindSpec, Param, register
from care.touches.models import CareTask
from complaints.models import Complaint
from crm.calendar import working_days
from service.models import RepairOrder

logger = logging.getLogger(__name__)

DEFAULT_DAYS = 1
# Enough for the longest run of days off (Spring Festival with its weekends):
# a case closed this long before the window's first day may still be due in it.
_HOLIDAY_SLACK_DAYS = 31


def call_days(first: datetime.date, last: datetime.date, n: int) -> dict[datetime.date, datetime.date]:
    """{closing day: day of the call} for every day in [first, last]: ``n``
    working days after it (the day itself not counted, as
    ``crm.calendar.add_working_days``), so Friday gives Monday and 30 September
    2026 gives 8 October. One query for the whole span."""
    if n == 0:
        return {day: day for day in each_day(first, last)}
    # Each calendar day of the span holds at most one working day, so this many
    # reach ``n`` working days past ``last``.
    worked = working_days(first + datetime.timedelta(days=1), (last - first).days + n)
    return {day: worked[bisect.bisect_right(worked, day) + n - 1] for day in each_day(first, last)}


def _event_case(field, mapping: dict[datetime.date, datetime.date]) -> Case:
    """SQL for ``mapping[field]``, one WHEN per run of consecutive days that
    share their answer (Friday to Sunday all give Monday)."""
    whens, run_start, previous = [], None, None
    for day in sorted(mapping):
        if run_start is not None and mapping[day] == mapping[previous] and day == previous + datetime.timedelta(1):
            previous = day
            continue
        if run_start is not None:
            whens.append(When(**{f"{field}__range": (run_start, previous)}, then=Value(mapping[previous])))
        run_start = previous = day
    if run_start is not None:
        whens.append(When(**{f"{field}__range": (run_start, previous)}, then=Value(mapping[previous])))
    return Case(*whens, default=Value(None), output_field=DateField())


def verifier():
    """Who calls: the customer's advisor, unless there is none or they are the
    staff member the complaint was about (they would be asking about
    themselves); then the case's handler (never the staff involved). The engine
    gives a touch without either to the store's least-loaded advisor."""
    return Case(
        When(customer__advisor__isnull=True, then=F("handler_id")),
        When(Q(customer__advisor_id=F("staff_involved_id")), then=F("handler_id")),
        default=F("customer__advisor_id"),
    )


def generate(run: Run):
    params = run.params if isinstance(run.params, dict) else {"days": None}
    n = params.get("days", DEFAULT_DAYS)
    valid = isinstance(n, int) and not isinstance(n, bool) and n >= 0
    if not valid:
        logger.warning("care rule %s: params.days must be a whole number ≥ 0; nothing generated", run.rule.pk)
        n = 0
    # Only cases closed recently enough for their call to be inside today's
    # window: a range on closed_at, then the exact call day per closing day.
    first = run.day - datetime.timedelta(days=run.rule.expiry_days + n + _HOLIDAY_SLACK_DAYS)
    since = timezone.make_aware(datetime.datetime.combine(first, datetime.time.min))
    cases = (
        Complaint.objects.filter(
            status=Complaint.Status.CLOSED,
            dealership_id__in=run.dealership_ids,
            closed_at__gte=since,
            customer__in=run.customers().values("pk"),
        )
        .order_by()
        .annotate(closed_day=TruncDate("closed_at"))
        .annotate(
            t_dealership=F("dealership_id"),
            t_customer=F("customer_id"),
            t_vehicle=F("vehicle_id"),
            t_tier=F("customer__value_tier"),
            t_advisor=verifier(),
            t_event=_event_case("closed_day", call_days(first, run.day, n)),
            t_occasion=occasion("complaint", "pk", "reopen_count"),
            t_subject=F("number"),
            t_repair_order=F("repair_order_id"),
            t_complaint=F("pk"),
        )
    )
    if not valid:
        return cases.filter(Value(False, output_field=BooleanField()))
    return cases


def no_longer_closed(open_touches: QuerySet[CareTask], day: datetime.date) -> QuerySet[CareTask]:
    """Touches whose case is open again (reopened before the call): nothing to verify yet."""
    return open_touches.exclude(complaint__status=Complaint.Status.CLOSED)


DEFAULT_RULES = (
    {
        "name": "投诉结案回访核实",
        "lead_days": 0,
        "expiry_days": 7,
        "call_script": (
            "{name}{title}您好，我是{dealership}的服务顾问{advisor}。关于您的投诉（编号{case_number}），"
            "我们的处理是：{remedy}。请问问题现在解决了吗？您对处理结果满意吗？"
            "请您打个分，1到5分，5分最满意。"
        ),
        "priority": 90,
        "params": {"days": DEFAULT_DAYS},
    },
)

SPEC = register(
    KindSpec(
        kind="complaint_verification",
        label=gettext_lazy("Complaint: verification call"),
        generate=generate,
        fulfilled=no_longer_closed,
        fulfilled_status=CareTask.Status.CANCELLED,
        fulfilled_outcome=CareTask.Outcome.INAPPLICABLE,
        params=(
            Param(
                "days",
                gettext_lazy("Working days after the case closes"),
                type="int",
                default=DEFAULT_DAYS,
                min_value=0,
            ),
        ),
        appointment_kind=RepairOrder.Kind.REPAIR,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
