"""Care's answers to what complaints announces (``complaints.signals``):
complaints does not know care, care listens. Connected in ``CareConfig.ready``.

Each receiver runs inside the transaction of the change, so the touches and
messages it makes commit or roll back with the case."""

import logging

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from care.engine.services import care_touches_make_now
from care.messaging.services import outbox_enqueue
from care.registry import CareKind
from care.touches.models import CareTask
from care.touches.services import care_tasks_transition
from complaints.models import Complaint

logger = logging.getLogger(__name__)


def verification_call_make(sender, complaint: Complaint, now=None, **kwargs) -> None:
    """A case closed: its verification call, due the next working day (``care.kinds.complaint_verification``)."""
    care_touches_make_now(
        kind=CareKind.COMPLAINT_VERIFICATION,
        dealership_id=complaint.dealership_id,
        narrow=Q(t_complaint=complaint.pk),
        now=now,
    )


def verification_call_cancel(sender, complaint: Complaint, by=None, now=None, **kwargs) -> None:
    """A case reopened before its verification call: the call has nothing to
    verify any more (closing it again makes a new one)."""
    care_tasks_transition(
        tasks=CareTask.objects.filter(
            complaint=complaint, kind=CareKind.COMPLAINT_VERIFICATION, status=CareTask.Status.OPEN
        ),
        to=CareTask.Status.CANCELLED,
        outcome=CareTask.Outcome.INAPPLICABLE,
        by=by,
        reason=_("The case was reopened."),
        now=now,
    )


def receipt_send(sender, complaint: Complaint, now=None, **kwargs) -> None:
    """A case from the public form: the acknowledgement SMS with its number and
    status link, queued at once (``care.kinds.complaint_receipt``); the outbox
    sends it within the minute, outside quiet hours."""
    if complaint.channel != Complaint.Channel.ONLINE_FORM:
        return
    made = care_touches_make_now(
        kind=CareKind.COMPLAINT_RECEIPT,
        dealership_id=complaint.dealership_id,
        narrow=Q(t_complaint=complaint.pk),
        now=now,
    )
    if not made:
        return
    if not getattr(settings, "CRM_COMPLAINT_PUBLIC_BASE_URL", ""):
        logger.warning("CRM_COMPLAINT_PUBLIC_BASE_URL is not set: the acknowledgement's status link has no host")
    outbox_enqueue(tasks=CareTask.objects.filter(complaint=complaint, kind=CareKind.COMPLAINT_RECEIPT), now=now)
