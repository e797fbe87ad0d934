"""The one way a touch's status changes.

``care_tasks_transition`` is the only code that writes ``CareTask.status``
(a test reads the source tree to keep it so). It knows the allowed moves,
writes one ``CareTaskEvent`` per touch that changed, in the same statement
on PostgreSQL, and works on a whole queryset at once, so the engine closes
a hundred thousand expired touches as cheaply as an advisor closes one.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from care.registry import specs
from care.touches.models import CareRule, CareTask, CareTaskEvent

Status = CareTask.Status

# Which status may follow which. A closed touch stays closed: new work is a
# new touch (the unique occasion keeps the history of the old one).
ALLOWED: dict[str, frozenset[str]] = {
    Status.OPEN: frozenset({Status.DONE, Status.CANCELLED}),
    Status.DONE: frozenset(),
    Status.CANCELLED: frozenset(),
}


class TransitionNotAllowed(ValidationError):
    pass


def allowed_from(to: str) -> list[str]:
    return [status for status, targets in ALLOWED.items() if to in targets]


def care_tasks_transition(
    *,
    tasks: QuerySet[CareTask],
    to: str,
    outcome: str = "",
    by=None,
    job: str = "",
    reason: str = "",
    now: datetime.datetime | None = None,
    strict: bool = False,
) -> int:
    """Move ``tasks`` to status ``to`` with ``outcome``; returns how many changed.

    Touches already in ``to`` are left alone (no event); touches in a status
    that may not move to ``to`` are skipped, or refused with
    ``TransitionNotAllowed`` when ``strict`` (a person's action on named
    touches). ``by`` is the user, ``job`` the engine step when no person acts.
    """
    if to not in ALLOWED:
        raise ValueError(f"unknown status {to!r}")
    if to != Status.OPEN and not outcome:
        raise ValueError("a closed touch needs an outcome")
    now = now or timezone.now()
    sources = allowed_from(to)
    if strict:
        refused = tasks.exclude(status__in=[*sources, to]).values_list("status", flat=True)[:1]
        if refused:
            raise TransitionNotAllowed(
                _("A touch that is %(current)s cannot become %(target)s.")
                % {"current": Status(refused[0]).label, "target": Status(to).label},
                code="transition_not_allowed",
            )
    if not sources:
        return 0
    values = {
        "status": to,
        "outcome": outcome if to != Status.OPEN else "",
        "closed_at": now if to != Status.OPEN else None,
    }
    at = connection.ops.adapt_datetimefield_value(now)
    values["closed_at"] = at if to != Status.OPEN else None
    event = [to, values["outcome"], by.pk if by is not None else None, job[:30], reason[:200], at]
    # Named columns: SQLite gives a subquery's plain columns no usable name.
    moving = tasks.filter(status__in=sources).order_by().values(moved_id=F("pk"), moved_status=F("status"))
    with transaction.atomic():
        if connection.vendor == "postgresql":
            return _transition_postgresql(moving, sources, values, event)
        return _transition_in_two_steps(moving, values, event)


_EVENT_COLUMNS = "task_id, from_status, to_status, outcome, by_id, job, reason, at"


def _transition_postgresql(moving: QuerySet, sources: list[str], values: dict, event: list) -> int:
    """One statement: the UPDATE returns the rows it changed with their old
    status, and the INSERT writes their events; a touch changed by another
    transaction meanwhile is re-checked by the WHERE and gets no event."""
    inner_sql, inner_params = moving.query.get_compiler(using=moving.db).as_sql()
    table, events = CareTask._meta.db_table, CareTaskEvent._meta.db_table
    placeholders = ", ".join(["%s"] * len(sources))
    sql = f"""
        WITH old(id, status) AS ({inner_sql}), moved AS (
            UPDATE {table} AS t SET status = %s, outcome = %s, closed_at = %s
            FROM old WHERE t.id = old.id AND t.status IN ({placeholders})
            RETURNING t.id, old.status AS from_status
        )
        INSERT INTO {events} ({_EVENT_COLUMNS})
        SELECT id, from_status, %s, %s, %s, %s, %s, %s FROM moved
    """
    params = [*inner_params, values["status"], values["outcome"], values["closed_at"], *sources, *event]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _transition_in_two_steps(moving: QuerySet, values: dict, event: list) -> int:
    """SQLite has no writable CTE; it has one writer, so the events read in the
    transaction are exactly the rows the UPDATE then changes."""
    inner_sql, inner_params = moving.query.get_compiler(using=moving.db).as_sql()
    table, events = CareTask._meta.db_table, CareTaskEvent._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {events} ({_EVENT_COLUMNS}) "
            f"SELECT m.moved_id, m.moved_status, %s, %s, %s, %s, %s, %s FROM ({inner_sql}) AS m",
            [*event, *inner_params],
        )
        cursor.execute(
            f"UPDATE {table} SET status = %s, outcome = %s, closed_at = %s "
            f"WHERE id IN (SELECT m.moved_id FROM ({inner_sql}) AS m)",
            [values["status"], values["outcome"], values["closed_at"], *inner_params],
        )
        return cursor.rowcount


def care_default_rules_install() -> int:
    """Create the group rules of every kind's spec that has no rule at all yet
    (a fresh install, or a kind added by a new module); returns how many.

    Runs after every ``migrate``. A kind an admin already configured, even
    only per store or disabled, is left as it is."""
    configured = set(CareRule.objects.values_list("kind", flat=True).distinct())
    rules = [
        CareRule(dealership=None, kind=spec.kind, **defaults)
        for spec in specs()
        if spec.kind not in configured
        for defaults in spec.default_rules
    ]
    for rule in rules:
        rule.full_clean()
    CareRule.objects.bulk_create(rules)
    return len(rules)
