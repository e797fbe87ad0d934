"""The care engine: every morning, close what was fulfilled, expire what is
stale, generate what is due, and link visits to the touches before them;
then the advisors' plan (``care.workspace.planning``) and the day's messages
(``care_morning_run``).

Every step is a handful of set-based statements; the unique constraints on
CareTask, not locks, make reruns and concurrent runs safe.
"""

import dataclasses
import datetime
import logging
from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import EmptyResultSet, ImproperlyConfigured
from django.db import connection, transaction
from django.db.models import CharField, Count, Exists, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Concat
from django.utils import timezone

from care.kinds.base import NULL_AMOUNT, NULL_ID, Run, visits_since_touch_made
from care.messaging.services import outbox_enqueue
from care.registry import OPTIONAL_COLUMNS, REQUIRED_COLUMNS, CareKind, spec_for, specs
from care.touches.models import CareRule, CareTask, CareTaskEvent, Channel
from care.touches.services import care_tasks_transition
from care.weather.services import PollReport, weather_alerts_poll
from care.workspace.planning import PlanReport, care_plan_day
from crm.concurrency import map_on_connections
from crm.models import Dealership, User
from crm.sql import AddDays
from customers.models import Customer
from service.services import appointments_link_repair_orders, vehicle_service_stats_refresh

logger = logging.getLogger(__name__)

Tier = Customer.ValueTier
TIER_BONUS = {Tier.A: 30, Tier.B: 20, Tier.C: 10, Tier.D: 0}

# Columns of care_caretask filled from the generator's annotations (src.t_*).
_FROM_SOURCE = {
    "dealership_id": "t_dealership",
    "customer_id": "t_customer",
    "vehicle_id": "t_vehicle",
    "occasion": "t_occasion",
    "event_date": "t_event",
    "due_date": "t_due",
    "planned_for": "t_due",  # until the morning plan says otherwise
    "expires_on": "t_expires",
    "subject": "t_subject",
    "amount": "t_amount",
    "repair_order_id": "t_repair_order",
    "appointment_id": "t_appointment",
    "complaint_id": "t_complaint",
}
# What the annotations a generator may leave out (care.registry.OPTIONAL_COLUMNS) default to.
_OPTIONAL = dict(
    zip(OPTIONAL_COLUMNS, (Value("", output_field=CharField()), NULL_AMOUNT, NULL_ID, NULL_ID, NULL_ID), strict=True)
)


@dataclasses.dataclass
class GenerationReport:
    day: datetime.date
    created: dict[str, int] = dataclasses.field(default_factory=dict)
    fulfilled: int = 0
    expired: int = 0
    superseded: int = 0
    converted: int = 0
    queued: int = 0
    plan: PlanReport | None = None

    @property
    def total_created(self) -> int:
        return sum(self.created.values())


def effective_rules(*, kinds: list[str] | None = None) -> list[tuple[CareRule, tuple[int, ...]]]:
    """Each enabled rule with the dealerships it governs.

    A dealership's rule replaces the group default of the same kind and name
    for that dealership, even when it is disabled (that is how a store turns
    a kind off).
    """
    rules = list(CareRule.objects.all())
    if kinds:
        rules = [r for r in rules if r.kind in kinds]
    stores = list(Dealership.objects.filter(is_active=True).values_list("pk", flat=True))
    own = {}
    for rule in rules:
        if rule.dealership_id:
            own.setdefault((rule.kind, rule.name), set()).add(rule.dealership_id)
    result = []
    for rule in rules:
        spec = spec_for(rule.kind)
        if not rule.enabled or spec is None or spec.generate is None:
            continue
        if rule.dealership_id:
            ids = (rule.dealership_id,) if rule.dealership_id in stores else ()
        else:
            ids = tuple(s for s in stores if s not in own.get((rule.kind, rule.name), set()))
        if ids:
            result.append((rule, ids))
    return result


def _fallback_advisors(dealership_ids: tuple[int, ...]) -> dict[int, int]:
    """The least-loaded active advisor of each dealership (fewest open tasks)."""
    advisors = (
        User.objects.filter(role=User.Role.ADVISOR, is_active=True, dealership_id__in=dealership_ids)
        .annotate(open_tasks=Count("care_tasks", filter=Q(care_tasks__status=CareTask.Status.OPEN)))
        .order_by("dealership_id", "open_tasks", "pk")
        .values_list("dealership_id", "pk")
    )
    chosen: dict[int, int] = {}
    for dealership_id, pk in advisors:
        chosen.setdefault(dealership_id, pk)
    return chosen


def _check_columns(queryset: QuerySet, kind: str) -> None:
    """The generator's rows must carry the declared columns: say which kind
    forgot which, instead of a failed INSERT."""
    absent = [name for name in REQUIRED_COLUMNS if name not in queryset.query.annotations]
    if absent:
        raise ImproperlyConfigured(f"care kind {kind!r}: the generator's rows lack {', '.join(absent)}")


def _insert_select(
    queryset: QuerySet, *, rule: CareRule, channel: str, step: int, fallback: dict[int, int], day: datetime.date, now
) -> int:
    """``INSERT … SELECT`` the generator's rows; conflicts with existing touches are skipped."""
    missing = {name: default for name, default in _OPTIONAL.items() if name not in queryset.query.annotations}
    rows = queryset.annotate(**missing).values("t_tier", "t_advisor", *dict.fromkeys(_FROM_SOURCE.values()))
    try:
        inner_sql, inner_params = rows.query.get_compiler(using=rows.db).as_sql()
    except EmptyResultSet:
        return 0  # a generator that knows nothing is due (e.g. ``filter(pk__in=[])``)

    columns = list(_FROM_SOURCE)
    select = [f"src.{alias}" for alias in _FROM_SOURCE.values()]
    params: list = []
    constants = {
        "rule_id": rule.pk,
        "kind": rule.kind,
        "channel": channel,
        "step": step,
        "attempts": 0,
        "overflow": False,
        "status": CareTask.Status.OPEN,
        "outcome": "",
        "notes": "",
        "created_at": now,
        "created_on": day,
    }
    for column, value in constants.items():
        columns.append(column)
        select.append("%s")
        params.append(value)
    tier_cases = " ".join(f"WHEN '{tier}' THEN {min(100, rule.priority + bonus)}" for tier, bonus in TIER_BONUS.items())
    columns.append("priority")
    select.append(f"CASE src.t_tier {tier_cases} ELSE {rule.priority} END")
    columns.append("assigned_to_id")
    if fallback:
        store_cases = " ".join(f"WHEN {int(d)} THEN {int(a)}" for d, a in fallback.items())
        select.append(f"COALESCE(src.t_advisor, CASE src.t_dealership {store_cases} END)")
    else:
        select.append("src.t_advisor")

    table = CareTask._meta.db_table
    cols = ", ".join(connection.ops.quote_name(c) for c in columns)
    # Ordered, so touches get their ids customer by customer on every database
    # (PostgreSQL would otherwise number them in whatever order its plan yields).
    body = f"SELECT {', '.join(select)} FROM ({inner_sql}) AS src ORDER BY src.t_customer, src.t_vehicle"
    if connection.vendor == "sqlite":
        sql = f"INSERT OR IGNORE INTO {table} ({cols}) {body}"
    else:
        sql = f"INSERT INTO {table} ({cols}) {body} ON CONFLICT DO NOTHING"
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, *inner_params])
        return max(cursor.rowcount, 0)


def _insert_step(
    qs: QuerySet,
    rule: CareRule,
    steps: list[int],
    index: int,
    fallback,
    day,
    now,
    *,
    message: bool = False,
    ahead: bool = False,
) -> int:
    """Insert the rows of one generator queryset whose contact ``index`` is due today.

    ``message``: the SMS that goes out the day before a call (see ``CareRule.message_day_before``).
    ``ahead``: also a contact due after today (a touch made at once by an event,
    see ``care_touches_make_now``; the morning run makes each on its day)."""
    _check_columns(qs, rule.kind)
    days_before = steps[index] + (1 if message else 0)
    # Bounds on the event itself, not on dates computed from it: the database
    # evaluates the event once per row, and uses an index when the event is a
    # plain column (insurance expiry, inspection due date).
    # Contact on or before today, not yet expired:
    #   event - days_before <= day  and  event + expiry_days >= day.
    earliest = day - datetime.timedelta(days=rule.expiry_days)
    latest = day + datetime.timedelta(days=days_before)
    if index + 1 < len(steps) and not ahead:
        # Only the latest step reached today: a late start skips the earlier
        # calls (the next step's contact, event - next_days_before, is after today).
        qs = qs.filter(t_event__gt=day + datetime.timedelta(days=steps[index + 1] + (1 if message else 0)))
    qs = qs.filter(t_event__gte=earliest) if ahead else qs.filter(t_event__gte=earliest, t_event__lte=latest)
    qs = qs.annotate(t_due=AddDays("t_event", -days_before), t_expires=AddDays("t_event", rule.expiry_days))
    suffix = (f"#{index + 1}" if len(steps) > 1 else "") + ("/sms" if message else "")
    if suffix:
        # Each contact of a cadence, and the message before a call, is its own
        # touch of the same occasion.
        qs = qs.annotate(t_occasion=Concat("t_occasion", Value(suffix), output_field=CharField()))
    channel = Channel.SMS if message else rule.channel
    return _insert_select(qs, rule=rule, channel=channel, step=index + 1, fallback=fallback, day=day, now=now)


def _generate_rule(
    rule: CareRule, dealership_ids: tuple[int, ...], day: datetime.date, now, fallback: dict[int, int]
) -> tuple[int, int]:
    """Insert the due touches of one rule; returns (created, superseded)."""
    generator = spec_for(rule.kind).generate
    steps = rule.steps  # days before the event, earliest contact first
    created = 0
    # Message the day before, call on the day: for call rules that ask for it.
    passes = [False, True] if rule.sends_message_day_before else [False]
    for index in range(len(steps)):
        for message in passes:
            produced = generator(Run(rule=rule, day=day, dealership_ids=dealership_ids))
            for qs in produced if isinstance(produced, list) else [produced]:
                created += _insert_step(qs, rule, steps, index, fallback, day, now, message=message)
    superseded = 0
    if len(steps) > 1:
        later = CareTask.objects.filter(
            rule=OuterRef("rule"),
            customer=OuterRef("customer"),
            vehicle=OuterRef("vehicle"),
            channel=OuterRef("channel"),
            step__gt=OuterRef("step"),
            status=CareTask.Status.OPEN,
        )
        superseded = care_tasks_transition(
            tasks=CareTask.objects.filter(rule=rule, status=CareTask.Status.OPEN).filter(Exists(later)),
            to=CareTask.Status.CANCELLED,
            outcome=CareTask.Outcome.SUPERSEDED,
            job=CareTaskEvent.Job.SUPERSEDE,
            now=now,
        )
    return created, superseded


def care_touches_make_now(
    *,
    kind: str,
    dealership_id: int,
    narrow: Q,
    now: datetime.datetime | None = None,
    rows: Callable[[Run], QuerySet] | None = None,
) -> int:
    """Make at once the touches of ``kind`` that one event calls for (a case
    closed: its verification call; a case from the public form: its
    acknowledgement), by the enabled rules of the kind that govern
    ``dealership_id``; returns how many were made.

    The kind's own generator makes them, narrowed by ``narrow`` (e.g.
    ``Q(t_complaint=case.pk)``), so there is one definition of such a touch for
    the event and for the morning run, which makes any the event missed (the
    rule was off); the unique occasion keeps the two from making it twice.
    ``rows`` replaces the generator when the event itself says who the touches
    are for (an invitation to the customers a manager chose: nothing the
    morning run could find again). The first contact is made even when it is
    due after today. Runs in the caller's transaction."""
    now = now or timezone.now()
    day = timezone.localdate(now)
    created = 0
    fallback = None
    for rule, dealership_ids in effective_rules(kinds=[kind]):
        if dealership_id not in dealership_ids:
            continue
        if fallback is None:
            fallback = _fallback_advisors((dealership_id,))
        run = Run(rule=rule, day=day, dealership_ids=(dealership_id,))
        for message in [False, True] if rule.sends_message_day_before else [False]:
            produced = (rows or spec_for(kind).generate)(run)
            for qs in produced if isinstance(produced, list) else [produced]:
                created += _insert_step(
                    qs.filter(narrow), rule, rule.steps, 0, fallback, day, now, message=message, ahead=True
                )
    return created


def care_tasks_expire(*, day: datetime.date) -> int:
    """Open touches past their expiry leave the queue, counted as expired."""
    return care_tasks_transition(
        tasks=CareTask.objects.filter(status=CareTask.Status.OPEN, expires_on__lt=day),
        to=CareTask.Status.CANCELLED,
        outcome=CareTask.Outcome.EXPIRED,
        job=CareTaskEvent.Job.EXPIRE,
    )


def care_tasks_close_fulfilled(*, day: datetime.date) -> int:
    """Close open touches whose purpose was met, as each kind's spec says: the
    car came in, the insurance was renewed, the inspection recorded, the
    appointment is no longer booked."""
    now = timezone.now()
    open_tasks = CareTask.objects.filter(status=CareTask.Status.OPEN)
    closed = 0
    for spec in specs():
        if spec.fulfilled is None:
            continue
        closed += care_tasks_transition(
            tasks=spec.fulfilled(open_tasks.filter(kind=spec.kind), day),
            to=spec.fulfilled_status,
            outcome=spec.fulfilled_outcome,
            job=CareTaskEvent.Job.FULFILLED,
            now=now,
        )
    return closed


def care_tasks_link_conversions(*, day: datetime.date) -> int:
    """Link each touch to the first visit within the conversion window after it
    (the same car, or any car of the customer for customer-level touches), so
    reminder → visit → revenue can be measured."""
    window = datetime.timedelta(days=settings.CRM_CARE_CONVERSION_DAYS)
    candidates = CareTask.objects.filter(converted_repair_order__isnull=True, created_on__gte=day - window).exclude(
        status=CareTask.Status.CANCELLED
    )
    visits = (
        visits_since_touch_made()
        .filter(customer=OuterRef("customer"), visit_day__lte=OuterRef("created_on") + window)
        .order_by("opened_at", "pk")
    )
    linked = 0
    for tasks, visit in (
        (candidates.filter(vehicle__isnull=False), visits.filter(vehicle=OuterRef("vehicle"))),
        (candidates.filter(vehicle__isnull=True), visits),
    ):
        linked += tasks.filter(Exists(visit)).update(converted_repair_order=Subquery(visit.values("pk")[:1]))
    return linked


def _in_parallel(*funcs) -> list:
    return map_on_connections(lambda func: func(), [(f,) for f in funcs], workers=len(funcs))


def _map_rules(func, rules: list) -> list:
    """Apply ``func`` to each (rule, dealerships), on ``CRM_CARE_PARALLEL_RULES``
    connections at once where allowed (see ``crm.concurrency``).

    Rules are independent statements and the unique constraints already make
    concurrent inserts safe, so a server with spare cores finishes the morning
    sooner. Rules that scan every car go first, so the short ones fill the gaps
    at the end.
    """
    ordered = sorted(rules, key=lambda item: spec_for(item[0].kind).scans_every_car)
    return map_on_connections(func, ordered, workers=settings.CRM_CARE_PARALLEL_RULES)


def care_rules_apply(*, day: datetime.date, kinds: list[str] | None = None, report: GenerationReport) -> None:
    """Insert the touches the enabled rules (of ``kinds``) find due on ``day``."""
    now = timezone.now()
    rules = effective_rules(kinds=kinds)
    # Loads are counted once, before the run: one aggregate instead of one per rule.
    fallback = _fallback_advisors(tuple({pk for _, ids in rules for pk in ids}))

    def run_rule(rule: CareRule, dealership_ids: tuple[int, ...]) -> tuple[CareRule, int, int]:
        with transaction.atomic():
            created, superseded = _generate_rule(rule, dealership_ids, day, now, fallback)
        return rule, created, superseded

    for rule, created, superseded in _map_rules(run_rule, rules):
        report.created[rule.kind] = report.created.get(rule.kind, 0) + created
        report.superseded += superseded


def care_tasks_generate(
    *, day: datetime.date, kinds: list[str] | None = None, full_refresh: bool = False
) -> GenerationReport:
    """The morning run for ``day``: safe to repeat, safe to run twice at once.

    ``full_refresh`` recomputes every car's figures, for after history was
    edited or deleted by hand (the daily run reads only what was added)."""
    report = GenerationReport(day=day)

    def close_and_expire() -> tuple[int, int]:
        return care_tasks_close_fulfilled(day=day), care_tasks_expire(day=day)

    # The cars' figures and the closing of old touches touch different tables.
    _, (report.fulfilled, report.expired) = _in_parallel(
        lambda: vehicle_service_stats_refresh(full=full_refresh), close_and_expire
    )
    appointments_link_repair_orders(day=day, days=2)  # yesterday's DMS import, and today's visits so far
    care_rules_apply(day=day, kinds=kinds, report=report)
    report.converted = care_tasks_link_conversions(day=day)
    # LogRecord owns "created"; the extra keys are prefixed.
    logger.info(
        "care generation",
        extra={"care_day": str(day), "care_created": report.created, "care_expired": report.expired},
    )
    return report


def care_morning_run(
    *,
    day: datetime.date,
    kinds: list[str] | None = None,
    full_refresh: bool = False,
    now: datetime.datetime | None = None,
) -> GenerationReport:
    """What the 06:00 job does, and ``manage.py generate_care_tasks``: the
    touches due, the advisors' plan for the day (``care.workspace.planning``),
    then, for today, the day's messages queued (a past or future day's
    messages are not sent by a rerun)."""
    report = care_tasks_generate(day=day, kinds=kinds, full_refresh=full_refresh)
    report.plan = care_plan_day(day=day)
    if day == timezone.localdate(now):
        report.queued = outbox_enqueue(now=now)
    return report


def weather_poll(*, now: datetime.datetime | None = None, provider=None) -> PollReport:
    """Every three hours: new alerts become touches of the weather rules, and
    their messages are queued at once (weather will not wait for tomorrow)."""
    now = now or timezone.now()
    report = weather_alerts_poll(now=now, provider=provider)
    generation = GenerationReport(day=timezone.localdate(now))
    care_rules_apply(day=generation.day, kinds=[CareKind.WEATHER], report=generation)
    report.touches = generation.total_created
    outbox_enqueue(now=now)
    return report
