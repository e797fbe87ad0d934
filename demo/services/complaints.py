"""The demo's complaints: a year of cases, each opened and moved through its
steps by the complaint services, as the store would have worked them.

A case's rules (numbers, SLA clocks in the store's hours, a tier-A customer's
case one level up, closing only with cause and remedy, the lesson of a major
case, the handler never the staff involved) live in ``complaints.services``;
the demo only decides what happened and when, and calls them. That is one
Python loop over the cases, a few dozen for the default demo, never over the
customers: who complained is drawn from the rows already built.
"""

import contextlib
import dataclasses
import datetime

from django.utils import timezone

from care.registry import CareKind
from care.touches.models import CareTask
from care.workspace.models import OutcomeCode
from care.workspace.services import CallOutcome, care_call_log
from complaints.models import Complaint, ComplaintCategory
from complaints.services import (
    NEEDS_LESSON,
    STEPS,
    complaint_contacted,
    complaint_open,
    complaint_pause,
    complaint_reopen,
    complaint_resume,
    complaint_transition,
    complaints_sla_sweep,
)
from crm.models import User
from customers.models import Customer
from demo import data
from demo.services.rows import Store
from service.models import RepairOrder

Status = Complaint.Status
Severity = Complaint.Severity

# The closed loop after the case is recorded, in order (the services' own list).
STEPS_AFTER_RECORD = STEPS[STEPS.index(Status.RECORDED) + 1 :]
# Minutes from one step to the next (before the severity's pace), as a handler works a normal case.
STEP_MINUTES = {
    Status.RECORDED: (10, 90),
    Status.INVESTIGATED: (60, 720),
    Status.CAUSE_FOUND: (30, 360),
    Status.REMEDY_DECIDED: (30, 360),
    Status.CUSTOMER_NOTIFIED: (20, 240),
    Status.CARRIED_OUT: (60, 1440),
    Status.FOLLOWED_UP: (240, 1800),
    Status.CLOSED: (20, 180),
}
CONTACT_MINUTES = (15, 180)
# Serious cases are worked faster: their clocks are shorter.
PACE = {Severity.NORMAL: 1.0, Severity.ESCALATED: 0.55, Severity.MAJOR: 0.35, Severity.URGENT: 0.2}
# How the cases still open on the demo's last day stand, in the order they are
# handed out: a few at different steps, one or two waiting, one close to its
# due time, a couple breached.
OPEN_ROLES = ("breached", "open", "paused", "due_soon", "breached", "paused", "open", "open")
# The open ones' last step, by weight.
OPEN_STEPS = (
    (Status.RECEIVED, 3),
    (Status.RECORDED, 3),
    (Status.INVESTIGATED, 4),
    (Status.CAUSE_FOUND, 3),
    (Status.REMEDY_DECIDED, 2),
    (Status.CUSTOMER_NOTIFIED, 2),
    (Status.CARRIED_OUT, 2),
    (Status.FOLLOWED_UP, 1),
)
# Days before the demo's today a case in each role was received.
# Five days ago leaves a normal case (five working days) its last day: due soon.
RECEIVED_DAYS_AGO = {"open": (1, 3), "paused": (2, 5), "due_soon": (5, 5), "breached": (9, 14)}
# Share of the cases whose remedy takes days longer than usual, and how long it takes them.
SLOW_SHARE = 0.15
SLOW_MINUTES = (3 * 1440, 7 * 1440)
# Share of the closed normal cases that also leave a lesson (major ones always do).
LESSON_SHARE = 0.3
OPENING_HOURS = (datetime.time(8, 30), datetime.time(18, 30))


@dataclasses.dataclass
class CasePlan:
    """One case to be: who, about what, when, and how far it gets."""

    role: str  # closed, reopened, or still open: open, paused, due_soon, breached
    store: Store
    customer_id: int
    order_id: int
    story: data.ComplaintStory
    category: ComplaintCategory
    channel: str
    severity: str
    received_at: datetime.datetime
    received_by: User | None
    handler: User | None
    staff_involved: User | None
    last_step: str = Status.CLOSED


class _PastToday(Exception):
    """The next step would fall on the demo's today or later: the case stays where it is."""


class ComplaintHistory:
    """A year of complaint cases (part of ``Builder``)."""

    # --- Who complained, about what ---------------------------------------------------

    def plan_complaints(self) -> None:
        """Decide the cases, after the orders are written (the cases name them).

        About ``COMPLAINT_RATE`` of the customers with a visit in the last year
        complained once, about one of those visits; most cases are closed, the
        latest few are still open at different steps. Drawn from a stream of
        their own, so the rest of the demo is the same data as without them."""
        self.complaint_plans: list[CasePlan] = []
        self.categories = {c.code: c for c in ComplaintCategory.objects.filter(active=True)}
        self.verification_outcomes = {
            c.code: c for c in OutcomeCode.objects.filter(code__in=["satisfied", "dissatisfied"], active=True)
        }
        if not self.categories:
            return
        with self.side_stream("complaints"):
            orders = self._orders_of_the_year()
            customers = list(orders)
            n = round(len(customers) * data.COMPLAINT_RATE)
            open_count = max(min(n // 2, 3), round(n * 0.22))
            self.rng.shuffle(customers)
            used: set[int] = set()
            for role in OPEN_ROLES * (open_count // len(OPEN_ROLES) + 1):
                if len(used) >= open_count:
                    break
                plan = self._open_plan(role, customers, orders, used)
                if plan is not None:
                    self.complaint_plans.append(plan)
            # One case in the year comes back (the fix did not hold), when there are cases enough.
            want_reopen = n - open_count >= 5
            for customer_id in customers:
                if len(self.complaint_plans) >= n:
                    break
                plan = None if customer_id in used else self._closed_plan(customer_id, orders[customer_id])
                if plan is None:
                    continue
                old_enough = plan.received_at < self.now - datetime.timedelta(days=45)
                if want_reopen and old_enough and plan.story.category in data.WORKSHOP_CATEGORIES:
                    plan.role, want_reopen = "reopened", False
                self.complaint_plans.append(plan)
        self.complaint_plans.sort(key=lambda p: (p.received_at, p.order_id))

    def _orders_of_the_year(self) -> dict[int, list[RepairOrder]]:
        """{customer id: their closed orders opened in the last 365 days}, in the order built."""
        since = self.now - datetime.timedelta(days=365)
        orders: dict[int, list[RepairOrder]] = {}
        for order in self.repair_orders.rows:
            if order.closed_at is not None and order.opened_at >= since:
                orders.setdefault(order.customer_id, []).append(order)
        return orders

    def _open_plan(self, role: str, customers: list[int], orders, used: set[int]) -> CasePlan | None:
        """A case still open today: received a few days ago, after a visit in the weeks before."""
        received = self._received_on(self.days_ago(*RECEIVED_DAYS_AGO[role]))
        for customer_id in customers:
            if customer_id in used:
                continue
            recent = [o for o in orders[customer_id] if received - datetime.timedelta(days=30) < o.closed_at < received]
            if recent:
                used.add(customer_id)
                severity = Severity.NORMAL if role in ("breached", "due_soon") else self._open_severity()
                plan = self._plan(role, customer_id, recent, received, severity)
                if role == "open":
                    plan.last_step = self.pick(OPEN_STEPS)
                return plan
        return None

    def _open_severity(self) -> str:
        """Open cases on track are the everyday ones: the serious ones are worked off at once."""
        severity = self.pick(data.COMPLAINT_SEVERITIES)
        return severity if severity in (Severity.NORMAL, Severity.ESCALATED) else Severity.ESCALATED

    def _closed_plan(self, customer_id: int, orders: list[RepairOrder]) -> CasePlan | None:
        """A case of the past year, received within a week of the visit and long since closed."""
        latest = self.now - datetime.timedelta(days=25)
        done = [o for o in orders if o.closed_at < latest]
        if not done:
            return None
        # Most cases are about work in the bay; an accessory fitting or an event is rarely what went wrong.
        order = self.rng.choice([o for o in done if o.technician_id is not None] or done)
        day = timezone.localdate(order.closed_at) + datetime.timedelta(days=self.rng.randint(0, 7))
        received = max(self._received_on(day), order.closed_at + datetime.timedelta(minutes=30))
        return self._plan("closed", customer_id, done, received, self.pick(data.COMPLAINT_SEVERITIES), order=order)

    def _plan(self, role, customer_id, orders, received, severity, *, order=None) -> CasePlan:
        if order is None:
            order = self.rng.choice([o for o in orders if o.technician_id is not None] or orders)
        # Work in the bay is complained about only where a technician worked.
        weighted = data.COMPLAINT_CATEGORIES if order.technician_id else data.FRONT_DESK_CATEGORIES
        code = self.pick(weighted)
        stories = [s for s in data.COMPLAINT_STORIES if s.category == code]
        if code not in self.categories:
            # An admin retired or renamed the category: another story, in a category still in use.
            stories = [s for s in data.COMPLAINT_STORIES if s.category in self.categories]
        story = self.rng.choice(stories or data.COMPLAINT_STORIES)
        category = self.categories.get(story.category) or next(iter(self.categories.values()))
        store = next(s for s in self.stores if s.dealership.pk == order.dealership_id)
        manager = self._manager(store)
        advisors = {a.pk: a for a in store.advisors}
        # The people at the front desk are who a complaint is about, unless it is the work in the bay.
        involved = None if story.category in data.WORKSHOP_CATEGORIES else advisors.get(order.advisor_id)
        channel = self.pick(data.COMPLAINT_CHANNELS)
        received_by = {
            Complaint.Channel.ONLINE_FORM: None,  # the customer filed it on the public form
            Complaint.Channel.SUGGESTION_BOX: manager,
            Complaint.Channel.CARMAKER_HOTLINE: manager,
            Complaint.Channel.FOLLOW_UP_CALL: advisors.get(order.advisor_id) or manager,
        }.get(channel, self.rng.choice(store.advisors))
        colleagues = [a for a in store.advisors if a is not involved]
        if severity in (Severity.MAJOR, Severity.URGENT) or self.rng.random() < 0.5 or not colleagues:
            handler = manager
        else:
            handler = self.rng.choice(colleagues)
        return CasePlan(
            role=role,
            store=store,
            customer_id=customer_id,
            order_id=order.pk,
            story=story,
            category=category,
            channel=channel,
            severity=severity,
            received_at=received,
            received_by=received_by,
            handler=handler,
            staff_involved=involved,
        )

    def _manager(self, store: Store) -> User:
        return next(u for u in self.users if u.role == User.Role.MANAGER and u.dealership_id == store.dealership.pk)

    def _received_on(self, day: datetime.date) -> datetime.datetime:
        """Complaints come in while people are awake: 08:00–21:00, the store open or not."""
        return self.at(day, earliest=8 * 60, latest=21 * 60)

    # --- Working the cases ---------------------------------------------------------------

    def open_complaints(self, *, before: datetime.datetime) -> None:
        """Open and work the planned cases received before ``before``, in the
        order received (case numbers follow it). Each is worked to its last
        step at once, its steps dated as they happened."""
        batch = [p for p in self.complaint_plans if p.received_at < before]
        if not batch:
            return
        self.complaint_plans = self.complaint_plans[len(batch) :]
        # Read now: a tier-A customer's case starts one level up, as of the tier they have when it comes in.
        customers = Customer.objects.in_bulk([p.customer_id for p in batch])
        orders = RepairOrder.objects.select_related("vehicle").in_bulk([p.order_id for p in batch])
        with self.side_stream("complaint-steps"):
            for plan in batch:
                self._work(plan, customers[plan.customer_id], orders[plan.order_id])

    def complaints_finish(self) -> None:
        """What the 15-minute sweep makes of the open cases at the demo's today:
        due soon, breached and escalated (the store managers notified)."""
        if self.complaints_made:
            complaints_sla_sweep(now=self.now)

    def _work(self, plan: CasePlan, customer: Customer, order: RepairOrder) -> None:
        case = complaint_open(
            customer=customer,
            channel=plan.channel,
            category=plan.category,
            severity=plan.severity,
            description=plan.story.description,
            demand=plan.story.demand,
            by=plan.received_by,
            vehicle=order.vehicle,
            repair_order=order,
            received_at=plan.received_at,
            handler=plan.handler if plan.last_step != Status.RECEIVED else None,
            staff_involved=plan.staff_involved,
            carmaker_reference=self._carmaker_reference(plan),
        )
        self.complaints_made.append(case)
        if plan.last_step != Status.RECEIVED:
            with contextlib.suppress(_PastToday):
                self._progress(case, plan)

    def _progress(self, case: Complaint, plan: CasePlan) -> None:
        """Record the case, call the customer, then the steps of the plan. The
        severity the case was opened with sets the pace (a tier-A customer's
        case may have started one level up)."""
        rng, by, story = self.rng, plan.handler, plan.story
        pace = PACE[case.severity]
        case, t = self._step(
            case, Status.RECORDED, plan.received_at, by, pace, plan, minutes=STEP_MINUTES[Status.RECORDED]
        )
        t = self._later(t, CONTACT_MINUTES, pace, plan)
        case = complaint_contacted(complaint=case, by=by, note=rng.choice(data.CONTACT_NOTES), now=t)
        if plan.role == "paused":
            plan.last_step = rng.choice([Status.INVESTIGATED, Status.REMEDY_DECIDED])
        elif plan.role in ("breached", "due_soon"):
            plan.last_step = rng.choice([Status.RECORDED, Status.INVESTIGATED, Status.CAUSE_FOUND])
        case, t = self._steps_to(case, plan, t, by, pace)
        if plan.role == "paused":
            t = self._later(t, (20, 90), 1.0, plan)
            complaint_pause(
                complaint=case,
                by=by,
                waiting_on=story.waits_on or Complaint.WaitingOn.CUSTOMER,
                reason=story.wait_reason or "等客户确认到店时间",
                now=t,
            )
        if case.status != Status.CLOSED:
            return
        satisfied = plan.role != "reopened"
        t = self._verification_call(case, plan, t, satisfied=satisfied)
        if not satisfied:
            # The fix did not hold: the customer says so (on the verification call, or calling in).
            if Complaint.objects.filter(pk=case.pk, status=Status.CLOSED).exists():
                t = self._later(t, (3 * 1440, 12 * 1440), 1.0, plan)
                reason = rng.choice(data.REOPEN_REASONS)
                complaint_reopen(complaint=case, by=plan.received_by or by, reason=reason, now=t)
            case, t = self._steps_to(Complaint.objects.get(pk=case.pk), plan, t, by, pace, again=True)
            self._verification_call(case, plan, t, satisfied=True)

    def _verification_call(self, case: Complaint, plan: CasePlan, closed: datetime.datetime, *, satisfied: bool):
        """The call care made of the closing (``complaint_verification``), logged
        on its day through the call log, with the customer's score: satisfied
        closes the loop, dissatisfied reopens the case. A call due today or later
        is still in the queue. Returns when it was made (the closing time when
        there is no such call: the rule is off)."""
        task = (
            CareTask.objects.filter(complaint=case, kind=CareKind.COMPLAINT_VERIFICATION, status=CareTask.Status.OPEN)
            .select_related("assigned_to")
            .first()
        )
        if task is None:
            return closed
        day = max(task.due_date, timezone.localdate(closed))
        called = max(self.at(day, earliest=10 * 60, latest=17 * 60), closed + datetime.timedelta(minutes=30))
        if called >= self.now:
            raise _PastToday
        code = self.verification_outcomes.get("satisfied" if satisfied else "dissatisfied")
        if code is None:
            return closed
        score = self.rng.choice((4, 5, 5)) if satisfied else self.rng.choice((2, 3))
        notes = "客户表示问题已解决，对处理结果满意。" if satisfied else "客户反映问题又出现了，不满意。"
        care_call_log(
            task=task,
            outcome=CallOutcome(code=code, notes=notes, details={"satisfaction": score}),
            by=task.assigned_to or plan.handler,
            now=called,
        )
        return called

    def _steps_to(
        self, case, plan: CasePlan, t, by, pace, *, again: bool = False
    ) -> tuple[Complaint, datetime.datetime]:
        """Take the case from where it is up to ``plan.last_step``; returns it and when its last step was taken."""
        if plan.last_step == Status.RECORDED:
            return case, t
        story = plan.story
        prefix = "复查：" if again else ""
        data_of = {
            Status.INVESTIGATED: {"findings": prefix + story.findings},
            Status.CAUSE_FOUND: {"cause": story.cause},
            Status.REMEDY_DECIDED: {"remedy": story.remedy, "goodwill_cost": self._goodwill(story)},
            Status.CUSTOMER_NOTIFIED: {"customer_agreed": True, "customer_answer": story.answer},
            Status.CARRIED_OUT: {"action_taken": prefix + story.action},
            Status.FOLLOWED_UP: {"follow_up": story.follow_up},
            Status.CLOSED: {},
        }
        lesson_anyway = not again and self.rng.random() < LESSON_SHARE
        # Now and then the remedy takes longer than the clock allows (a late
        # part, a busy week): the case is closed late, after the sweep caught it.
        slow = plan.role in ("closed", "reopened") and self.rng.random() < SLOW_SHARE
        for step in STEPS_AFTER_RECORD[: STEPS_AFTER_RECORD.index(plan.last_step) + 1]:
            minutes = SLOW_MINUTES if slow and step == Status.CARRIED_OUT else STEP_MINUTES[step]
            if step == Status.CLOSED and lesson_anyway:
                data_of[step] = {"lesson": story.lesson}
            case, t = self._step(case, step, t, by, pace, plan, minutes=minutes, **data_of[step])
            # Parts to order, or the customer's time to find: the clock stops while the case waits.
            if step == Status.REMEDY_DECIDED and plan.role == "closed" and story.waits_on and self.rng.random() < 0.6:
                t = self._later(t, (20, 90), 1.0, plan)
                case = complaint_pause(
                    complaint=case, by=by, waiting_on=story.waits_on, reason=story.wait_reason, now=t
                )
                t = self._later(t, (1440, 3 * 1440), 1.0, plan)
                case = complaint_resume(complaint=case, by=by, note="已到货，安排施工", now=t)
        return case, t

    def _step(self, case, to: str, t, by, pace, plan: CasePlan, *, minutes, **step_data):
        """Take one step ``minutes`` (a range, at ``pace``) after ``t``; returns the case and when."""
        t = self._later(t, minutes, pace, plan)
        case = self._sweep_if_breached(case, before=t)
        if to == Status.CLOSED and case.severity in NEEDS_LESSON:
            # A serious case (a breach may have made it one on the way) closes with its lesson.
            step_data.setdefault("lesson", plan.story.lesson)
        case = complaint_transition(complaint=case, to=to, by=by, now=t, **step_data)
        return case, t

    def _sweep_if_breached(self, case: Complaint, *, before: datetime.datetime) -> Complaint:
        """The step comes after the case's resolution was due: the 15-minute
        sweep caught the breach first (escalated one level, the store manager
        notified). Run it as it ran then; the cases still open today are
        received after every closed one, so it finds this case alone."""
        due = case.resolution_due
        if due is None or case.paused_at is not None or case.resolution_breached_at is not None or before <= due:
            return case
        due = timezone.localtime(due).replace(second=0, microsecond=0)
        run = due + datetime.timedelta(minutes=15 - due.minute % 15)
        if run >= before:
            return case
        complaints_sla_sweep(now=run)
        return Complaint.objects.get(pk=case.pk)

    def _later(self, t: datetime.datetime, minutes: tuple[int, int], pace: float, plan: CasePlan) -> datetime.datetime:
        """``t`` plus some minutes, moved into the store's working hours on a day it is open;
        never at or after the demo's now (an open case's last step is yesterday at the latest)."""
        low, high = minutes
        t = timezone.localtime(t + datetime.timedelta(minutes=self.rng.randint(int(low * pace), int(high * pace))))
        store = plan.store.dealership
        opens, closes = OPENING_HOURS

        def morning(day: datetime.datetime) -> datetime.datetime:
            start = day.replace(hour=opens.hour, minute=opens.minute, second=0, microsecond=0)
            return start + datetime.timedelta(minutes=self.rng.randint(0, 40))

        while True:
            if t.time() < opens:
                t = morning(t)
            elif t.time() > closes:
                t = morning(t + datetime.timedelta(days=1))
            if str(t.isoweekday()) in store.open_weekdays:
                break
            t = morning(t + datetime.timedelta(days=1))
        if t >= self.now:
            raise _PastToday
        return t

    def _goodwill(self, story: data.ComplaintStory) -> str:
        low, high = story.goodwill
        return str(self.rng.randint(low, high)) if high else ""

    def _carmaker_reference(self, plan: CasePlan) -> str:
        if plan.channel != Complaint.Channel.CARMAKER_HOTLINE:
            return ""
        return f"CC{timezone.localtime(plan.received_at):%Y%m%d}{self.rng.randint(1000, 9999)}"
