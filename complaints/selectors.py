"""Reads of complaint cases for pages and for other apps (care's call panel)."""

import dataclasses
import datetime

from django.core.exceptions import FieldDoesNotExist
from django.core.paginator import Page, Paginator
from django.db import models
from django.db.models import Case, Count, F, IntegerField, Prefetch, Q, QuerySet, Value, When
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint, ComplaintEvent, ComplaintLesson
from crm.models import Notification, User
from crm.tenancy import scope_for_user
from service.models import Technician


def customer_open_complaints(*, customer_ids) -> QuerySet[Complaint]:
    """Open (not closed) cases of these customers, newest first: the "open
    complaint" badge of the customer 360 and the call panel. One query."""
    return (
        Complaint.objects.filter(customer_id__in=customer_ids)
        .exclude(status=Complaint.Status.CLOSED)
        .only("pk", "number", "customer_id", "status", "severity", "received_at")
        .order_by("-received_at", "-pk")
    )


# --- Who sees which case --------------------------------------------------------
def complaints_for_user(*, user) -> QuerySet[Complaint]:
    """The cases ``user`` may open: the store's (all for group level), and for
    an advisor only their own customers' cases and the ones they handle. Every
    page and action reads a case through this, so anything else is a 404."""
    cases = scope_for_user(Complaint.objects.all(), user)
    if getattr(user, "role", None) == User.Role.ADVISOR:
        cases = cases.filter(Q(customer__advisor=user) | Q(handler=user))
    return cases


def complaint_can_see(*, user, customer) -> bool:
    """Whether ``user`` sees this customer's cases (no query: the customer is in scope already)."""
    return user.role != User.Role.ADVISOR or customer.advisor_id == user.pk


# --- The SLA board --------------------------------------------------------------
class BoardState(models.TextChoices):
    """Where a case stands on the board: the stored SLA state, or paused when it waits."""

    BREACHED = Complaint.SlaState.BREACHED.value, Complaint.SlaState.BREACHED.label
    DUE_SOON = Complaint.SlaState.DUE_SOON.value, Complaint.SlaState.DUE_SOON.label
    ON_TRACK = Complaint.SlaState.ON_TRACK.value, Complaint.SlaState.ON_TRACK.label
    PAUSED = "paused", _("Paused")


# The board's order: what needs a manager first.
_STATE_RANK = {BoardState.BREACHED: 0, BoardState.DUE_SOON: 1, BoardState.ON_TRACK: 2, BoardState.PAUSED: 3}


def _state_filter(state: str) -> Q:
    if state == BoardState.PAUSED:
        return Q(paused_at__isnull=False)
    return Q(paused_at__isnull=True, sla_state=state)


@dataclasses.dataclass(frozen=True)
class BoardFilters:
    state: str = ""
    severity: str = ""
    category: int | None = None
    channel: str = ""
    status: str = ""
    handler: int | None = None
    advisor: int | None = None  # the repair order's advisor or the customer's
    technician: int | None = None


@dataclasses.dataclass
class Board:
    page: Page
    counts: dict[str, int]  # per BoardState value, under the filters other than the state
    states: list[tuple[str, str, int]]  # (value, label, count), in board order


def _with_clock_facts(case: Complaint, now: datetime.datetime) -> Complaint:
    """The figures a row shows, set on the case: its board state, age and next due time."""
    case.board_state = BoardState.PAUSED.value if case.paused_at else case.sla_state
    case.board_state_label = BoardState(case.board_state).label
    case.age_days = (now - case.received_at).days
    pending = [
        due
        for due, met in (
            (case.acknowledge_due, case.acknowledged_at),
            (case.first_contact_due, case.first_contacted_at),
            (None if case.paused_at else case.resolution_due, None),
        )
        if due is not None and met is None
    ]
    case.next_due = min(pending) if pending else None
    case.next_due_late = case.next_due is not None and case.next_due <= now
    # A waiting case shows as paused; a breach it carries stays visible beside it.
    case.breached_while_paused = case.paused_at is not None and case.sla_state == Complaint.SlaState.BREACHED
    return case


def complaint_board(*, user, filters: BoardFilters, page: int | str = 1, per_page: int = 50) -> Board:
    """The open cases ``user`` may see, by SLA state (breached first), with the
    counts per state: one query for the counts (which also give the
    paginator its total), one for the page."""
    cases = complaints_for_user(user=user).exclude(status=Complaint.Status.CLOSED)
    if filters.severity:
        cases = cases.filter(severity=filters.severity)
    if filters.category:
        cases = cases.filter(category_id=filters.category)
    if filters.channel:
        cases = cases.filter(channel=filters.channel)
    if filters.status:
        cases = cases.filter(status=filters.status)
    if filters.handler:
        cases = cases.filter(handler_id=filters.handler)
    if filters.advisor:
        cases = cases.filter(Q(repair_order__advisor_id=filters.advisor) | Q(customer__advisor_id=filters.advisor))
    if filters.technician:
        cases = cases.filter(repair_order__technician_id=filters.technician)
    counts = cases.aggregate(**{state: Count("pk", filter=_state_filter(state)) for state in BoardState.values})
    if filters.state:
        cases = cases.filter(_state_filter(filters.state))
    rank = Case(
        When(paused_at__isnull=False, then=Value(_STATE_RANK[BoardState.PAUSED])),
        *[When(sla_state=state, then=Value(r)) for state, r in _STATE_RANK.items() if state != BoardState.PAUSED],
        default=Value(9),
        output_field=IntegerField(),
    )
    rows = (
        cases.select_related(
            "customer",
            "customer__advisor",
            "vehicle",
            "repair_order",
            "repair_order__advisor",
            "repair_order__technician",
            "category",
            "handler",
        )
        .annotate(board_rank=rank)
        .order_by("board_rank", F("resolution_due").asc(nulls_last=True), "received_at", "pk")
    )
    paginator = Paginator(rows, per_page)
    # The counts per state already hold the total: no second COUNT query.
    paginator.count = counts[filters.state] if filters.state else sum(counts.values())
    page_obj = paginator.get_page(page)
    now = timezone.now()
    for case in page_obj.object_list:
        _with_clock_facts(case, now)
    return Board(
        page=page_obj,
        counts=counts,
        states=[(state.value, state.label, counts[state.value]) for state in BoardState],
    )


def board_choices(*, user) -> tuple[list[User], list[Technician]]:
    """Staff (handlers and advisors) and technicians the board filters by: two queries."""
    staff = list(
        scope_for_user(User.objects.filter(is_active=True), user)
        .only("pk", "username", "first_name", "last_name")
        .order_by("last_name", "first_name", "pk")
    )
    technicians = list(
        scope_for_user(Technician.objects.filter(active=True), user).only("pk", "name").order_by("name", "pk")
    )
    return staff, technicians


def staff_unread_notifications(*, user, limit: int = 20) -> list[Notification]:
    """The user's unread notifications (escalated cases, …), newest first: one query."""
    return list(Notification.objects.filter(user=user, read_at__isnull=True).order_by("-created_at", "-pk")[:limit])


# --- One case -------------------------------------------------------------------
def complaint_get_for_user(*, user, pk: int) -> Complaint:
    """The case page's case with everything its header shows (one query, and
    one for its follow-up cases); outside what the user may see, a 404."""
    cases = complaints_for_user(user=user).select_related(
        "customer",
        "customer__advisor",
        "vehicle",
        "vehicle__model",
        "repair_order",
        "repair_order__advisor",
        "repair_order__technician",
        "category",
        "handler",
        "staff_involved",
        "received_by",
        "parent",
        "lesson",
    )
    cases = cases.prefetch_related(
        Prefetch("follow_ups", queryset=Complaint.objects.only("pk", "number", "status", "parent_id"))
    )
    return get_object_or_404(cases, pk=pk)


def complaint_lesson_or_none(case: Complaint) -> ComplaintLesson | None:
    """The case's lesson, read from what ``complaint_get_for_user`` joined (no query)."""
    try:
        return case.lesson
    except ComplaintLesson.DoesNotExist:
        return None


@dataclasses.dataclass(frozen=True)
class Clock:
    name: str
    label: str
    due: datetime.datetime | None
    met_at: datetime.datetime | None
    late: bool
    escalated_at: datetime.datetime | None = None
    paused_at: datetime.datetime | None = None
    waiting_on: str = ""
    pause_reason: str = ""


def complaint_clocks(case: Complaint, *, now: datetime.datetime | None = None) -> list[Clock]:
    """The three SLA clocks of a case: due, met, late, escalated, paused (no query)."""
    now = now or timezone.now()

    def late(due, met) -> bool:
        return due is not None and (met or now) > due

    resolved = case.closed_at if case.status == Complaint.Status.CLOSED else None
    return [
        Clock(
            "acknowledge",
            _("Acknowledge"),
            case.acknowledge_due,
            case.acknowledged_at,
            late(case.acknowledge_due, case.acknowledged_at),
            case.response_breached_at if late(case.acknowledge_due, case.acknowledged_at) else None,
        ),
        Clock(
            "first_contact",
            _("First contact with the customer"),
            case.first_contact_due,
            case.first_contacted_at,
            late(case.first_contact_due, case.first_contacted_at),
            case.response_breached_at if late(case.first_contact_due, case.first_contacted_at) else None,
        ),
        Clock(
            "resolution",
            _("Resolution"),
            case.resolution_due,
            resolved,
            case.paused_at is None and late(case.resolution_due, resolved),
            case.resolution_breached_at,
            case.paused_at,
            case.get_waiting_on_display() if case.waiting_on else "",
            case.pause_reason,
        ),
    ]


# The case's fields each step fills, in the loop's order (the lesson after).
_STEP_FIELDS = (
    "findings",
    "cause",
    "remedy",
    "goodwill_cost",
    "customer_agreed",
    "customer_answer",
    "action_taken",
    "follow_up",
)


def complaint_step_record(case: Complaint) -> list[tuple[str, str]]:
    """What the steps recorded so far, as (label, value) lines (no query)."""
    lines = []
    for name in _STEP_FIELDS:
        value = getattr(case, name)
        if value in (None, ""):
            continue
        if isinstance(value, bool):
            value = gettext("Yes") if value else gettext("No")
        lines.append((str(Complaint._meta.get_field(name).verbose_name), str(value)))
    lesson = complaint_lesson_or_none(case)
    if lesson is not None:
        lines.append((str(ComplaintLesson._meta.get_field("what_changes").verbose_name), lesson.what_changes))
        if lesson.prevention:
            lines.append((str(ComplaintLesson._meta.get_field("prevention").verbose_name), lesson.prevention))
    return lines


def _event_details(event: ComplaintEvent) -> list[tuple[str, str]]:
    """An event's data as (label, value): the case field's name where it is one."""
    details = []
    for key, value in (event.data or {}).items():
        try:
            label = str(Complaint._meta.get_field(key).verbose_name)
        except FieldDoesNotExist:
            label = key.replace("_", " ")
        if key in ("severity", "to_severity") and value in Complaint.Severity.values:
            value = Complaint.Severity(value).label
        if key == "waiting_on" and value in Complaint.WaitingOn.values:
            value = Complaint.WaitingOn(value).label
        if key == "customer_agreed":
            value = gettext("Yes") if value == "True" else gettext("No")
        details.append((label, str(value)))
    return details


def complaint_timeline(*, complaint: Complaint) -> list[ComplaintEvent]:
    """The case's events, oldest first, with who did them: one query."""
    events = list(complaint.events.select_related("by").order_by("at", "pk"))
    for event in events:
        event.details = _event_details(event)
    return events


def store_staff(*, dealership_id: int) -> list[User]:
    """The store's active staff: who may handle its cases, or be the one a case is about (one query)."""
    return list(
        User.objects.filter(dealership_id=dealership_id, is_active=True)
        .only("pk", "username", "first_name", "last_name")
        .order_by("last_name", "first_name", "pk")
    )


# --- Lessons learned -------------------------------------------------------------
def complaint_lessons(*, user, q: str = "") -> QuerySet[ComplaintLesson]:
    """The lessons of the user's stores, newest first, searched over what changes,
    the prevention and the case's category."""
    lessons = scope_for_user(ComplaintLesson.objects.all(), user).select_related(
        "complaint", "complaint__category", "created_by"
    )
    q = q.strip()
    if q:
        lessons = lessons.filter(
            Q(what_changes__icontains=q)
            | Q(prevention__icontains=q)
            | Q(complaint__category__label__icontains=q)
            | Q(complaint__number__icontains=q)
        )
    return lessons.order_by("-created_at", "-pk")


# --- The customer 360 -----------------------------------------------------------
PAST_CASES_ON_360 = 5


def customer_complaints_overview(*, customer) -> tuple[list[Complaint], list[Complaint]]:
    """The customer's open cases (all) and last closed cases, in one query: the
    open ones are ``customer_open_complaints``, the closed ones a LIMIT subquery."""
    open_ids = customer_open_complaints(customer_ids=[customer.pk]).values("pk")
    past_ids = (
        Complaint.objects.filter(customer_id=customer.pk, status=Complaint.Status.CLOSED)
        .order_by("-closed_at", "-pk")
        .values("pk")[:PAST_CASES_ON_360]
    )
    rows = list(
        Complaint.objects.filter(Q(pk__in=open_ids) | Q(pk__in=past_ids))
        .select_related("category")
        .only(
            "pk",
            "number",
            "customer_id",
            "status",
            "severity",
            "received_at",
            "closed_at",
            "sla_state",
            "paused_at",
            "handler",
            "category__label",
        )
        .order_by("-received_at", "-pk")
    )
    open_cases = [c for c in rows if c.status != Complaint.Status.CLOSED]
    past = sorted((c for c in rows if c.status == Complaint.Status.CLOSED), key=lambda c: (c.closed_at, c.pk))
    return open_cases, list(reversed(past))
