"""The care app's sections of the customer's page (see customers.panels)."""

from django.db.models import Case, IntegerField, Prefetch, Value, When, prefetch_related_objects

from care.messaging.selectors import customer_messages
from care.touches.models import CareTask, CareTaskEvent
from care.workspace.models import Contact
from customers.panels import Panel, register


def _history_line(event: CareTaskEvent) -> None:
    """The words of one line of a touch's history, set on the event for the template."""
    event.from_word = event.get_from_status_display()
    event.to_word = event.get_to_status_display()
    event.why = event.reason or event.get_outcome_display()
    event.who = event.by.display_name if event.by else event.get_job_display()


def touches_context(*, customer, user) -> dict:
    """Open touches first (soonest first), then the latest closed ones with
    their history: one query, and one more for the closed touches' events."""
    is_open = Case(When(status=CareTask.Status.OPEN, then=Value(0)), default=Value(1), output_field=IntegerField())
    touches = list(
        CareTask.objects.filter(customer=customer)
        .select_related("vehicle", "assigned_to")
        .annotate(closed_last=is_open)
        .order_by("closed_last", "due_date", "-pk")[:60]
    )
    past = sorted((t for t in touches if t.status != CareTask.Status.OPEN), key=lambda t: t.closed_at or t.created_at)
    past = list(reversed(past))[:20]
    # Only closed touches have events (a touch moves from open, never back).
    events = CareTaskEvent.objects.select_related("by").order_by("at", "pk")
    prefetch_related_objects(past, Prefetch("events", queryset=events, to_attr="history"))
    for touch in past:
        for event in touch.history:
            _history_line(event)
    return {
        "open_touches": [t for t in touches if t.status == CareTask.Status.OPEN],
        "past_touches": past,
    }


def contacts_context(*, customer, user) -> dict:
    contacts = (
        Contact.objects.filter(customer=customer)
        .select_related("advisor", "outcome", "appointment")
        .order_by("-created_at", "-pk")[:30]
    )
    return {"contacts": list(contacts)}


def messages_context(*, customer, user) -> dict:
    return {
        "messages_sent": customer_messages(customer=customer),
        "consent_changes": list(customer.consent_changes.select_related("recorded_by")[:20]),
    }


def register_panels() -> None:
    register(Panel("care-contacts", "care/panels/contacts.html", contacts_context, order=10))
    register(Panel("care-touches", "care/panels/touches.html", touches_context, order=20))
    register(Panel("care-messages", "care/panels/messages.html", messages_context, order=30))
