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
from django.db.models import Count, Q

from care.touches.models import CareTask, Channel
from care.workspace.models import AdvisorAbsence, AdvisorCapacity, TaskReassignment
from crm.calendar import working_days
from crm.models import Dealership, User
from customers.models import Customer

logger = logging.getLogger(__name__)

ABSENCE_REASON = "advisor off"


@dataclasses.dataclass
class PlanReport:
    day: datetime.date
    planned_today: int = 0  # calls in today's queues
    planned_later: int = 0  # calls planned onto the next working days
    overflow: int = 0  # calls with no room before they expire
    covered: int = 0  # touches moved from an absent advisor


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


def _values(rows: list[tuple]) -> tuple[str, list]:
    """``VALUES (%s, %s), …`` for a handful of constant rows (named as a CTE's columns)."""
    sql = ", ".join("(" + ", ".join(["%s"] * len(rows[0])) + ")" for _ in rows)
    return f"VALUES {sql}", [value for row in rows for value in row]


def _plan_sql(stores: list[int], day: datetime.date, days: list[datetime.date], caps: dict[int, int]):
    """The plan of every due call: (advisor, customer, day or NULL when it overflows)."""
    tiers = [Customer.ValueTier.A, Customer.ValueTier.B, Customer.ValueTier.C, Customer.ValueTier.D]
    tier_rank = " ".join(f"WHEN %s THEN {rank}" for rank in range(len(tiers)))
    days_sql, days_params = _values(list(enumerate(days)))
    caps_sql, caps_params = _values(sorted(caps.items()))
    store_marks = ", ".join(["%s"] * len(stores))
    order = "ORDER BY calls.expires, calls.tier_rank, calls.top DESC, calls.first_due, calls.customer"
    task, customer = CareTask._meta.db_table, Customer._meta.db_table
    # Pass 1 finds the calls that cannot fit before they expire; pass 2 ranks
    # the others again without them (a window partitioned by "fits", no join),
    # so an overflowing call does not push a later one out.
    sql = f"""
        WITH days(idx, day) AS ({days_sql}), caps(advisor, cap) AS ({caps_sql}), calls AS (
            SELECT t.assigned_to_id AS advisor, t.customer_id AS customer, MIN(t.expires_on) AS expires,
                   MAX(t.priority) AS top, MIN(t.due_date) AS first_due,
                   MIN(CASE cu.value_tier {tier_rank} ELSE {len(tiers)} END) AS tier_rank
            FROM {task} t JOIN {customer} cu ON cu.id = t.customer_id
            WHERE t.dealership_id IN ({store_marks}) AND t.status = %s AND t.channel = %s
              AND t.due_date <= %s AND t.assigned_to_id IS NOT NULL
            GROUP BY t.assigned_to_id, t.customer_id
        ), first_pass AS (
            SELECT calls.*, (ROW_NUMBER() OVER (PARTITION BY calls.advisor {order}) - 1) AS k
            FROM calls
        ), judged AS (
            SELECT f.*, CASE WHEN d.day IS NOT NULL AND d.day <= f.expires THEN 1 ELSE 0 END AS fits
            FROM first_pass f JOIN caps c ON c.advisor = f.advisor LEFT JOIN days d ON d.idx = f.k / c.cap
        ), second_pass AS (
            SELECT calls.advisor, calls.customer, calls.fits,
                   (ROW_NUMBER() OVER (PARTITION BY calls.advisor, calls.fits {order}) - 1) AS k
            FROM judged AS calls
        ), plan AS (
            SELECT s.advisor, s.customer, CASE WHEN s.fits = 1 THEN d.day END AS day
            FROM second_pass s JOIN caps c ON c.advisor = s.advisor LEFT JOIN days d ON d.idx = s.k / c.cap
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
        advisors = list(
            _due_calls(stores, day).exclude(assigned_to=None).values_list("assigned_to_id", flat=True).distinct()
        )
        if not advisors:
            return report
        caps = advisor_capacities(advisors)
        days = [day, *working_days(day + datetime.timedelta(days=1), settings.CRM_CARE_PLAN_DAYS)]
        plan_sql, params = _plan_sql(stores, day, days, caps)
        task = CareTask._meta.db_table
        with connection.cursor() as cursor:
            # Every due call of the stores takes its planned day, or overflows.
            cursor.execute(
                f"""{plan_sql}
                UPDATE {task} SET planned_for = plan.day, overflow = (plan.day IS NULL)
                FROM plan
                WHERE {task}.assigned_to_id = plan.advisor AND {task}.customer_id = plan.customer
                  AND {task}.status = %s AND {task}.channel = %s AND {task}.due_date <= %s""",
                [*params, CareTask.Status.OPEN, Channel.CALL, day],
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
