import datetime

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from care.models import CareTask, Outbox, WeatherAlert
from care.templating import render
from crm.models import Dealership
from crm.tenancy import scope_for_user


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
