"""What the advisor's workspace reads: the queue (one row per customer), its
counts, and the call panel. Every function runs a fixed number of queries,
whatever the size of the queue or of the customer's history."""

import dataclasses
import datetime

from django.conf import settings
from django.core.paginator import Page, Paginator
from django.db.models import Case, Count, IntegerField, Max, Min, Q, QuerySet, Value, When
from django.utils import timezone

from care.kinds.club import CardSummary, customer_card_summary
from care.registry import CareKind
from care.signals import POST_SERVICE
from care.touches.models import CareTask, Channel
from care.touches.selectors import care_task_render
from care.workspace.models import Contact, OutcomeCode
from care.workspace.planning import advisor_capacities
from care.workspace.services import DETAIL_FIELDS
from care.workspace.surveys import call_survey
from complaints.models import Complaint
from complaints.selectors import customer_open_complaints
from crm.calendar import working_days
from crm.models import User
from crm.tenancy import get_for_user_or_404, scope_for_user
from customers.models import Customer
from customers.selectors import customer_search_q
from service.models import RepairOrder
from vehicles.models import Vehicle

PER_PAGE = 25


@dataclasses.dataclass(frozen=True)
class QueueFilters:
    kind: str = ""
    tier: str = ""
    overdue: bool = False
    usage: str = ""
    q: str = ""
    advisor: int | None = None


@dataclasses.dataclass
class QueueRow:
    """One customer to call, with every reason due within the merge window."""

    customer: Customer
    tasks: list[CareTask]
    first_due: datetime.date
    priority: int
    overdue: bool

    @property
    def task(self) -> CareTask:
        return self.tasks[0]


@dataclasses.dataclass
class QueueCounts:
    by_kind: list[tuple[str, str, int, int]]  # kind, label, due, overdue (touches)
    to_do: int  # customers to call today (rows)
    overdue: int  # customers whose first touch is overdue
    done_today: int  # calls logged today


@dataclasses.dataclass
class QueueView:
    rows: list[QueueRow]
    page: Page
    counts: QueueCounts


def _own_touches(*, user: User, advisor: int | None) -> QuerySet[CareTask]:
    """Open call touches the user works: an advisor's own; a manager's store (or one advisor of it)."""
    tasks = scope_for_user(CareTask.objects.all(), user).filter(status=CareTask.Status.OPEN, channel=Channel.CALL)
    if user.role == User.Role.ADVISOR:
        return tasks.filter(assigned_to=user)
    return tasks.filter(assigned_to_id=advisor) if advisor else tasks


def planned_by(day: datetime.date, *, user: User) -> Q:
    """The calls of the day's plan: planned for the day or before (see
    ``care.workspace.planning``), or, for a touch the morning plan has not seen
    yet (made during the day), due by then. An advisor does not get the calls
    that overflowed their plan; the manager sees and gives them out."""
    # A call is never planned before it is due, so the due date bounds both
    # (and the queue's indexes on the due date keep answering).
    planned = Q(due_date__lte=day) & (Q(planned_for__lte=day) | Q(planned_for__isnull=True))
    return planned & Q(overflow=False) if user.role == User.Role.ADVISOR else planned


def _filtered(tasks: QuerySet[CareTask], filters: QueueFilters) -> QuerySet[CareTask]:
    if filters.kind:
        tasks = tasks.filter(kind=filters.kind)
    if filters.tier:
        tasks = tasks.filter(customer__value_tier=filters.tier)
    if filters.usage:
        tasks = tasks.filter(vehicle__usage=filters.usage)
    if filters.q:
        tasks = tasks.filter(customer__in=Customer.objects.filter(customer_search_q(filters.q)).values("pk"))
    return tasks


def care_queue(*, user: User, day: datetime.date, filters: QueueFilters, page: int | str = 1) -> QueueView:
    """The day's calls, one row per customer: tier A and high priority first, then the longest waiting."""
    own = _own_touches(user=user, advisor=filters.advisor)
    by_customer = Count("customer_id", distinct=True)
    late = Count("customer_id", distinct=True, filter=Q(due_date__lt=day))
    totals = own.filter(planned_by(day, user=user)).aggregate(to_do=by_customer, overdue=late)
    due = _filtered(own, filters).filter(planned_by(day, user=user))
    # Tier A first: a hashed lookup in the store's tier-A customers (read by
    # the (dealership, tier) index); a join would read the whole customer table.
    store_a = scope_for_user(Customer.objects.filter(value_tier=Customer.ValueTier.A), user).values("pk")
    tier_rank = Case(When(customer_id__in=store_a, then=Value(0)), default=Value(1), output_field=IntegerField())
    customers = (
        due.values("customer_id")
        .annotate(first_due=Min("due_date"), top=Max("priority"))
        .order_by(tier_rank, "-top", "first_due", "customer_id")
    )
    if filters.overdue:
        customers = customers.filter(first_due__lt=day)
    if any((filters.kind, filters.tier, filters.usage, filters.q)):
        count = due.aggregate(n=late if filters.overdue else by_customer)["n"]
    else:
        count = totals["overdue"] if filters.overdue else totals["to_do"]
    paginator = Paginator(customers, PER_PAGE)
    paginator.__dict__["count"] = count  # known already: no COUNT over the grouped query
    current = paginator.get_page(page)
    heads = {row["customer_id"]: row for row in current.object_list}
    window = datetime.timedelta(days=settings.CRM_CARE_MERGE_WINDOW_DAYS)
    tasks = (
        own.filter(customer_id__in=heads, due_date__lte=day + window)
        .select_related("customer", "vehicle__model", "rule", "assigned_to", "dealership")
        .order_by("due_date", "-priority", "pk")
    )
    grouped: dict[int, list[CareTask]] = {pk: [] for pk in heads}
    for task in tasks:
        head = heads[task.customer_id]
        if task.due_date < head["first_due"] + window:
            grouped[task.customer_id].append(task)
    rows = [
        QueueRow(
            customer=grouped[pk][0].customer,
            tasks=grouped[pk],
            first_due=head["first_due"],
            priority=head["top"],
            overdue=head["first_due"] < day,
        )
        for pk, head in heads.items()
        if grouped[pk]
    ]
    return QueueView(rows=rows, page=current, counts=_counts(own=own, user=user, day=day, totals=totals))


def _counts(*, own: QuerySet[CareTask], user: User, day: datetime.date, totals: dict) -> QueueCounts:
    labels = dict(CareKind.choices)
    due = own.filter(planned_by(day, user=user))
    per_kind = (
        due.values("kind").annotate(due=Count("pk"), late=Count("pk", filter=Q(due_date__lt=day))).order_by("kind")
    )
    by_kind = [(row["kind"], labels.get(row["kind"], row["kind"]), row["due"], row["late"]) for row in per_kind]
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    # A complaint raised from a call is noted as a contact of its own; the call is counted once, by its outcome.
    contacts = (
        scope_for_user(Contact.objects.all(), user)
        .filter(created_at__gte=start, channel=Contact.Channel.CALL)
        .exclude(details__has_key="complaint")
    )
    if user.role == User.Role.ADVISOR:
        contacts = contacts.filter(advisor=user)
    return QueueCounts(by_kind=by_kind, to_do=totals["to_do"], overdue=totals["overdue"], done_today=contacts.count())


def store_advisors(*, user: User) -> list[User]:
    """The advisors a manager can filter by or give calls to."""
    advisors = User.objects.filter(role=User.Role.ADVISOR, is_active=True)
    if not user.is_group_level:
        advisors = advisors.filter(dealership_id=user.dealership_id)
    return list(advisors.order_by("dealership_id", "first_name", "username"))


def care_task_get_for_user(*, user: User, pk: int) -> CareTask:
    """The call touch ``pk`` for its panel and its outcome, if ``user`` may work it.

    An advisor works the calls assigned to them; managers and store admins any
    call of their store; group-level users any call. Anything else, a colleague's
    call as much as another store's, is a 404. One query, the permission in its
    WHERE clause: the check costs nothing extra."""
    tasks = CareTask.objects.select_related("customer__advisor")
    if user.role == User.Role.ADVISOR:
        tasks = tasks.filter(assigned_to=user)
    return get_for_user_or_404(tasks, user, pk=pk)


def outcome_needs(code: OutcomeCode) -> list[str]:
    """The fields of the outcome form that ``code`` needs filled in, as
    ``care_call_log`` checks them: the appointment for "book", the day for
    "snooze", and the details the code asks."""
    needs = []
    if code.action == OutcomeCode.Action.BOOK:
        needs.append("appointment_at")
    if code.action == OutcomeCode.Action.SNOOZE:
        needs.append("follow_up_on")
    needs.extend(key for key in code.asks or [] if key in DETAIL_FIELDS)
    return needs


@dataclasses.dataclass
class VehicleDue:
    vehicle: Vehicle
    next_touches: list[CareTask]


@dataclasses.dataclass
class CallPanel:
    customer: Customer
    tasks: list[CareTask]
    script: str
    contacts: list[Contact]
    vehicles: list[VehicleDue]
    repair_orders: list[RepairOrder]
    outcomes: list[OutcomeCode]
    open_complaints: list[Complaint]
    card: CardSummary | None = None

    @property
    def has_winback(self) -> bool:
        """A win-back reason is on the call: the panel asks the win-back survey."""
        return any(t.kind == CareKind.WINBACK for t in self.tasks)

    @property
    def survey(self) -> str:
        """The satisfaction survey the call asks (``care.workspace.surveys.call_survey``), or ""."""
        return call_survey(t.kind for t in self.tasks)

    @property
    def survey_asks_csat(self) -> bool:
        """The after-service survey asks the satisfaction; the lapsed customers' only the recommend question."""
        return self.survey == POST_SERVICE

    @property
    def survey_fields(self) -> tuple[str, ...]:
        """The outcome form's fields the call's survey block shows (not among those an outcome needs)."""
        if not self.survey:
            return ()
        return ("satisfaction", "nps", "comment") if self.survey_asks_csat else ("nps", "comment")


def call_panel(*, task: CareTask, group: QuerySet[CareTask]) -> CallPanel:
    """Everything the advisor needs on the phone: who, why, what to say, what happened before."""
    tasks = list(
        group.select_related(
            "customer__advisor", "vehicle__model", "rule", "assigned_to", "dealership", "complaint"
        ).order_by("due_date", "-priority", "pk")
    )
    customer = tasks[0].customer if tasks else task.customer
    # The club card (one query, paid for by the customer's advisor coming with
    # the touches above); a renewal reason's script names the same card.
    card = customer_card_summary(customer=customer, day=timezone.localdate())
    for touch in tasks:
        if touch.kind == CareKind.MEMBERSHIP_RENEWAL and card is not None and touch.subject == card.card.number:
            touch._kind_context = card.placeholders
    upcoming: dict[int, list[CareTask]] = {}
    for touch in CareTask.objects.filter(
        customer=customer, status=CareTask.Status.OPEN, vehicle__isnull=False
    ).order_by("event_date")[:50]:
        upcoming.setdefault(touch.vehicle_id, []).append(touch)
    vehicles = [
        VehicleDue(vehicle=v, next_touches=upcoming.get(v.pk, [])[:3])
        for v in customer.vehicles.filter(status=Vehicle.Status.ACTIVE).select_related("model")
    ]
    script = "\n".join(f"{n}. {care_task_render(t, t.rule.call_script)}" for n, t in enumerate(tasks, 1))
    return CallPanel(
        customer=customer,
        tasks=tasks,
        script=script,
        contacts=list(customer.contacts.select_related("advisor", "outcome").order_by("-created_at", "-pk")[:5]),
        vehicles=vehicles,
        repair_orders=list(customer.repair_orders.select_related("vehicle").order_by("-opened_at")[:5]),
        outcomes=list(OutcomeCode.objects.filter(active=True)),
        open_complaints=list(customer_open_complaints(customer_ids=[customer.pk])),
        card=card,
    )


@dataclasses.dataclass
class BacklogRow:
    advisor: User
    capacity: int
    per_day: list[int]  # calls planned on each of ``Backlog.days``
    overflow: int  # calls with no room before they expire


@dataclasses.dataclass
class Backlog:
    days: list[datetime.date]
    rows: list[BacklogRow]


def care_backlog(*, user: User, day: datetime.date, days: int = 5, advisors: list[User] | None = None) -> Backlog:
    """For managers: each advisor's capacity, the calls planned for today and
    the next ``days`` working days, and the overflow. Four queries (three
    with ``advisors`` from ``store_advisors``)."""

    dates = [day, *working_days(day + datetime.timedelta(days=1), days)]
    advisors = store_advisors(user=user) if advisors is None else advisors
    tasks = scope_for_user(CareTask.objects.all(), user).filter(
        status=CareTask.Status.OPEN, channel=Channel.CALL, assigned_to__in=[a.pk for a in advisors]
    )
    planned = (
        tasks.filter(Q(planned_for__in=dates) | Q(overflow=True))
        .values("assigned_to_id", "planned_for", "overflow")
        .annotate(calls=Count("customer_id", distinct=True))
        .order_by()
    )
    counts: dict[tuple, int] = {}
    for row in planned:
        key = (row["assigned_to_id"], "overflow" if row["overflow"] else row["planned_for"])
        counts[key] = counts.get(key, 0) + row["calls"]
    caps = advisor_capacities([a.pk for a in advisors])
    rows = [
        BacklogRow(
            advisor=a,
            capacity=caps[a.pk],
            per_day=[counts.get((a.pk, d), 0) for d in dates],
            overflow=counts.get((a.pk, "overflow"), 0),
        )
        for a in advisors
    ]
    return Backlog(days=dates, rows=rows)
