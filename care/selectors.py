import dataclasses
import datetime

from django.conf import settings
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from care.models import CareTask, Channel, Outbox, WeatherAlert
from care.templating import render
from crm.models import Dealership
from crm.tenancy import scope_for_user


@dataclasses.dataclass
class CallGroup:
    """A customer's call touches due within the merge window: one call, every reason."""

    customer: object
    tasks: list[CareTask]

    @property
    def first_due(self) -> datetime.date:
        return self.tasks[0].due_date

    @property
    def priority(self) -> int:
        return max(t.priority for t in self.tasks)

    @property
    def script(self) -> str:
        """One combined script: the greeting once, then each reason's script."""
        return "\n".join(f"{n}. {care_task_render(t, t.rule.call_script)}" for n, t in enumerate(self.tasks, 1))


def care_task_context(task: CareTask) -> dict:
    customer, vehicle, advisor, store = task.customer, task.vehicle, task.assigned_to, task.dealership
    return {
        "name": customer.name,
        "title": customer.title,
        "plate": vehicle.plate_number if vehicle else "",
        "model": str(vehicle.model) if vehicle else "",
        "due_date": task.event_date.isoformat(),
        "mileage": vehicle.current_mileage if vehicle else "",
        "advisor": advisor.display_name if advisor else "",
        "advisor_phone": advisor.phone if advisor else "",
        "dealership": store.name,
        "booking_phone": store.booking_phone,
        "rescue_phone": store.rescue_phone,
        "item": task.subject,
        "price": task.amount if task.amount is not None else "",
    }


def care_task_render(task: CareTask, template: str) -> str:
    return render(template, care_task_context(task))


def care_queue_tasks(*, user, day: datetime.date) -> QuerySet[CareTask]:
    """Open touches an advisor should work by ``day`` (managers: the whole store)."""
    window = datetime.timedelta(days=settings.CRM_CARE_MERGE_WINDOW_DAYS)
    qs = scope_for_user(CareTask.objects.all(), user).filter(status=CareTask.Status.OPEN, due_date__lte=day + window)
    if user.role == user.Role.ADVISOR:
        qs = qs.filter(assigned_to=user)
    return qs.select_related("customer", "vehicle__model", "rule", "assigned_to", "dealership").order_by(
        "customer_id", "due_date", "pk"
    )


def care_call_groups(*, tasks: list[CareTask], day: datetime.date) -> list[CallGroup]:
    """Group a customer's call touches that fall within the merge window of the
    first one; only groups whose first touch is due by ``day`` are worked today."""
    window = settings.CRM_CARE_MERGE_WINDOW_DAYS
    groups: list[CallGroup] = []
    for task in tasks:
        if task.channel != Channel.CALL:
            continue
        last = groups[-1] if groups else None
        if last and last.customer.pk == task.customer_id and (task.due_date - last.first_due).days < window:
            last.tasks.append(task)
        else:
            groups.append(CallGroup(customer=task.customer, tasks=[task]))
    today = [g for g in groups if g.first_due <= day]
    return sorted(today, key=lambda g: (-g.priority, g.first_due, g.customer.pk))


def outbox_daily_counts(*, user, days: int) -> list[dict]:
    """Messages queued on each of the last ``days`` days and what became of them, newest first."""
    since = timezone.now() - datetime.timedelta(days=days)
    sent = [Outbox.Status.SENT, Outbox.Status.DELIVERED]
    return list(
        scope_for_user(Outbox.objects.all(), user)
        .filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values("day")
        .annotate(
            total=Count("pk"),
            sent=Count("pk", filter=Q(status__in=sent)),
            delivered=Count("pk", filter=Q(status=Outbox.Status.DELIVERED)),
            failed=Count("pk", filter=Q(status=Outbox.Status.FAILED)),
            suppressed=Count("pk", filter=Q(status=Outbox.Status.SUPPRESSED)),
            waiting=Count("pk", filter=Q(status__in=[Outbox.Status.QUEUED, Outbox.Status.SENDING])),
        )
        .order_by("-day")
    )


def customer_messages(*, customer, limit: int = 30) -> list[Outbox]:
    """The customer's latest messages, suppressed ones included, for the timeline."""
    return list(Outbox.objects.filter(customer=customer).order_by("-created_at", "-pk")[:limit])


def weather_alerts_in_force(*, user, now: datetime.datetime) -> list[WeatherAlert]:
    """Severe weather where the user's dealership is (group users: everywhere), for the queue's banner."""
    alerts = (
        WeatherAlert.objects.filter(status=WeatherAlert.Status.ACTIVE, effective_at__lte=now)
        .exclude(message_type="cancel")
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .select_related("location")
        .order_by("-colour_rank", "-effective_at")
    )
    if not user.is_group_level:
        home = Dealership.objects.filter(pk=user.dealership_id).values("city")
        alerts = alerts.filter(location__city__in=home)
    return list(alerts[:5])
