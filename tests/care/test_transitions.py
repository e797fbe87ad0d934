"""A touch's status changes only through ``care_tasks_transition``: the allowed
moves, one ``CareTaskEvent`` per change (from advisors and from every job of
the engine), and two guards that nothing else writes the status: one reads
the source tree, one watches the SQL of a morning."""

import ast
import contextlib
import datetime
import inspect
import re
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.db import connection
from django.urls import reverse

from care.engine.services import care_tasks_generate
from care.messaging.services import outbox_enqueue, outbox_send
from care.models import CareOptOut, CareTask, CareTaskEvent, OutcomeCode
from care.touches.services import TransitionNotAllowed, care_tasks_transition
from care.workspace.services import CallOutcome, care_call_log
from service.models import Appointment
from service.services import appointment_mark_arrived
from tests.care.conftest import add_visit
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
DAY = D(2026, 11, 23)
NOW = datetime.datetime(2026, 11, 23, 10, 2, tzinfo=SH)


def touch(customer, rule, *, due=DAY, expires=None, created=None, channel="call", kind=None, **extra) -> CareTask:
    car = extra.pop("vehicle", None) or VehicleFactory(customer=customer)
    kind = kind or rule.kind
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind=kind,
        channel=channel,
        occasion=f"{kind}:{due}:{channel}:{car.pk}",
        event_date=due,
        due_date=due,
        expires_on=expires or due + datetime.timedelta(days=10),
        created_on=created or due,
        assigned_to=customer.advisor,
        **extra,
    )


@pytest.fixture
def rule(db):
    # Disabled: the morning runs of these tests close and expire, and make nothing new.
    return CareRuleFactory(kind="maintenance", enabled=False)


def events(**filters) -> list[tuple]:
    return list(
        CareTaskEvent.objects.filter(**filters)
        .order_by("task_id")
        .values_list("task_id", "from_status", "to_status", "outcome", "by_id", "job", "reason")
    )


def one(task: CareTask) -> CareTask:
    return CareTask.objects.filter(pk=task.pk)


def status_of(task: CareTask) -> tuple[str, str]:
    task.refresh_from_db()
    return task.status, task.outcome


# --- The allowed moves ----------------------------------------------------------------------


def test_a_done_touch_cannot_be_cancelled_by_a_person_and_nothing_is_written(customer, advisor, rule):
    task = touch(customer, rule)
    assert care_tasks_transition(tasks=one(task), to="done", outcome="reached", by=advisor, now=NOW) == 1
    with pytest.raises(TransitionNotAllowed) as exc:
        care_tasks_transition(tasks=one(task), to="cancelled", outcome="declined", by=advisor, now=NOW, strict=True)
    assert exc.value.code == "transition_not_allowed"
    assert status_of(task) == ("done", "reached")
    assert events() == [(task.pk, "open", "done", "reached", advisor.pk, "", "")]


def test_the_engine_skips_a_closed_touch_and_counts_nothing(customer, advisor, rule):
    task = touch(customer, rule)
    care_tasks_transition(tasks=one(task), to="done", outcome="reached", by=advisor, now=NOW)
    assert care_tasks_transition(tasks=one(task), to="cancelled", outcome="expired", job="expire") == 0
    assert status_of(task) == ("done", "reached")
    assert CareTaskEvent.objects.count() == 1


def test_strict_refuses_the_whole_set_when_one_touch_may_not_move(customer, advisor, rule):
    waiting, closed = touch(customer, rule), touch(customer, rule)
    care_tasks_transition(tasks=one(closed), to="done", outcome="reached", by=advisor, now=NOW)
    both = CareTask.objects.filter(pk__in=[waiting.pk, closed.pk])
    with pytest.raises(TransitionNotAllowed):
        care_tasks_transition(tasks=both, to="cancelled", outcome="declined", by=advisor, strict=True)
    assert status_of(waiting) == ("open", "")
    # Not strict: the open one moves, the done one is skipped.
    assert care_tasks_transition(tasks=both, to="cancelled", outcome="declined", by=advisor, now=NOW) == 1
    assert status_of(waiting) == ("cancelled", "declined")
    assert status_of(closed) == ("done", "reached")
    assert CareTaskEvent.objects.filter(task=waiting).count() == 1


def test_no_event_when_the_touch_is_already_there(customer, advisor, rule):
    task = touch(customer, rule)
    care_tasks_transition(tasks=one(task), to="cancelled", outcome="declined", by=advisor, now=NOW)
    # cancelled → cancelled is no change: no error even when strict, no event.
    assert care_tasks_transition(tasks=one(task), to="cancelled", outcome="expired", job="expire", strict=True) == 0
    assert status_of(task) == ("cancelled", "declined")
    assert CareTaskEvent.objects.count() == 1


def test_unknown_statuses_and_closing_without_an_outcome_are_programming_errors(customer, rule):
    task = touch(customer, rule)
    with pytest.raises(ValueError, match="unknown status"):
        care_tasks_transition(tasks=one(task), to="archived", outcome="reached")
    with pytest.raises(ValueError, match="outcome"):
        care_tasks_transition(tasks=one(task), to="done")
    assert status_of(task) == ("open", "") and not CareTaskEvent.objects.exists()


def test_a_transition_writes_the_change_with_who_when_and_why(customer, advisor, rule):
    task = touch(customer, rule)
    care_tasks_transition(
        tasks=one(task), to="cancelled", outcome="declined", by=advisor, reason="客户说" * 80, now=NOW
    )
    event = CareTaskEvent.objects.get()
    assert (event.task, event.from_status, event.to_status, event.outcome) == (task, "open", "cancelled", "declined")
    assert (event.by, event.job, event.at) == (advisor, "", NOW)
    assert event.reason == ("客户说" * 80)[:200]
    task.refresh_from_db()
    assert task.closed_at == NOW


# --- Every writer writes events ---------------------------------------------------------------


def test_an_advisors_merged_call_writes_one_event_per_touch(customer, advisor, rule):
    insurance = CareRuleFactory(kind="insurance", enabled=False)
    maintenance = touch(customer, rule)
    renewal = touch(customer, insurance, due=DAY + datetime.timedelta(days=3))  # the same call
    care_call_log(
        task=maintenance, outcome=CallOutcome(code=OutcomeCode.objects.get(code="reached")), by=advisor, now=NOW
    )
    # The "reached" code closes the touches as reached; its label is the reason.
    assert events() == [
        (maintenance.pk, "open", "done", "reached", advisor.pk, "", "已沟通，无需跟进"),
        (renewal.pk, "open", "done", "reached", advisor.pk, "", "已沟通，无需跟进"),
    ]
    assert {e.at for e in CareTaskEvent.objects.all()} == {NOW}


def test_the_morning_runs_set_based_closes_write_one_event_per_touch(customer, rule):
    # Given three touches past their expiry (expires 2026-11-22, before DAY 2026-11-23),
    expired = [touch(customer, rule, due=D(2026, 11, 1), expires=D(2026, 11, 22)) for _ in range(3)]
    # two whose car came in for maintenance on 2026-11-15, after the touch was made on 2026-11-10,
    fulfilled = []
    for number in ("RO1", "RO2"):
        task = touch(customer, rule, due=D(2026, 11, 20), created=D(2026, 11, 10))
        add_visit(task.vehicle, number, "maintenance", D(2026, 11, 15), 12000)
        fulfilled.append(task)
    # and two that stay open: a repair, not a maintenance, and a maintenance before the touch was made.
    repaired = touch(customer, rule, due=D(2026, 11, 20), created=D(2026, 11, 10))
    add_visit(repaired.vehicle, "RO3", "repair", D(2026, 11, 15), 12000)
    earlier = touch(customer, rule, due=D(2026, 11, 20), created=D(2026, 11, 10))
    add_visit(earlier.vehicle, "RO4", "maintenance", D(2026, 11, 9), 12000)

    report = care_tasks_generate(day=DAY)

    assert report.expired == 3 == CareTaskEvent.objects.filter(job="expire").count()
    assert events(job="expire") == [(t.pk, "open", "cancelled", "expired", None, "expire", "") for t in expired]
    assert report.fulfilled == 2 == CareTaskEvent.objects.filter(job="fulfilled").count()
    assert events(job="fulfilled") == [(t.pk, "open", "done", "fulfilled", None, "fulfilled", "") for t in fulfilled]
    assert [status_of(t) for t in (repaired, earlier)] == [("open", ""), ("open", "")]
    assert CareTaskEvent.objects.count() == 5

    # A rerun finds nothing to close and writes nothing.
    again = care_tasks_generate(day=DAY)
    assert (again.expired, again.fulfilled, CareTaskEvent.objects.count()) == (0, 0, 5)


def test_the_outbox_closes_message_touches_with_events(dealership, advisor, scripted):
    service = CareRuleFactory(kind="maintenance", channel="sms", message_template="{name}{title}，您的爱车该保养了")
    greeting = CareRuleFactory(kind="birthday", channel="sms", message_template="{name}{title}生日快乐")
    opted_out = CustomerFactory(dealership=dealership, advisor=advisor)
    CareOptOut.objects.create(customer=opted_out, kind="maintenance", channel="sms", reason="不要短信")
    suppressed = touch(opted_out, service, channel="sms")
    no_consent = touch(CustomerFactory(dealership=dealership, advisor=advisor), greeting, channel="sms")
    sent = touch(CustomerFactory(dealership=dealership, advisor=advisor), service, channel="sms")

    # Queued at 10:02, outside the quiet hours: the two suppressed at once close as suppressed.
    assert outbox_enqueue(now=NOW) == 3
    assert events(job="outbox") == [
        (suppressed.pk, "open", "cancelled", "suppressed", None, "outbox", ""),
        (no_consent.pk, "open", "cancelled", "suppressed", None, "outbox", ""),
    ]
    assert status_of(sent) == ("open", "")

    outbox_send(now=NOW)
    assert len(scripted.sent) == 1
    assert events(job="outbox", task=sent) == [(sent.pk, "open", "done", "sent", None, "outbox", "")]


def test_a_no_show_who_turns_up_closes_the_call_with_one_event(customer, vehicle, advisor):
    # The arrival closes the missed appointment's call (care.kinds.appointment_no_show).
    slot = datetime.datetime(2026, 11, 23, 9, 0, tzinfo=SH)
    no_shows = CareRuleFactory(kind="appointment_no_show", enabled=False)
    appointment = Appointment.objects.create(
        dealership=customer.dealership, customer=customer, vehicle=vehicle, scheduled_at=slot, status="no_show"
    )
    task = touch(customer, no_shows, vehicle=vehicle, appointment=appointment)
    appointment_mark_arrived(appointment=appointment, by=advisor, now=NOW)
    assert status_of(task) == ("done", "fulfilled")
    assert [(e[0], e[1], e[2], e[3]) for e in events()] == [(task.pk, "open", "done", "fulfilled")]


# --- Guard 1: nothing else in the source writes the status -------------------------------------

APPS = ["care", "crm", "customers", "vehicles", "service", "complaints", "loyalty", "analytics", "demo"]
THE_WRITER = Path("care/touches/services.py")
ROOT = Path(settings.BASE_DIR)

_UPDATE_TOUCHES = re.compile(
    r'\bUPDATE\s+"?care_caretask"?(?:\s+(?:AS\s+)?\w+)?\s+SET\s+(?P<set>.*?)(?=\bWHERE\b|\bFROM\b|\bRETURNING\b|$)',
    re.IGNORECASE | re.DOTALL,
)
_ASSIGNS_STATUS = re.compile(r'(?:^|,)\s*"?status"?\s*=', re.IGNORECASE)


def sets_touch_status(sql: str) -> bool:
    """Whether ``sql`` has an UPDATE of care_caretask whose SET assigns status."""
    return any(_ASSIGNS_STATUS.search(m["set"]) for m in _UPDATE_TOUCHES.finditer(sql))


def _pairs(target: ast.expr, value: ast.expr):
    """(target, value) pairs of an assignment, element by element for ``a, b = x, y``."""
    tuples = isinstance(target, ast.Tuple | ast.List) and isinstance(value, ast.Tuple | ast.List)
    if tuples and len(target.elts) == len(value.elts):
        for t, v in zip(target.elts, value.elts, strict=True):
            yield from _pairs(t, v)
        return
    if isinstance(target, ast.Tuple | ast.List):
        for t in target.elts:
            yield t, value
        return
    yield target, value


def status_writes(source: str) -> list[tuple[int, str]]:
    """Lines of ``source`` that write CareTask's status: ``.update(status=…)`` and
    ``.update(**{"status": …})`` with a CareTask status, ``bulk_update`` of
    CareTask's ``"status"``, ``x.status = CareTask.Status…`` (and ``setattr``),
    and SQL that updates care_caretask's status (``{table}`` resolved when the
    name was bound to ``CareTask._meta.db_table``)."""
    tree = ast.parse(source)

    lines = [line.encode() for line in source.splitlines(keepends=True)]
    segments: dict[int, str] = {}

    def text(node) -> str:
        """``ast.get_source_segment``, without splitting the whole file again for each node."""
        if id(node) not in segments:
            first, last = node.lineno - 1, node.end_lineno - 1
            if first == last:
                piece = lines[first][node.col_offset : node.end_col_offset]
            else:
                piece = b"".join(
                    [lines[first][node.col_offset :], *lines[first + 1 : last], lines[last][: node.end_col_offset]]
                )
            segments[id(node)] = piece.decode()
        return segments[id(node)]

    assignments = [
        pair
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        for pair in _pairs(target, node.value)
    ]
    # Names bound to CareTask.Status, to one of its values, or to CareTask's table.
    statusy: set[str] = set()
    tables: set[str] = set()

    def is_touch_status(node) -> bool:
        return "CareTask.Status" in text(node) or any(
            isinstance(n, ast.Name) and n.id in statusy for n in ast.walk(node)
        )

    for _ in range(3):  # an alias of an alias
        for target, value in assignments:
            if isinstance(target, ast.Name):
                if is_touch_status(value):
                    statusy.add(target.id)
                if "CareTask._meta.db_table" in text(value) or text(value).strip("'\"") == "care_caretask":
                    tables.add(target.id)
    dicts = {t.id: v for t, v in assignments if isinstance(t, ast.Name) and isinstance(v, ast.Dict)}

    def sql(node) -> str | None:
        """The text of a string expression, placeholders for what is not a string."""
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            return node.value
        if isinstance(node, ast.JoinedStr):
            return "".join(sql(part) or "" for part in node.values)
        if isinstance(node, ast.FormattedValue):
            inner = node.value
            named = isinstance(inner, ast.Name) and inner.id in tables
            return "care_caretask" if named or "CareTask._meta.db_table" in text(inner) else "?"
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            left, right = sql(node.left), sql(node.right)
            if left is None and right is None:
                return None
            return (left or _name_as_table(node.left)) + (right or _name_as_table(node.right))
        return None

    def _name_as_table(node) -> str:
        named = isinstance(node, ast.Name) and node.id in tables
        return "care_caretask" if named or "CareTask._meta.db_table" in text(node) else "?"

    found: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            method = node.func.attr
            if method == "update":
                values = {k.arg: k.value for k in node.keywords if k.arg}
                for k in node.keywords:
                    spread = k.value if k.arg is None else None
                    if isinstance(spread, ast.Name):
                        spread = dicts.get(spread.id)
                    if isinstance(spread, ast.Dict):
                        values |= {
                            key.value: v
                            for key, v in zip(spread.keys, spread.values, strict=True)
                            if isinstance(key, ast.Constant)
                        }
                if "status" in values and is_touch_status(values["status"]):
                    found.add(node.lineno)
            if method == "bulk_update" and "CareTask" in text(node.func.value):
                fields = (
                    node.args[1]
                    if len(node.args) > 1
                    else next((k.value for k in node.keywords if k.arg == "fields"), None)
                )
                if fields is not None and any(
                    isinstance(n, ast.Constant) and n.value == "status" for n in ast.walk(fields)
                ):
                    found.add(node.lineno)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "setattr":
            args = node.args
            named = len(args) == 3 and isinstance(args[1], ast.Constant) and args[1].value == "status"
            if named and is_touch_status(args[2]):
                found.add(node.lineno)
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                for t, v in _pairs(target, node.value):
                    if isinstance(t, ast.Attribute) and t.attr == "status" and is_touch_status(v):
                        found.add(node.lineno)
        if isinstance(node, ast.Constant | ast.JoinedStr | ast.BinOp):
            statement = sql(node)
            if statement and sets_touch_status(statement):
                found.add(node.lineno)
    return [(n, lines[n - 1].decode().strip()) for n in sorted(found)]


@pytest.mark.parametrize(
    "snippet",
    [
        # The code before care_tasks_transition, as it was in the engine and the workspace.
        "CareTask.objects.filter(x=1).update(status=CareTask.Status.CANCELLED)",
        "tasks.filter(status=CareTask.Status.OPEN).update(\n    outcome='expired', status=CareTask.Status.CANCELLED\n)",
        "Status = CareTask.Status\ntasks.update(status=Status.DONE)",
        "to = CareTask.Status.DONE if reached else CareTask.Status.CANCELLED\ntasks.update(status=to)",
        "tasks.update(**{'status': CareTask.Status.DONE, 'outcome': 'sent'})",
        "values = {'status': CareTask.Status.DONE}\ntasks.update(**values)",
        "task.status = CareTask.Status.DONE\ntask.save()",
        "task.status, task.outcome = CareTask.Status.DONE, 'reached'",
        "setattr(task, 'status', CareTask.Status.CANCELLED)",
        "CareTask.objects.bulk_update(tasks, ['status', 'outcome'])",
        "CareTask.objects.bulk_update(tasks, fields=('outcome', 'status'))",
        'cursor.execute("UPDATE care_caretask SET outcome = %s, status = %s WHERE id = %s", p)',
        "cursor.execute('UPDATE \"care_caretask\" SET \"status\" = \\'done\\'')",
        "table = CareTask._meta.db_table\nsql = f'UPDATE {table} SET status = %s WHERE id IN ({inner})'",
        "table, events = CareTask._meta.db_table, CareTaskEvent._meta.db_table\n"
        "sql = f'UPDATE {table} AS t SET status = %s FROM old'",
        "sql = 'UPDATE ' + CareTask._meta.db_table + ' SET status = %s'",
    ],
)
def test_the_source_guard_catches_a_status_write(snippet):
    assert status_writes(snippet), snippet


@pytest.mark.parametrize(
    "snippet",
    [
        "Outbox.objects.filter(pk=1).update(status=Outbox.Status.SENT)",
        "message.status, message.suppression_reason = Outbox.Status.SUPPRESSED, reason",
        "WeatherAlert.objects.filter(pk__in=ids).update(status=WeatherAlert.Status.CANCELLED)",
        "Customer.objects.filter(pk=1).update(status=code.customer_status)",
        "CareTask.objects.filter(status=CareTask.Status.OPEN).update(due_date=day, notes='x')",
        "Outbox.objects.bulk_update(messages, ['status'])",
        "cursor.execute('UPDATE care_outbox SET status = %s WHERE id = %s', p)",
        "cursor.execute('UPDATE care_caretask SET attempts = attempts + 1 WHERE status = %s', p)",
        "constants = {'status': CareTask.Status.OPEN}  # the INSERT of new touches",
        "care_tasks_transition(tasks=tasks, to=CareTask.Status.DONE, outcome='sent', job='outbox')",
    ],
)
def test_the_source_guard_leaves_other_code_alone(snippet):
    assert status_writes(snippet) == []


def app_sources():
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT)
            if "migrations" not in relative.parts:
                yield relative, path.read_text(encoding="utf-8")


def test_only_care_tasks_transition_writes_a_touchs_status():
    sources = dict(app_sources())
    assert THE_WRITER in sources and len(sources) > 100
    # The guard sees the one writer's own statements (both databases' UPDATE), so it reads this style of code.
    assert len(status_writes(sources[THE_WRITER])) >= 2
    offenders = [
        f"{path}:{line}: {code}"
        for path, source in sources.items()
        if path != THE_WRITER
        for line, code in status_writes(source)
    ]
    assert offenders == [], "write the status through care.touches.services.care_tasks_transition"


# --- Guard 2: during a morning, every status UPDATE comes from the transition ---------------------


@contextlib.contextmanager
def status_updates():
    """Record each SQL statement that updates a touch's status, and whether
    ``care_tasks_transition`` is on its call stack."""
    seen: list[tuple[str, bool]] = []

    def watch(execute, sql, params, many, context):
        if sets_touch_status(sql):
            frames = inspect.stack(context=0)
            inside = any(
                f.function == "care_tasks_transition" and Path(f.filename).match("care/touches/services.py")
                for f in frames
            )
            seen.append((sql, inside))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(watch):
        yield seen


def test_the_sql_guard_notices_an_update_outside_the_transition(customer, rule):
    task = touch(customer, rule)
    with status_updates() as seen:
        CareTask.objects.filter(pk=task.pk).update(status="cancelled", outcome="expired")
        care_tasks_transition(tasks=CareTask.objects.filter(pk=task.pk), to="done", outcome="reached", job="x")
    assert [inside for _, inside in seen] == [False, True]


def test_every_status_update_of_a_morning_comes_from_the_transition(dealership, advisor, rule, scripted):
    # An engine run with expiries and a visit, an advisor's call, and a message suppressed at queueing.
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    stale = touch(customer, rule, due=D(2026, 11, 1), expires=D(2026, 11, 22))
    visited = touch(customer, rule, due=D(2026, 11, 30), created=D(2026, 11, 10))
    add_visit(visited.vehicle, "RO1", "maintenance", D(2026, 11, 15), 12000)
    caller = CustomerFactory(dealership=dealership, advisor=advisor)
    call = touch(caller, rule)
    greeting = CareRuleFactory(kind="birthday", channel="sms", message_template="{name}{title}生日快乐")
    message = touch(CustomerFactory(dealership=dealership, advisor=advisor), greeting, channel="sms")

    with status_updates() as seen:
        care_tasks_generate(day=DAY)
        care_call_log(task=call, outcome=CallOutcome(code=OutcomeCode.objects.get(code="reached")), by=advisor, now=NOW)
        outbox_enqueue(now=NOW)

    # The scenario did change what it should, one event each...
    assert [(e[0], e[5]) for e in events()] == [
        (stale.pk, "expire"),
        (visited.pk, "fulfilled"),
        (call.pk, ""),
        (message.pk, "outbox"),
    ]
    # ...and every statement that wrote a status ran inside care_tasks_transition.
    assert seen
    assert [sql for sql, inside in seen if not inside] == []


def test_the_touch_admin_writes_no_status_outside_the_transition(client, customer, manager, rule):
    task = touch(customer, rule)
    client.force_login(manager)
    url = reverse("admin:care_caretask_change", args=[task.pk])
    form = client.get(url).context["adminform"].form
    data = {name: "" if form[name].value() is None else form[name].value() for name in form.fields}
    with status_updates() as seen:
        response = client.post(url, {**data, "priority": 90, "status": "cancelled", "outcome": "declined"})
    assert response.status_code == 302
    assert CareTask.objects.get(pk=task.pk).priority == 90
    # Either the admin leaves the status alone, or it closes the touch through the transition, with its event.
    assert [sql for sql, inside in seen if not inside] == []
    assert (status_of(task), events()) in [
        (("open", ""), []),
        (("cancelled", "declined"), [(task.pk, "open", "cancelled", "declined", manager.pk, "", "")]),
    ]
