"""The nightly recompute of value tiers and churn states.

Set-based: per tier policy (the group's, and each store's own), one
``INSERT … SELECT`` aggregates every customer's repair orders into
``CustomerStats``; a few ``UPDATE`` statements score them and decide tier and
churn state; tier and churn changes are written to their histories with
``INSERT … SELECT`` before the customers are updated. No customer passes
through Python, so the statement count does not grow with the customers.

Complaints count against the score: ``TierPolicy.complaint_penalty`` points off
per case received in the policy's window (every case, whatever became of it),
from one aggregate subquery in the scoring ``UPDATE``.

The same pass keeps the watch list (early-warning calls), each entry with the
figures it was decided on (``Customer.watch_*``): visits falling behind the
customer's own rhythm (longer since the last visit than the tier policy's
``watch_gap_factor`` × the median gap between their last visits), or a tier
that went down, only while the customer is still active by time; and a tier-A
customer with an open complaint, whatever their churn state.

Idempotent for a day: a rerun finds nothing changed and records nothing.
"""

import dataclasses
import datetime
import logging
import re
from decimal import Decimal

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, TruncDate
from django.db.models.lookups import GreaterThan
from django.utils import timezone

from analytics.models import CustomerStats
from complaints.models import Complaint
from crm.concurrency import map_on_connections
from crm.models import Dealership
from crm.sql import DaysBetween
from customers.models import ChurnEvent, Customer, TierChange, TierPolicy, TierSnapshot
from service.models import RepairOrder
from vehicles.models import Vehicle

logger = logging.getLogger(__name__)

# A watch-list entry stays this long unless something new happens.
WATCH_DAYS = 60
# What a watch-list entry holds when it is cleared: no reason, no figures.
WATCH_CLEARED = {
    "watch_reason": "",
    "watch_since": None,
    "watch_from_tier": "",
    "watch_to_tier": "",
    "watch_usual_days": None,
    "watch_days_since": None,
    "watch_last_visit": None,
}
# The usual gap between visits is the median of the gaps between the last
# visits: up to this many gaps (the last six visit days).
USUAL_GAP_OF_LAST_GAPS = 5


@dataclasses.dataclass
class RecomputeReport:
    day: datetime.date
    customers: int = 0
    tier_changes: int = 0
    churn_changes: int = 0
    recoveries: int = 0
    watched: int = 0
    statements: int = 0


def _midnight(day: datetime.date) -> datetime.datetime:
    """Local midnight starting ``day``, aware."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _before(day: datetime.date, **delta) -> datetime.datetime:
    """Local midnight ending ``day``, moved back by ``delta`` (``months=6``):
    a visit before it is older than that on ``day``."""
    return _midnight(day + datetime.timedelta(days=1) - relativedelta(**delta))


def _sql_params(params: list) -> list:
    """Parameters for raw SQL as the ORM would send them (SQLite keeps
    datetimes as UTC text, which an aware datetime must be turned into)."""
    ops = connection.ops
    adapted = []
    for value in params:
        if isinstance(value, datetime.datetime):
            value = ops.adapt_datetimefield_value(value)
        elif isinstance(value, datetime.date):
            value = ops.adapt_datefield_value(value)
        adapted.append(value)
    return adapted


def _lit(value: str) -> str:
    """A model choice's value as an SQL string literal: the values are code,
    never input, and are checked to need no quoting."""
    value = str(value)
    if not re.fullmatch(r"[A-Za-z0-9_]+", value):
        raise ValueError(f"Not a plain choice value: {value!r}")
    return f"'{value}'"


def _local_date_sql(column: str) -> tuple[str, tuple]:
    """SQL for the local (current time zone) date of a datetime column, with its parameters."""
    return connection.ops.datetime_cast_date_sql(column, (), timezone.get_current_timezone_name())


def _days_between_sql(later: str, earlier: str) -> str:
    """Whole days from one date expression to another (as ``crm.sql.DaysBetween``)."""
    if connection.vendor == "postgresql":
        return f"({later} - {earlier})"
    return f"CAST(julianday({later}) - julianday({earlier}) AS INTEGER)"


def effective_policies() -> list[tuple[TierPolicy, tuple[int, ...]]]:
    """Each policy with the dealerships it governs: a store's own policy, else the group's."""
    policies = list(TierPolicy.objects.all())
    group = next((p for p in policies if p.dealership_id is None), None) or TierPolicy()
    own = {p.dealership_id: p for p in policies if p.dealership_id}
    stores = list(Dealership.objects.values_list("pk", flat=True))
    result = [(policy, (store,)) for store, policy in own.items() if store in stores]
    governed = tuple(s for s in stores if s not in own)
    if governed:
        result.append((group, governed))
    return result


def _usual_gap_sql(policy: TierPolicy, stores: tuple[int, ...], end: datetime.datetime) -> tuple[str, list]:
    """A derived table (customer_id, usual_gap): the median of the gaps in days between a
    customer's last visit days (up to ``USUAL_GAP_OF_LAST_GAPS`` gaps), for customers with at
    least ``policy.watch_min_visits`` visit days before ``end``.

    Visits are local dates, several repair orders on one day one visit. The median without
    PERCENTILE_CONT (SQLite has none): the gaps numbered in order, the middle one, or the two
    middle ones averaged (rounded half up, in integers on both databases)."""
    q = connection.ops.quote_name
    ro, cu = q(RepairOrder._meta.db_table), q(Customer._meta.db_table)
    local_day, local_params = _local_date_sql("ro.opened_at")
    marks = ", ".join(["%s"] * len(stores))
    gap = _days_between_sql("d", "LAG(d) OVER (PARTITION BY customer_id ORDER BY d)")
    sql = f"""
        SELECT customer_id, (MIN(gap) + MAX(gap) + 1) / 2 AS usual_gap
        FROM (
            SELECT customer_id, gap, ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY gap) AS k,
                   COUNT(*) OVER (PARTITION BY customer_id) AS n
            FROM (
                SELECT customer_id, {gap} AS gap,
                       COUNT(*) OVER (PARTITION BY customer_id) AS visit_days,
                       COUNT(*) OVER (PARTITION BY customer_id)
                           - ROW_NUMBER() OVER (PARTITION BY customer_id ORDER BY d) AS later
                FROM (
                    SELECT DISTINCT ro.customer_id, {local_day} AS d
                    FROM {ro} ro JOIN {cu} vc ON vc.id = ro.customer_id
                    WHERE vc.dealership_id IN ({marks}) AND ro.opened_at < %s AND ro.voided_at IS NULL
                ) days
            ) gaps
            WHERE gap IS NOT NULL AND later < %s AND visit_days >= %s
        ) ranked
        WHERE k IN ((n + 1) / 2, (n + 2) / 2)
        GROUP BY customer_id
    """
    return sql, [*local_params, *stores, end, USUAL_GAP_OF_LAST_GAPS, policy.watch_min_visits]


def _fill_stats(policy: TierPolicy, stores: tuple[int, ...], day: datetime.date) -> int:
    """One INSERT … SELECT: every customer of ``stores`` with its visit figures as of ``day``.
    A voided order counts for nothing: no visit, no spend."""
    end = _midnight(day + datetime.timedelta(days=1))
    start = _before(day, months=policy.window_months)
    q = connection.ops.quote_name
    ro, cu, st = q(RepairOrder._meta.db_table), q(Customer._meta.db_table), q(CustomerStats._meta.db_table)
    marks = ", ".join(["%s"] * len(stores))
    usual_gap, usual_gap_params = _usual_gap_sql(policy, stores, end)
    paid = _lit(RepairOrder.Payer.CUSTOMER)
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM {st} WHERE customer_id IN (SELECT id FROM {cu} WHERE dealership_id IN ({marks}))", stores
        )
        cursor.execute(
            f"""
            INSERT INTO {st} (customer_id, day, visits, paid_visits, paid_spend, total_spend, last_visit_at,
                              first_visit_at, customer_since, referrals, score, tier, churn_state, confirm_by_call,
                              usual_gap_days, watch_visit_rate, watch_tier_down)
            SELECT c.id, %s, COALESCE(w.visits, 0), COALESCE(w.paid_visits, 0), COALESCE(w.paid, 0),
                   COALESCE(w.total, 0), a.last_at, a.first_at, c.created_at, COALESCE(r.n, 0), 0, c.value_tier,
                   c.churn_state, %s, g.usual_gap, %s, %s
            FROM {cu} c
            LEFT JOIN (
                SELECT customer_id, COUNT(*) AS visits,
                       SUM(CASE WHEN payer = {paid} THEN 1 ELSE 0 END) AS paid_visits,
                       SUM(CASE WHEN payer = {paid} THEN total_amount ELSE 0 END) AS paid,
                       SUM(total_amount) AS total
                FROM {ro} WHERE opened_at >= %s AND opened_at < %s AND voided_at IS NULL GROUP BY customer_id
            ) w ON w.customer_id = c.id
            LEFT JOIN (
                SELECT customer_id, MAX(opened_at) AS last_at, MIN(opened_at) AS first_at
                FROM {ro} WHERE opened_at < %s AND voided_at IS NULL GROUP BY customer_id
            ) a ON a.customer_id = c.id
            LEFT JOIN (
                SELECT referred_by_id, COUNT(*) AS n FROM {cu}
                WHERE referred_by_id IS NOT NULL AND created_at < %s GROUP BY referred_by_id
            ) r ON r.referred_by_id = c.id
            LEFT JOIN ({usual_gap}) g ON g.customer_id = c.id
            WHERE c.dealership_id IN ({marks})
            """,
            _sql_params([day, False, False, False, start, end, end, end, *usual_gap_params, *stores]),
        )
        return cursor.rowcount


def _share(value, target) -> Case:
    """value / target, capped at 1 (0 when the target is 0)."""
    if not target:
        return Value(0.0, output_field=FloatField())
    ratio = ExpressionWrapper(Cast(value, FloatField()) / float(target), output_field=FloatField())
    return Case(When(**{f"{value.name}__gte": target}, then=Value(1.0)), default=ratio, output_field=FloatField())


def _steps(field: str, day: datetime.date, months: list[tuple[int, float]]) -> Case:
    """A part that falls with time: the first bound ``field`` is on or after (the
    last ``months`` months) gives its value; before all of them, 0."""
    whens = [When(**{f"{field}__gte": _midnight(day - relativedelta(months=m))}, then=Value(v)) for m, v in months]
    return Case(*whens, default=Value(0.0), output_field=FloatField())


def _tenure(day: datetime.date, years: int) -> Case:
    """Whole years since the first visit, over ``years``, capped at 1."""
    whens = [
        When(
            first_visit_at__lt=_before(day, years=n),
            then=Value(n / years),
        )
        for n in range(years, 0, -1)
    ]
    return Case(*whens, default=Value(0.0), output_field=FloatField())


def _score_and_decide(policy: TierPolicy, stores: tuple[int, ...], day: datetime.date) -> None:
    """Score every customer of ``stores`` and decide tier and churn state in CustomerStats."""
    stats = CustomerStats.objects.filter(customer__dealership_id__in=stores)
    years = max(policy.tenure_target_years, 1)
    parts = [
        (policy.weight_spend, _share(F("paid_spend"), policy.spend_target)),
        (policy.weight_visits, _share(F("visits"), policy.visits_target)),
        (policy.weight_recency, _steps("last_visit_at", day, [(1, 1.0), (3, 0.75), (6, 0.5), (12, 0.25)])),
        (
            policy.weight_paid_share,
            Case(
                When(
                    total_spend__gt=0, then=Cast(F("paid_spend"), FloatField()) / Cast(F("total_spend"), FloatField())
                ),
                default=Value(0.0),
                output_field=FloatField(),
            ),
        ),
        (policy.weight_tenure, _tenure(day, years)),
        (policy.weight_referrals, _share(F("referrals"), policy.referrals_target)),
    ]
    total_weight = sum(w for w, _ in parts) or 1
    weighted = sum((Value(float(w)) * part for w, part in parts), Value(0.0))
    # Every case received in the window costs the penalty, closed or not: a
    # complaint well handled keeps the customer, but it still happened.
    window_end = _midnight(day + datetime.timedelta(days=1))
    complaints = (
        Complaint.objects.filter(
            customer_id=OuterRef("customer_id"),
            received_at__gte=_before(day, months=policy.window_months),
            received_at__lt=window_end,
        )
        .order_by()
        .values("customer_id")
        .annotate(n=Count("pk"))
        .values("n")
    )
    penalty = Value(float(policy.complaint_penalty)) * Coalesce(Subquery(complaints), Value(0))
    score = Greatest(
        Value(0.0), Value(100.0) * weighted / Value(float(total_weight)) - penalty, output_field=FloatField()
    )

    # Churn by time since the last visit (or since the customer was recorded, without visits).
    at_risk_before = _before(day, months=policy.at_risk_months)
    lost_before = _before(day, months=policy.lost_months)
    churn, tier = Customer.ChurnState, Customer.ValueTier
    # One pass over the table for the score, the churn state and the last visit's local date.
    stats.update(
        score=Cast(score, DecimalField(max_digits=5, decimal_places=1)),
        churn_state=Case(
            When(
                Q(last_visit_at__lt=lost_before) | Q(last_visit_at__isnull=True, customer_since__lt=lost_before),
                then=Value(churn.LOST),
            ),
            When(
                Q(last_visit_at__lt=at_risk_before) | Q(last_visit_at__isnull=True, customer_since__lt=at_risk_before),
                then=Value(churn.AT_RISK),
            ),
            default=Value(churn.ACTIVE),
        ),
        confirm_by_call=False,
        last_visit_on=TruncDate("last_visit_at"),
        days_since_visit=DaysBetween(Value(day), TruncDate("last_visit_at")),
    )
    # A car that has not driven a service interval since the last visit is not
    # due yet: the customer stays active, to be confirmed by a call.
    since_visit = DaysBetween(Value(day), OuterRef("last_visit_at"))
    km_per_day = Coalesce(F("km_per_day"), Value(Decimal(settings.CRM_DEFAULT_KM_PER_DAY)))
    not_due = (
        Vehicle.objects.filter(customer=OuterRef("customer"), status=Vehicle.Status.ACTIVE)
        .annotate(driven=ExpressionWrapper(km_per_day * since_visit, output_field=FloatField()))
        .filter(model__maintenance_interval_km__gt=F("driven"))
    )
    stats.filter(churn_state__in=[churn.AT_RISK, churn.LOST], last_visit_at__isnull=False).filter(
        Exists(not_due)
    ).update(churn_state=churn.ACTIVE, confirm_by_call=True)

    # Tiers, as DOMAIN.md defines them.
    cycle_visits = max(policy.window_months // max(policy.c_visit_cycle_months, 1), 1)
    new_customer = _before(day, months=policy.window_months)
    share = Decimal(policy.a_min_paid_share) / 100
    # The early warning, only while the customer is still active by time (before
    # ``at_risk_months``; later the win-back lapse call, or the confirm-by-call
    # flag, takes over). Visit rate: longer since the last visit than
    # ``watch_gap_factor`` × the usual gap (none below ``watch_min_visits``),
    # compared in tenths: exact integer arithmetic on both databases. Tier down:
    # worth a call once the customer is past their usual gap (or has none yet);
    # within it, a tier that falls is the window moving past an old visit, not
    # a customer slipping (tier-A customers who come every four months).
    early = Q(churn_state=churn.ACTIVE, confirm_by_call=False)
    tenths = int(policy.watch_gap_factor * 10)
    falling = Q(GreaterThan(F("days_since_visit") * Value(10), F("usual_gap_days") * Value(tenths)))
    behind = Q(usual_gap_days__isnull=True) | Q(GreaterThan(F("days_since_visit"), F("usual_gap_days")))
    # One pass for the tier and the visit rate (both read the churn state decided above).
    stats.update(
        tier=Case(
            When(churn_state=churn.LOST, then=Value(tier.D)),
            When(churn_state=churn.AT_RISK, then=Value(tier.C)),
            # Warranty or free work only.
            When(visits__gt=0, paid_spend=0, then=Value(tier.C)),
            # A visit cycle longer than the policy's (fewer visits than it allows in the
            # window), for customers who have been with us for a whole window.
            When(visits__lt=cycle_visits, first_visit_at__lt=new_customer, then=Value(tier.C)),
            When(
                Q(score__gte=policy.a_min_score, visits__gte=policy.a_min_visits)
                & Q(paid_spend__gte=F("total_spend") * share),
                then=Value(tier.A),
            ),
            default=Value(tier.B),
        ),
        watch_visit_rate=Case(When(early & falling, then=Value(True)), default=Value(False)),
        watch_tier_down=Case(When(early & behind, then=Value(True)), default=Value(False)),
    )


def _watch_complaints(stores: tuple[int, ...], day: datetime.date) -> int:
    """Put tier-A customers with an open complaint on the watch list (one UPDATE).

    Tier A as on record before tonight or as decided tonight (the case's own
    penalty may be what takes the A away; a pinned tier is the tier). The
    figure is the days since the oldest open case was received, as of ``day``
    (``customer_watch_text`` gives its date back). A customer already watched
    for a complaint is left as they are: the watch is kept, not renewed, and
    expires after ``WATCH_DAYS`` like the others (to come back the same night
    while a case is still open). Runs before the other watches are decided,
    which then leave it. Returns how many were put on the list."""
    tier_a = Customer.ValueTier.A
    # Open on ``day``: received by its end and not closed by then (a recompute of
    # a past day, as the demo's history replays them, sees the cases of that day).
    end = _midnight(day + datetime.timedelta(days=1))
    open_cases = Complaint.objects.filter(customer_id=OuterRef("pk"), received_at__lt=end).filter(
        ~Q(status=Complaint.Status.CLOSED) | Q(closed_at__gte=end)
    )
    oldest = open_cases.order_by("received_at", "pk").values("received_at")[:1]
    now_a = CustomerStats.objects.filter(customer_id=OuterRef("pk"), tier=tier_a)
    return (
        Customer.objects.filter(dealership_id__in=stores)
        .exclude(watch_reason=Customer.WatchReason.COMPLAINT)
        .filter(Q(value_tier=tier_a) | Q(Exists(now_a), tier_pinned=False))
        .filter(Exists(open_cases))
        .update(
            **(
                WATCH_CLEARED
                | {
                    "watch_reason": Customer.WatchReason.COMPLAINT,
                    "watch_since": day,
                    "watch_days_since": DaysBetween(Value(day), TruncDate(Subquery(oldest))),
                }
            )
        )
    )


def _record_and_apply(stores: tuple[int, ...], day: datetime.date) -> tuple[int, int, int, int]:
    """Write the changes to the histories, then to the customers, with the
    watch list in the same pass: a tier that went down today, or visits
    falling behind the customer's usual gap, as ``_score_and_decide`` judged
    them worth a call, each with the figures it was decided on."""
    q = connection.ops.quote_name
    cu, st = q(Customer._meta.db_table), q(CustomerStats._meta.db_table)
    tc, ce = q(TierChange._meta.db_table), q(ChurnEvent._meta.db_table)
    marks = ", ".join(["%s"] * len(stores))
    now = timezone.now()
    stale = day - datetime.timedelta(days=WATCH_DAYS)
    Customer.objects.filter(dealership_id__in=stores, watch_since__lt=stale).update(**WATCH_CLEARED)
    reason = Customer.WatchReason
    complained = _watch_complaints(stores, day)
    # Tier letters sort as the tiers rank (A best): "went down" is new > old. A
    # customer never scored before (a fresh install, a new customer) has no tier
    # on record yet, only the default: the first tier given is no move down. A
    # complaint's watch is not replaced by the tier it cost (the case is the reason).
    down = (
        f"(NOT {cu}.tier_pinned AND {cu}.tier_score IS NOT NULL AND s.tier > {cu}.value_tier AND s.watch_tier_down"
        f" AND {cu}.watch_reason <> {_lit(reason.COMPLAINT)})"
    )
    slowing = f"({cu}.watch_reason = '' AND s.watch_visit_rate)"

    def figure(down_value: str, slowing_value: str, column: str) -> str:
        """A watch figure: set by a new watch of either kind, else left as it is."""
        new = f"CASE WHEN {down} THEN {down_value} WHEN {slowing} THEN {slowing_value} ELSE {cu}.{column} END"
        return f"{column} = {new}"

    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {tc} (customer_id, day, from_tier, to_tier, cause, reason, score, created_at)
            SELECT c.id, %s, c.value_tier, s.tier, {_lit(TierChange.Cause.RECOMPUTE)}, '', s.score, %s
            FROM {cu} c JOIN {st} s ON s.customer_id = c.id
            WHERE c.dealership_id IN ({marks}) AND NOT c.tier_pinned AND c.value_tier <> s.tier
            """,
            _sql_params([day, now, *stores]),
        )
        tier_changes = cursor.rowcount
        cursor.execute(
            f"""
            INSERT INTO {ce} (customer_id, day, from_state, to_state, recovered, created_at)
            SELECT c.id, %s, c.churn_state, s.churn_state,
                   CASE WHEN s.churn_state = {_lit(Customer.ChurnState.ACTIVE)} AND NOT s.confirm_by_call
                        THEN %s ELSE %s END, %s
            FROM {cu} c JOIN {st} s ON s.customer_id = c.id
            WHERE c.dealership_id IN ({marks}) AND c.churn_state <> s.churn_state
            """,
            _sql_params([day, True, False, now, *stores]),
        )
        churn_changes = cursor.rowcount
        cursor.execute(
            f"""
            SELECT COUNT(*) FROM {cu} JOIN {st} s ON s.customer_id = {cu}.id
            WHERE {cu}.dealership_id IN ({marks}) AND ({down} OR {slowing})
            """,
            stores,
        )
        watched = cursor.fetchone()[0] + complained
        # Only the customers whose figures changed are written (a night changes few).
        # Every SET expression reads the row as it was: value_tier is still the old tier.
        differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
        cursor.execute(
            f"""
            UPDATE {cu} SET tier_score = s.score, churn_state = s.churn_state,
                   churn_confirm_by_call = s.confirm_by_call, last_visit_date = s.last_visit_on,
                   {figure(_lit(reason.TIER_DOWN), _lit(reason.VISIT_RATE), "watch_reason")},
                   {figure("%s", "%s", "watch_since")},
                   {figure(f"{cu}.value_tier", "''", "watch_from_tier")},
                   {figure("s.tier", "''", "watch_to_tier")},
                   {figure("NULL", "s.usual_gap_days", "watch_usual_days")},
                   {figure("NULL", "s.days_since_visit", "watch_days_since")},
                   {figure("NULL", "s.last_visit_on", "watch_last_visit")},
                   value_tier = CASE WHEN {cu}.tier_pinned THEN {cu}.value_tier ELSE s.tier END
            FROM {st} s
            WHERE s.customer_id = {cu}.id AND {cu}.dealership_id IN ({marks})
              AND ({cu}.tier_score {differs} s.score OR {cu}.churn_state <> s.churn_state
                   OR {cu}.churn_confirm_by_call <> s.confirm_by_call
                   OR {cu}.last_visit_date {differs} s.last_visit_on
                   OR (NOT {cu}.tier_pinned AND {cu}.value_tier <> s.tier) OR {slowing})
            """,
            _sql_params([day, day, *stores]),
        )
    recoveries = ChurnEvent.objects.filter(day=day, recovered=True, customer__dealership_id__in=stores).count()
    return tier_changes, churn_changes, recoveries, watched


def _snapshot(stores: tuple[int, ...], day: datetime.date) -> None:
    """This month's tier and churn state of every active customer (for
    month-on-month movement): inserted on the month's first run, afterwards
    only the rows that changed are written."""
    month = day.replace(day=1)
    q = connection.ops.quote_name
    cu, sn = q(Customer._meta.db_table), q(TierSnapshot._meta.db_table)
    marks = ", ".join(["%s"] * len(stores))
    TierSnapshot.objects.filter(month=month, dealership_id__in=stores).exclude(
        customer__status=Customer.Status.ACTIVE
    ).delete()
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {sn} (month, customer_id, dealership_id, tier, churn_state)
            SELECT %s, c.id, c.dealership_id, c.value_tier, c.churn_state FROM {cu} c
            WHERE c.dealership_id IN ({marks}) AND c.status = {_lit(Customer.Status.ACTIVE)}
            ON CONFLICT (month, customer_id) DO UPDATE
            SET tier = excluded.tier, churn_state = excluded.churn_state, dealership_id = excluded.dealership_id
            WHERE {sn}.tier <> excluded.tier OR {sn}.churn_state <> excluded.churn_state
               OR {sn}.dealership_id <> excluded.dealership_id
            """,
            _sql_params([month, *stores]),
        )


def _recompute_stores(policy: TierPolicy, stores: tuple[int, ...], day: datetime.date) -> RecomputeReport:
    """One policy over some of its stores, in one transaction."""
    report = RecomputeReport(day=day)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # A lost commit is recomputed the next night: no need to wait for the disk.
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        report.customers = _fill_stats(policy, stores, day)
        _score_and_decide(policy, stores, day)
        report.tier_changes, report.churn_changes, report.recoveries, report.watched = _record_and_apply(stores, day)
        _snapshot(stores, day)
    return report


def tiers_recompute(*, day: datetime.date) -> RecomputeReport:
    """Recompute every customer's tier and churn state as of ``day``.

    Stores are independent: on PostgreSQL, outside a transaction, they are
    recomputed ``CRM_TIER_PARALLEL`` at a time on their own connections, one
    transaction each (the statement count grows with the stores, never with
    the customers). Where they would run one after another anyway (SQLite,
    or inside the caller's transaction: the demo's year of history), one pass
    per policy covers all its stores, in fewer statements."""
    report = RecomputeReport(day=day)
    if connection.vendor == "sqlite" or connection.in_atomic_block:
        work = [(policy, stores, day) for policy, stores in effective_policies()]
    else:
        work = [(policy, (store,), day) for policy, stores in effective_policies() for store in stores]
    parts = map_on_connections(_recompute_stores, work, workers=settings.CRM_TIER_PARALLEL)
    for part in parts:
        for field in ("customers", "tier_changes", "churn_changes", "recoveries", "watched"):
            setattr(report, field, getattr(report, field) + getattr(part, field))
    logger.info("tiers recomputed", extra={"tiers": dataclasses.asdict(report) | {"day": str(day)}})
    return report
