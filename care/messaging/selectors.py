import datetime

from django.db.models import Count, Q
from django.db.models.functions import TruncDate
from django.utils import timezone

from care.messaging.models import Outbox
from crm.tenancy import scope_for_user


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
