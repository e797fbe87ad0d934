"""The smaller sources of ``bench/fill_group.py``, drawn from a sample of the
loaded repair orders and customers: post-service surveys (SMS links and the
day-3 call), the day-3 calls as care touches with their contacts, maintenance
reminders that turned into a booked and arrived visit (or not), complaints, and
lapsed customers' surveys. Proportional to the orders and kept small (a few
per cent of the last year's orders), so every nightly rollup has rows to read.

Written with COPY on the session the task runs on, with explicit ids (the
tables are empty after the migration); their sequences are moved on after.
"""

import datetime
import io
import itertools
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

import psycopg

from analytics.models import Survey, SurveyResponse
from care.models import CareRule, CareTask, Contact, OutcomeCode
from complaints.models import Complaint, ComplaintCategory, ComplaintCounter
from crm.models import User
from demo import data
from service.models import Appointment, RepairOrder

SHANGHAI = ZoneInfo("Asia/Shanghai")
NULL = "\\N"
# How the customers answer (weights of each score): most are satisfied after a
# visit; lapsed customers, asked why they stopped coming, far less.
CSAT_WEIGHTS = {5: 50, 4: 30, 3: 12, 2: 5, 1: 3}
NPS_WEIGHTS = {10: 30, 9: 25, 8: 14, 7: 11, 6: 6, 5: 5, 4: 3, 3: 2, 2: 2, 1: 1, 0: 1}
LAPSED_NPS_WEIGHTS = {10: 8, 9: 10, 8: 14, 7: 16, 6: 14, 5: 12, 4: 8, 3: 7, 2: 5, 1: 3, 0: 3}
# Of the sampled orders: an SMS survey link, a day-3 call, a maintenance reminder before the visit.
SMS_SHARE, CALL_SHARE, REMINDER_SHARE = 0.55, 0.25, 0.2
SMS_OPENED, SMS_ANSWERED = 0.55, 0.4


def _v(value) -> str:
    if value is None:
        return NULL
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, (datetime.datetime, datetime.date)):
        return value.isoformat()
    if isinstance(value, str):
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
    return str(value)


class Rows:
    """Rows of one table as COPY text, ids counted from 1."""

    def __init__(self, model, columns: list[str], now: str) -> None:
        from bench._group_rows import constant_columns

        self.table = model._meta.db_table
        self.columns = ["id", *columns]
        extra, self.constants = constant_columns(model, self.columns, now)
        self.columns += extra
        self.buffer = io.StringIO()
        self.count = 0

    def add(self, *values) -> int:
        self.count += 1
        self.buffer.write("\t".join([str(self.count), *map(_v, values)]) + self.constants + "\n")
        return self.count

    def copy(self, conn: psycopg.Connection) -> None:
        if not self.count:
            return
        with conn.cursor() as cursor, cursor.copy(f"COPY {self.table} ({', '.join(self.columns)}) FROM STDIN") as cp:
            cp.write(self.buffer.getvalue())
        conn.execute(f"SELECT setval(pg_get_serial_sequence('{self.table}', 'id'), %s)", (self.count,))


def weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    cum = list(itertools.accumulate(weights.values()))
    return lambda: rng.choices(keys, cum_weights=cum)[0]


def build_extras(conn: psycopg.Connection, *, today: datetime.date, window_days: int, orders: int, seed: int) -> dict:
    rng = random.Random(f"fill-group-extras:{seed}")
    rnd = rng.random
    now = datetime.datetime.now(SHANGHAI).isoformat()
    csat, nps, lapsed_nps = weighted(rng, CSAT_WEIGHTS), weighted(rng, NPS_WEIGHTS), weighted(rng, LAPSED_NPS_WEIGHTS)
    rules = {
        r.kind: r
        for r in CareRule.objects.filter(
            dealership__isnull=True, kind__in=["post_repair_day3", "maintenance", "winback"]
        )
    }
    outcomes = {o.code: o for o in OutcomeCode.objects.all()}
    categories = {c.code: c.pk for c in ComplaintCategory.objects.all()}
    managers = dict(User.objects.filter(role=User.Role.MANAGER).values_list("dealership_id", "pk"))
    stories = {}
    for story in data.COMPLAINT_STORIES:
        stories.setdefault(story.category, []).append(story)
    comments = [s.description for s in data.COMPLAINT_STORIES]

    surveys = Rows(
        Survey,
        [
            "dealership_id",
            "customer_id",
            "repair_order_id",
            "kind",
            "channel",
            "sent_at",
            "expires_at",
            "opened_at",
            "answered_at",
        ],
        now,
    )
    responses = Rows(
        SurveyResponse,
        [
            "survey_id",
            "dealership_id",
            "customer_id",
            "repair_order_id",
            "advisor_id",
            "asked_by_id",
            "contact_id",
            "kind",
            "channel",
            "csat",
            "nps",
            "comment",
            "answered_at",
        ],
        now,
    )
    tasks = Rows(
        CareTask,
        [
            "dealership_id",
            "customer_id",
            "vehicle_id",
            "rule_id",
            "kind",
            "channel",
            "occasion",
            "step",
            "event_date",
            "due_date",
            "planned_for",
            "expires_on",
            "status",
            "outcome",
            "attempts",
            "assigned_to_id",
            "priority",
            "repair_order_id",
            "appointment_id",
            "converted_repair_order_id",
            "created_on",
            "created_at",
            "closed_at",
        ],
        now,
    )
    contacts = Rows(
        Contact, ["dealership_id", "customer_id", "advisor_id", "channel", "outcome_id", "reached", "created_at"], now
    )
    links = Rows(Contact.tasks.through, ["contact_id", "caretask_id"], now)
    appointments = Rows(
        Appointment,
        [
            "dealership_id",
            "customer_id",
            "vehicle_id",
            "advisor_id",
            "scheduled_at",
            "kind",
            "status",
            "repair_order_id",
            "arrived_at",
            "created_at",
        ],
        now,
    )
    complaints = Rows(
        Complaint,
        [
            "dealership_id",
            "number",
            "customer_id",
            "vehicle_id",
            "repair_order_id",
            "channel",
            "category_id",
            "severity",
            "status",
            "description",
            "demand",
            "findings",
            "cause",
            "remedy",
            "goodwill_cost",
            "customer_agreed",
            "customer_answer",
            "action_taken",
            "follow_up",
            "received_by_id",
            "received_at",
            "handler_id",
            "staff_involved_id",
            "acknowledged_at",
            "first_contacted_at",
            "closed_at",
            "created_at",
        ],
        now,
    )

    def answer(kind_nps) -> tuple:
        c, n = csat(), kind_nps()
        if rnd() < 0.04:
            c = None
        elif rnd() < 0.04:
            n = None
        comment = ""
        if (n is not None and n <= 6) or (c is not None and c <= 2):
            comment = rng.choice(comments) if rnd() < 0.5 else ""
        return c, n, comment

    # --- A sample of the last year's closed orders ---------------------------------
    year_ago = datetime.datetime.combine(today - datetime.timedelta(days=365), datetime.time(), SHANGHAI)
    wanted = max(orders * 0.01, 200)
    percent = min(100.0, 100.0 * wanted / max(orders * 365 / window_days, 1))
    sample = conn.execute(
        f"""
        SELECT id, dealership_id, customer_id, vehicle_id, advisor_id, kind, opened_at, closed_at, number
        FROM {RepairOrder._meta.db_table} TABLESAMPLE SYSTEM (%s) REPEATABLE (%s)
        WHERE voided_at IS NULL AND closed_at IS NOT NULL AND closed_at >= %s AND advisor_id IS NOT NULL
        ORDER BY id
        """,
        (percent, seed, year_ago),
    ).fetchall()
    post, reminder = rules["post_repair_day3"], rules["maintenance"]
    task_keys: set = set()
    # About COMPLAINT_RATE of the customers with a visit in the last year complain
    # (demo.data), one case each, spread over the sampled orders.
    recent = conn.execute(
        "SELECT count(*) FROM customers_customer WHERE last_visit_date >= %s", (today - datetime.timedelta(days=365),)
    ).fetchone()[0]
    complaint_probability = min(1.0, recent * data.COMPLAINT_RATE / max(len(sample), 1))
    complained: set = set()
    counters: dict = {}
    for order_id, store, customer, vehicle, advisor, kind, opened, closed, number in sample:
        closed_local = closed.astimezone(SHANGHAI)
        r = rnd()
        if r < SMS_SHARE:
            sent = closed + datetime.timedelta(hours=2)
            opened_link = sent + datetime.timedelta(minutes=5 + int(rnd() * 2000)) if rnd() < SMS_OPENED else None
            answered = None
            if opened_link and rnd() < SMS_ANSWERED / SMS_OPENED:
                answered = opened_link + datetime.timedelta(minutes=1 + int(rnd() * 10))
            survey = surveys.add(
                store,
                customer,
                order_id,
                Survey.Kind.POST_SERVICE,
                Survey.Channel.SMS,
                sent,
                sent + datetime.timedelta(days=7),
                opened_link,
                answered,
            )
            if answered:
                c, n, comment = answer(nps)
                responses.add(
                    survey,
                    store,
                    customer,
                    order_id,
                    advisor,
                    None,
                    None,
                    Survey.Kind.POST_SERVICE,
                    Survey.Channel.SMS,
                    c,
                    n,
                    comment,
                    answered,
                )
        elif r < SMS_SHARE + CALL_SHARE:
            event = closed_local.date() + datetime.timedelta(days=3)
            if event >= today:
                continue
            key = (post.pk, customer, vehicle, f"post_repair:{number}")
            task_keys.add(key)
            called = datetime.datetime.combine(event, datetime.time(10), SHANGHAI) + datetime.timedelta(
                minutes=int(rnd() * 420)
            )
            outcome = (
                outcomes["satisfied"]
                if rnd() < 0.75
                else outcomes["not_reached"]
                if rnd() < 0.85
                else outcomes["dissatisfied"]
            )
            task = tasks.add(
                store,
                customer,
                vehicle,
                post.pk,
                post.kind,
                post.channel,
                key[3],
                1,
                event,
                event,
                event,
                event + datetime.timedelta(days=post.expiry_days),
                CareTask.Status.DONE,
                outcome.task_outcome,
                1,
                advisor,
                post.priority,
                order_id,
                None,
                None,
                event,
                called - datetime.timedelta(hours=2),
                called,
            )
            contact = contacts.add(store, customer, advisor, Contact.Channel.CALL, outcome.pk, outcome.reached, called)
            links.add(contact, task)
            if outcome.reached:
                c, n, comment = answer(nps)
                if outcome.code == "dissatisfied":
                    c, n = min(c or 2, 2), min(n if n is not None else 4, 4)
                responses.add(
                    None,
                    store,
                    customer,
                    order_id,
                    advisor,
                    advisor,
                    contact,
                    Survey.Kind.POST_SERVICE,
                    Survey.Channel.CALL,
                    c,
                    n,
                    comment,
                    called,
                )
        else:
            # A maintenance reminder a fortnight before the visit: reached and booked
            # (the visit is the booked one, arrived), or not reached (the car came anyway).
            due = opened.astimezone(SHANGHAI).date() - datetime.timedelta(days=7 + int(rnd() * 14))
            key = (reminder.pk, customer, vehicle, f"maintenance:{due - datetime.timedelta(days=180)}")
            if key in task_keys:
                continue
            task_keys.add(key)
            called = datetime.datetime.combine(due, datetime.time(10), SHANGHAI) + datetime.timedelta(
                minutes=int(rnd() * 420)
            )
            booked = kind == RepairOrder.Kind.MAINTENANCE and rnd() < 0.6
            appointment = None
            if booked:
                outcome = outcomes["booked"]
                appointment = appointments.add(
                    store,
                    customer,
                    vehicle,
                    advisor,
                    opened,
                    RepairOrder.Kind.MAINTENANCE,
                    Appointment.Status.ARRIVED,
                    order_id,
                    opened,
                    called,
                )
            else:
                outcome = outcomes["not_reached"] if rnd() < 0.6 else outcomes["declined"]
            task = tasks.add(
                store,
                customer,
                vehicle,
                reminder.pk,
                reminder.kind,
                reminder.channel,
                key[3],
                1,
                due,
                due,
                due,
                due + datetime.timedelta(days=reminder.expiry_days),
                CareTask.Status.DONE,
                outcome.task_outcome,
                1,
                advisor,
                reminder.priority,
                None,
                appointment,
                order_id if booked else None,
                due - datetime.timedelta(days=reminder.lead_days),
                called - datetime.timedelta(hours=3),
                called,
            )
            contact = contacts.add(store, customer, advisor, Contact.Channel.CALL, outcome.pk, outcome.reached, called)
            links.add(contact, task)
        if customer not in complained and rnd() < complaint_probability:
            complained.add(customer)
            _complaint(
                complaints,
                rng,
                counters,
                categories,
                stories,
                managers,
                (order_id, store, customer, vehicle, advisor, closed),
            )
    # --- Lapsed customers: an SMS survey link and, for some, a win-back call --------
    lapsed = conn.execute(
        """
        SELECT id, dealership_id, advisor_id, last_visit_date, churn_state FROM customers_customer
        TABLESAMPLE SYSTEM (%s) REPEATABLE (%s)
        WHERE churn_state IN ('at_risk', 'lost') AND advisor_id IS NOT NULL AND last_visit_date IS NOT NULL
        ORDER BY id
        """,
        (3.0, seed),
    ).fetchall()
    winback = rules["winback"]
    for customer, store, advisor, last_visit, churn_state in lapsed:
        sent = datetime.datetime.combine(
            today - datetime.timedelta(days=1 + int(rnd() * 300)), datetime.time(11), SHANGHAI
        )
        if rnd() < 0.6:
            answered = sent + datetime.timedelta(hours=1 + int(rnd() * 48)) if rnd() < 0.25 else None
            survey = surveys.add(
                store,
                customer,
                None,
                Survey.Kind.LAPSED,
                Survey.Channel.SMS,
                sent,
                sent + datetime.timedelta(days=7),
                answered,
                answered,
            )
            if answered:
                c, n, comment = answer(lapsed_nps)
                responses.add(
                    survey,
                    store,
                    customer,
                    None,
                    advisor,
                    None,
                    None,
                    Survey.Kind.LAPSED,
                    Survey.Channel.SMS,
                    c,
                    n,
                    comment,
                    answered,
                )
        else:
            day = sent.date()
            key = (winback.pk, customer, None, f"winback:{churn_state}:{last_visit}")
            if key in task_keys:
                continue
            task_keys.add(key)
            reached = rnd() < 0.55
            outcome = outcomes["winback_surveyed"] if reached else outcomes["not_reached"]
            task = tasks.add(
                store,
                customer,
                None,
                winback.pk,
                winback.kind,
                winback.channel,
                key[3],
                1,
                day,
                day,
                day,
                day + datetime.timedelta(days=winback.expiry_days),
                CareTask.Status.DONE,
                outcome.task_outcome,
                1,
                advisor,
                winback.priority,
                None,
                None,
                None,
                day,
                sent - datetime.timedelta(hours=2),
                sent,
            )
            contact = contacts.add(store, customer, advisor, Contact.Channel.CALL, outcome.pk, reached, sent)
            links.add(contact, task)
            if reached:
                c, n, comment = answer(lapsed_nps)
                responses.add(
                    None,
                    store,
                    customer,
                    None,
                    advisor,
                    advisor,
                    contact,
                    Survey.Kind.LAPSED,
                    Survey.Channel.CALL,
                    c,
                    n,
                    comment,
                    sent,
                )
    with conn.transaction():
        for rows in (surveys, responses, appointments, tasks, contacts, links, complaints):
            rows.copy(conn)
        with (
            conn.cursor() as cursor,
            cursor.copy(f"COPY {ComplaintCounter._meta.db_table} (dealership_id, year, last) FROM STDIN") as cp,
        ):
            for (store, year), last in counters.items():
                cp.write_row((store, year, last))
    return {
        "analytics_survey": surveys.count,
        "analytics_surveyresponse": responses.count,
        "care_caretask": tasks.count,
        "care_contact": contacts.count,
        "service_appointment": appointments.count,
        "complaints_complaint": complaints.count,
    }


def _complaint(rows, rng, counters, categories, stories, managers, order) -> None:
    order_id, store, customer, vehicle, advisor, closed = order
    rnd = rng.random
    code = rng.choices(*zip(*data.COMPLAINT_CATEGORIES, strict=True))[0]
    story = rng.choice(stories.get(code) or [s for v in stories.values() for s in v])
    received = closed + datetime.timedelta(days=1 + int(rnd() * 10), minutes=int(rnd() * 300))
    year = received.astimezone(SHANGHAI).year
    counters[store, year] = counters.get((store, year), 0) + 1
    number = f"TS-{year}-{counters[store, year]:06d}"
    closed_case = rnd() < 0.85
    handler = managers.get(store)
    staff = advisor if code not in data.WORKSHOP_CATEGORIES and advisor != handler else None
    low, high = story.goodwill
    goodwill = Decimal(rng.randint(low, high)).quantize(Decimal("0.01")) if high else None
    status = (
        Complaint.Status.CLOSED
        if closed_case
        else rng.choice([Complaint.Status.RECORDED, Complaint.Status.INVESTIGATED, Complaint.Status.REMEDY_DECIDED])
    )
    rows.add(
        store,
        number,
        customer,
        vehicle,
        order_id,
        rng.choices(*zip(*data.COMPLAINT_CHANNELS, strict=True))[0],
        categories[code],
        rng.choices(*zip(*data.COMPLAINT_SEVERITIES, strict=True))[0],
        status,
        story.description,
        story.demand,
        story.findings,
        story.cause,
        story.remedy,
        goodwill,
        True if closed_case else None,
        story.answer if closed_case else "",
        story.action if closed_case else "",
        story.follow_up if closed_case else "",
        handler,
        received,
        handler,
        staff,
        received + datetime.timedelta(hours=2),
        received + datetime.timedelta(hours=20),
        received + datetime.timedelta(days=3 + int(rnd() * 5)) if closed_case else None,
        received,
    )


def lines_task():
    """Repair lines for every order, set-based: the labour line and the part line
    named in the order's ``work_done`` (as the fill wrote it: labour；part) with
    the order's amounts, and a declined recommendation on one order in ten
    (demo.data.DECLINED_WORK, at its quoted price)."""
    from service.models import RepairLine

    def literal(text: str) -> str:
        return "'" + text.replace("'", "''").replace("%", "%%") + "'"

    n = len(data.DECLINED_WORK)
    described = " ".join(f"WHEN {i} THEN {literal(d)}" for i, (d, _p) in enumerate(data.DECLINED_WORK))
    quoted = " ".join(f"WHEN {i} THEN {price}" for i, (_d, price) in enumerate(data.DECLINED_WORK))
    ro, rl = RepairOrder._meta.db_table, RepairLine._meta.db_table
    statement = f"""
        INSERT INTO {rl} (repair_order_id, line_type, description, part_number, quantity, amount, quoted_amount, status)
        SELECT id, %(labor)s, split_part(work_done, '；', 1), '', 1, labor_amount, NULL::numeric, %(done)s
        FROM {ro} WHERE labor_amount > 0
        UNION ALL
        SELECT id, %(part)s, CASE WHEN labor_amount > 0 THEN split_part(work_done, '；', 2) ELSE work_done END, '', 1,
               parts_amount, NULL::numeric, %(done)s
        FROM {ro} WHERE parts_amount > 0
        UNION ALL
        SELECT id, %(part)s, CASE (id / 10) %% {n} {described} END, '', 1, 0, CASE (id / 10) %% {n} {quoted} END,
               %(declined)s
        FROM {ro} WHERE id %% 10 = 3
    """
    params = {
        "labor": RepairLine.LineType.LABOR,
        "part": RepairLine.LineType.PART,
        "done": RepairLine.Status.DONE,
        "declined": RepairLine.Status.DECLINED,
    }

    def run(conn: psycopg.Connection) -> int:
        with conn.transaction():
            conn.execute(f"TRUNCATE {rl}")
            return conn.execute(statement, params).rowcount

    return run
