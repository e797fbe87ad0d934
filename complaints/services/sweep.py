"""The 15-minute SLA sweep: due soon, breached, escalated once."""

import dataclasses
import datetime
import itertools

from django.conf import settings
from django.core import mail
from django.db import transaction
from django.db.models import Case, F, Q, Value, When
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from complaints.models import (
    SEVERITY_ORDER,
    Complaint,
    ComplaintEvent,
    severity_above,
)
from complaints.services.clocks import SlaState, Status
from crm.models import Notification, User


# --- The 15-minute sweep --------------------------------------------------------
@dataclasses.dataclass
class SweepReport:
    escalated: int = 0
    due_soon: int = 0
    notified: int = 0


def _pending_response(now) -> Q:
    return Q(acknowledged_at__isnull=True, acknowledge_due__lte=now) | Q(
        first_contacted_at__isnull=True, first_contact_due__lte=now
    )


def _pending_resolution(now) -> Q:
    return Q(paused_at__isnull=True, resolution_due__lte=now)


def complaints_sla_sweep(*, now: datetime.datetime | None = None) -> SweepReport:
    """Every 15 minutes (beat): escalate each breached clock once, then mark
    every open case on track, due soon or breached.

    Set-based: per clock one locking SELECT of the breached cases, one UPDATE
    (severity up one level, the breach time set), one INSERT of their events
    and one of the store managers' notifications, and one e-mail batch; then one
    UPDATE per state. The breach time is the "once": a case whose clock is
    already escalated is not selected again, and two runs at once queue on
    the row locks and find it done."""
    now = now or timezone.now()
    with translation.override(settings.LANGUAGE_CODE):
        return _sweep(now)


def _sweep(now: datetime.datetime) -> SweepReport:
    report = SweepReport()
    open_cases = Complaint.objects.exclude(status=Status.CLOSED)
    next_level = Case(
        *[When(severity=low, then=Value(high)) for low, high in itertools.pairwise(SEVERITY_ORDER)],
        default=F("severity"),
    )
    clocks = [
        ("response_breached_at", _pending_response(now), _("Response time breached")),
        ("resolution_breached_at", _pending_resolution(now), _("Resolution time breached")),
    ]
    for field, pending, label in clocks:
        with transaction.atomic():
            breached = list(
                open_cases.filter(pending, **{f"{field}__isnull": True})
                .select_for_update(of=("self",))
                .values("pk", "number", "status", "severity", "dealership_id")
                .order_by("pk")
            )
            if not breached:
                continue
            ids = [row["pk"] for row in breached]
            Complaint.objects.filter(pk__in=ids).update(
                **{field: now}, severity=next_level, sla_state=SlaState.BREACHED
            )
            ComplaintEvent.objects.bulk_create(
                [
                    ComplaintEvent(
                        complaint_id=row["pk"],
                        from_status=row["status"],
                        to_status=row["status"],
                        action=ComplaintEvent.Action.ESCALATED,
                        note=str(label),
                        data={"severity": row["severity"], "to_severity": severity_above(row["severity"])},
                        at=now,
                    )
                    for row in breached
                ]
            )
            report.escalated += len(breached)
            report.notified += _notify_managers(breached, label, now)
    marked = open_cases.exclude(sla_state=SlaState.BREACHED)
    report.due_soon = (
        marked.filter(sla_state=SlaState.ON_TRACK)
        .filter(
            Q(acknowledged_at__isnull=True, acknowledge_warn_at__lte=now)
            | Q(first_contacted_at__isnull=True, first_contact_warn_at__lte=now)
            | Q(paused_at__isnull=True, resolution_warn_at__lte=now)
        )
        .update(sla_state=SlaState.DUE_SOON)
    )
    # A case whose near clocks were met since is on track again.
    marked.filter(sla_state=SlaState.DUE_SOON).exclude(
        Q(acknowledged_at__isnull=True, acknowledge_warn_at__lte=now)
        | Q(first_contacted_at__isnull=True, first_contact_warn_at__lte=now)
        | Q(paused_at__isnull=True, resolution_warn_at__lte=now)
    ).update(sla_state=SlaState.ON_TRACK)
    return report


def _notify_managers(breached: list[dict], label, now) -> int:
    """The store managers of the breached cases: a notification each in the app
    and one e-mail per manager with their cases (two queries and one batch)."""
    stores = {row["dealership_id"] for row in breached}
    managers = list(
        User.objects.people()
        .filter(dealership_id__in=stores, role=User.Role.MANAGER, is_active=True)
        .only("pk", "email", "dealership_id")
    )
    by_store: dict[int, list[User]] = {}
    for manager in managers:
        by_store.setdefault(manager.dealership_id, []).append(manager)
    notes, mails = [], {}
    for row in breached:
        for manager in by_store.get(row["dealership_id"], []):
            title = f"{label}: {row['number']}"
            notes.append(
                Notification(
                    user=manager,
                    dealership_id=row["dealership_id"],
                    title=title,
                    url=reverse("complaints:detail", args=[row["pk"]]),
                    created_at=now,
                )
            )
            if manager.email:
                mails.setdefault(manager.email, []).append(title)
    Notification.objects.bulk_create(notes)
    messages = [
        mail.EmailMessage(subject=str(label), body="\n".join(lines), to=[address]) for address, lines in mails.items()
    ]
    if messages:
        mail.get_connection().send_messages(messages)
    return len(notes)
