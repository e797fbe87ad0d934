"""Reads of complaint cases for pages and for other apps (care's call panel)."""

from django.db.models import QuerySet

from complaints.models import Complaint


def customer_open_complaints(*, customer_ids) -> QuerySet[Complaint]:
    """Open (not closed) cases of these customers, newest first: the "open
    complaint" badge of the customer 360 and the call panel. One query."""
    return (
        Complaint.objects.filter(customer_id__in=customer_ids)
        .exclude(status=Complaint.Status.CLOSED)
        .only("pk", "number", "customer_id", "status", "severity", "received_at")
        .order_by("-received_at", "-pk")
    )
