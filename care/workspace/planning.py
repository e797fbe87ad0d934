"""The morning plan: a day each advisor can finish.

Every call due by today is planned onto a day of its advisor's queue: today
gets the most urgent calls up to the advisor's capacity — the soonest to
expire first (a post-repair call expires on day 15, an insurance step before
its next step), then tier, then priority — and the rest go onto the next
working days (the holiday table), never past a call's expiry. A call that
cannot fit before it expires is marked ``overflow`` for the manager instead
of being silently dropped. A call is one customer's touches of one advisor,
as the queue shows them.

The plan is two statements per run whatever the number of calls (a ranking
with window functions joined to the days and capacities), and is made anew
every morning, so a call snoozed, logged or reassigned during the day needs
no bookkeeping here.
"""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, F, Q
from django.utils import timezone

from care.kinds.post_repair import other_advisor
from care.registry import CareKind
from care.touches.models import CareTask, Channel
from care.workspace.models import AdvisorAbsence, AdvisorCapacity, Contact, TaskReassignment
from crm.calendar import working_days
from crm.models import Dealership, User
from customers.models import Customer

logger = logging.getLogger(__name__)

ABSENCE_REASON = "advisor off"
SURVEY_REASON = "survey by another advisor"


@dataclasses.dataclass
class PlanReport:
    day: datetime.date
    planned_today: int = 0  # calls in today's queues
    planned_later: int = 0  # calls planned onto the next working days
    overflow: int = 0  # calls with no room before they expire
    covered: int = 0  # touches moved from an absent advisor
    surveys_moved: int = 0  # post-repair calls moved off the customer's own advisor


def _due_calls(stores: list[int], day: datetime.date):
    return CareTask.objects.filter(
        dealership_id__in=stores, status=CareTask.Status.OPEN, channel=Channel.CALL, due_date__lte=day
    )


def advisor_capacities(advisor_ids) -> dict[int, int]:
    """Calls a day for each advisor (the setting where admin set none)."""
    own = dict(AdvisorCapacity.objects.filter(user_id__in=advisor_ids).values_list("user_id", "daily_calls"))
    return {pk: own.get(pk, settings.CRM_CARE_DAILY_CALLS) for pk in advisor_ids}


def _cover_absences(stores: list[int], day: datetime.date, report: PlanReport) -> None:
    """An absent advisor's due calls go to the least-loaded advisor of the store
    who is in (the one with the fewest due calls, counted as they are moved)."""
    absent = set(
        AdvisorAbsence.objects.filter(date=day, user__dealership_id__in=stores).values_list("user_id", flat=True)
    )
    if not absent:
        return
    advisors = list(
        User.objects.filter(role=User.Role.ADVISOR, is_active=True, dealership_id__in=stores)
        .annotate(
            due=Count(
                "care_tasks",
                filter=Q(
                    care_tasks__status=CareTask.Status.OPEN,
                    care_tasks__channel=Channel.CALL,
                    care_tasks__due_date__lte=day,
                ),
            )
        )
        .order_by("pk")
    )
    present: dict[int, dict[int, int]] = {}  # store -> advisor -> load
    for advisor in advisors:
        if advisor.pk not in absent:
            present.setdefault(advisor.dealership_id, {})[advisor.pk] = advisor.due
    for advisor in advisors:
        loads = present.get(advisor.dealership_id)
        if advisor.pk not in absent or not loads or not advisor.due:
            continue
        to = min(loads, key=lambda pk: (loads[pk], pk))
        moving = _due_calls(stores, day).filter(assigned_to_id=advisor.pk)
        TaskReassignment.objects.bulk_create(
            TaskReassignment(task_id=pk, from_user_id=advisor.pk, to_user_id=to, by=None, reason=ABSENCE_REASON)
            for pk in moving.values_list("pk", flat=True)
        )
        report.covered += moving.update(assigned_to_id=to)
        loads[to] += advisor.due


def _surveys_off_own_advisors(stores: list[int], day: datetime.date, report: PlanReport) -> None:
    """In a store whose surveys are asked by another advisor
    (``Dealership.surveys_by_other_advisor``), a due post-repair call held by
    the customer's or the order's own advisor (an absent colleague's calls
    covered above, a reassignment, a call made before the store turned it on)
    goes to another advisor of the store who is in, as the generator picks
    them (``care.kinds.post_repair.other_advisor``).

    One SELECT works out every move in SQL; then one UPDATE per advisor
    receiving calls (a handful), with a reassignment row each."""
    absent = tuple(
        AdvisorAbsence.objects.filter(date=day, user__dealership_id__in=stores).values_list("user_id", flat=True)
    )
    own = Q(assigned_to_id=F("customer__advisor_id")) | Q(assigned_to_id=F("repair_order__advisor_id"))
    moves = list(
        _due_calls(stores, day)
        .filter(kind=CareKind.POST_REPAIR_DAY3, dealership__surveys_by_other_advisor=True)
        .filter(own)
        .annotate(
            to=other_advisor(
                store="dealership_id", excluded=("customer__advisor_id", "repair_order__advisor_id"), away=absent
            )
        )
        .filter(to__isnull=False)
        .values_list("pk", "assigned_to_id", "to")
    )
    by_target: dict[int, list[int]] = {}
    for pk, _from, to in moves:
        by_target.setdefault(to, []).append(pk)
    TaskReassignment.objects.bulk_create(
        TaskReassignment(task_id=pk, from_user_id=from_user, to_user_id=to, by=None, reason=SURVEY_REASON)
        for pk, from_user, to in moves
    )
    for to, pks in by_target.items():
        report.surveys_moved += CareTask.objects.filter(pk__in=pks).update(assigned_to_id=to)


def _calls_made(advisor_ids, day: datetime.date) -> dict[int, int]:
    """Calls each advisor already logged on ``day``: a rerun at noon fills only what is left of the day."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = start + datetime.timedelta(days=1)
    return dict(
        Contact.objects.filter(
            advisor_id__in=advisor_ids, channel=Contact.Channel.CALL, created_at__gte=start, created_at__lt=end
        )
        .values("advisor_id")
        .annotate(n=Count("pk"))
        .values_list("advisor_id", "n")
    )


def _values(rows: list[tuple]) -> tuple[str, list]:
    """``VALUES (%s, %s), …`` for a handful of constant rows (named as a CTE's columns)."""
    sql = ", ".join("(" + ", ".join(["%s"] * len(rows[0])) + ")" for _ in rows)
    return f"VALUES {sql}", [value for row in rows for value in row]


def _plan_sql(stores: list[int], day: datetime.date, days: list[datetime.date], caps: dict[int, tuple[int, int]]):
    """The plan of every due call touch: (touch, day or NULL when its call overflows)."""
    tiers = [Customer.ValueTier.A, Customer.ValueTier.B, Customer.ValueTier.C, Customer.ValueTier.D]
    tier_rank = " ".join(f"WHEN %s THEN {rank}" for rank in range(len(tiers)))
    days_sql, days_params = _values(list(enumerate(days)))
    caps_sql, caps_params = _values([(pk, cap, left) for pk, (cap, left) in sorted(caps.items())])
    # The slot of the k-th call: today while the advisor has calls left today
    # (``first``), then ``cap`` a working day.
    slot = "CASE WHEN {k} < c.first THEN 0 ELSE 1 + ({k} - c.first) / c.cap END"
    store_marks = ", ".join(["%s"] * len(stores))
    order = "ORDER BY touches.expires, touches.tier_rank, touches.top DESC, touches.first_due, touches.customer"
    task, customer = CareTask._meta.db_table, Customer._meta.db_table
    # Per touch, with its call's figures from a window (a call is one advisor's
    # customer), so the plan joins back to the touches by primary key: a join
    # on (advisor, customer) nested-looped for minutes on fresh, unanalysed rows.
    # Pass 1 numbers the calls and finds those that cannot fit before they
    # expire; pass 2 numbers them again partitioned by "fits", so an
    # overflowing call does not push a later one out.
    sql = f"""
        WITH days(idx, day) AS ({days_sql}), caps(advisor, cap, first) AS ({caps_sql}), touches AS (
            SELECT t.id, t.assigned_to_id AS advisor, t.customer_id AS customer,
                   MIN(t.expires_on) OVER call AS expires, MAX(t.priority) OVER call AS top,
                   MIN(t.due_date) OVER call AS first_due,
                   CASE cu.value_tier {tier_rank} ELSE {len(tiers)} END AS tier_rank
            FROM {task} t JOIN {customer} cu ON cu.id = t.customer_id
            WHERE t.dealership_id IN ({store_marks}) AND t.status = %s AND t.channel = %s
              AND t.due_date <= %s AND t.assigned_to_id IS NOT NULL
            WINDOW call AS (PARTITION BY t.assigned_to_id, t.customer_id)
        ), first_pass AS (
            SELECT touches.*, (DENSE_RANK() OVER (PARTITION BY touches.advisor {order}) - 1) AS k
            FROM touches
        ), judged AS (
            SELECT f.*, CASE WHEN d.day IS NOT NULL AND d.day <= f.expires THEN 1 ELSE 0 END AS fits
            FROM first_pass f JOIN caps c ON c.advisor = f.advisor LEFT JOIN days d ON d.idx = {slot.format(k="f.k")}
        ), second_pass AS (
            SELECT touches.id, touches.advisor, touches.fits,
                   (DENSE_RANK() OVER (PARTITION BY touches.advisor, touches.fits {order}) - 1) AS k
            FROM judged AS touches
        ), plan AS (
            SELECT s.id, CASE WHEN s.fits = 1 THEN d.day END AS day
            FROM second_pass s JOIN caps c ON c.advisor = s.advisor LEFT JOIN days d ON d.idx = {slot.format(k="s.k")}
        )
    """
    params = [*days_params, *caps_params, *tiers, *stores, CareTask.Status.OPEN, Channel.CALL, day]
    return sql, params


def care_plan_day(*, day: datetime.date) -> PlanReport:
    """Plan every store's due calls onto its advisors' days (see the module)."""
    report = PlanReport(day=day)
    stores = list(Dealership.objects.filter(is_active=True).values_list("pk", flat=True))
    if not stores:
        return report
    with transaction.atomic():
        _cover_absences(stores, day, report)
        _surveys_off_own_advisors(stores, day, report)
        advisors = list(
            _due_calls(stores, day)
            .exclude(assigned_to=None)
            .order_by()
            .values_list("assigned_to_id", flat=True)
            .distinct()
        )
        if not advisors:
            return report
        done = _calls_made(advisors, day)
        caps = {pk: (cap, max(cap - done.get(pk, 0), 0)) for pk, cap in advisor_capacities(advisors).items()}
        days = [day, *working_days(day + datetime.timedelta(days=1), settings.CRM_CARE_PLAN_DAYS)]
        plan_sql, params = _plan_sql(stores, day, days, caps)
        task = CareTask._meta.db_table
        # Only the touches whose day changes are written: a rerun writes nothing.
        distinct = "IS NOT" if connection.vendor == "sqlite" else "IS DISTINCT FROM"
        with connection.cursor() as cursor:
            # Every due call of the stores takes its planned day, or overflows.
            cursor.execute(
                f"""{plan_sql}
                UPDATE {task} SET planned_for = plan.day, overflow = (plan.day IS NULL)
                FROM plan WHERE {task}.id = plan.id
                  AND ({task}.planned_for {distinct} plan.day OR {task}.overflow <> (plan.day IS NULL))""",
                params,
            )
        counts = _due_calls(stores, day).aggregate(
            today=Count("customer_id", distinct=True, filter=Q(planned_for=day)),
            later=Count("customer_id", distinct=True, filter=Q(planned_for__gt=day)),
            overflow=Count("customer_id", distinct=True, filter=Q(overflow=True)),
        )
    report.planned_today, report.planned_later, report.overflow = counts["today"], counts["later"], counts["overflow"]
    logger.info(
        "care plan",
        extra={"care_day": str(day), "care_today": report.planned_today, "care_overflow": report.overflow},
    )
    return report
