"""Care's answers to what complaints and the club announce
(``complaints.signals``, ``loyalty.signals``): they do not know care, care
listens. Connected in ``CareConfig.ready``.

Each receiver runs inside the transaction of the change, so the touches and
messages it makes commit or roll back with the case."""

import logging

from django.conf import settings
from django.db.models import Q
from django.utils.translation import gettext as _

from care.engine.services import care_touches_make_now
from care.kinds.club_event_invite import event_occasion, invitees
from care.messaging.services import outbox_enqueue
from care.registry import CareKind
from care.touches.models import CareTask
from care.touches.services import care_tasks_transition
from complaints.models import Complaint
from loyalty.models import ClubEvent, MembershipCard, Referral

# Customers per statement when an invitation goes to many.
_INVITE_CHUNK = 2000

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


# --- The club ---------------------------------------------------------------------------------
def welcome_send(sender, card: MembershipCard, now=None, **kwargs) -> int:
    """A card started (joined at the desk, upgraded): its welcome message made
    and queued at once (``care.kinds.membership_welcome``); the morning run
    makes those of the cards the night made in bulk, which announce nothing."""
    made = care_touches_make_now(
        kind=CareKind.MEMBERSHIP_WELCOME, dealership_id=card.dealership_id, narrow=Q(pk=card.pk), now=now
    )
    if made:
        outbox_enqueue(
            tasks=CareTask.objects.filter(customer_id=card.customer_id, kind=CareKind.MEMBERSHIP_WELCOME), now=now
        )
    return made


def referral_thanks_make(sender, referral: Referral, now=None, **kwargs) -> int:
    """A referral was rewarded: the thanks to the referrer made at once
    (``care.kinds.referral_thanks``); a message rule's is queued too."""
    made = care_touches_make_now(
        kind=CareKind.REFERRAL_THANKS, dealership_id=referral.dealership_id, narrow=Q(pk=referral.pk), now=now
    )
    if made:
        outbox_enqueue(
            tasks=CareTask.objects.filter(customer_id=referral.referrer_id, kind=CareKind.REFERRAL_THANKS), now=now
        )
    return made


def club_invitations_send(sender, event: ClubEvent, customer_ids, now=None, **kwargs) -> int:
    """A manager invited customers to a club event: a marketing SMS to those
    who agreed to marketing messages and did not opt out
    (``care.kinds.club_event_invite``), queued at once; returns how many
    invitations were made (an invitation sent before is not made again)."""
    ids = sorted({int(pk) for pk in customer_ids})
    made = 0
    for start in range(0, len(ids), _INVITE_CHUNK):
        chunk = ids[start : start + _INVITE_CHUNK]
        made += care_touches_make_now(
            kind=CareKind.CLUB_EVENT_INVITE,
            dealership_id=event.dealership_id,
            narrow=Q(),
            now=now,
            rows=lambda run, chunk=chunk: invitees(run, event=event, customer_ids=chunk),
        )
    if made:
        outbox_enqueue(
            tasks=CareTask.objects.filter(kind=CareKind.CLUB_EVENT_INVITE, occasion=event_occasion(event)), now=now
        )
    return made
