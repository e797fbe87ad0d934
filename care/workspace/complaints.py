"""The loop between the advisor's calls and complaint cases (issue 11):

- a call's outcome marked *dissatisfied* reopens the case of a verification
  call (``care.kinds.complaint_verification``) and opens a case from a
  post-repair day-3 call (``complaint_loop_after_call``, called by
  ``care_call_log``: the one place of the rule);
- the advisor raises a case from any call by hand (``care_complaint_raise``).

Care sits above complaints: it calls complaints' services, never the other way.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from care.registry import CareKind
from care.touches.models import CareTask
from care.workspace.models import Contact, OutcomeCode
from complaints.models import Complaint, ComplaintCategory
from complaints.services import complaint_open, complaint_reopen
from crm.models import User
from service.models import RepairOrder

SATISFIED_FROM = 4  # a score of 4 or 5 is satisfied; 1 to 3 is not
POST_REPAIR_CATEGORY = "repair_quality"


def satisfaction_errors(*, code: OutcomeCode, score) -> list[str]:
    """What is wrong with a satisfaction score given with ``code`` (nothing when
    there is no score). The score decides: 1–3 is dissatisfied, 4–5 satisfied,
    and an outcome that says otherwise is refused rather than guessed at, so a
    contact's outcome and its score never disagree."""
    if score in (None, ""):
        return []
    try:
        value = int(str(score).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= 5:
        return [_("Enter a score from 1 to 5.")]
    if value < SATISFIED_FROM and not code.dissatisfied:
        return [_("A score of 1 to 3 means the customer is not satisfied: choose an outcome marked dissatisfied.")]
    if value >= SATISFIED_FROM and code.dissatisfied:
        return [_("A score of 4 or 5 means the customer is satisfied: choose a satisfied outcome.")]
    return []


def _category(code: str) -> ComplaintCategory:
    category = ComplaintCategory.objects.filter(code=code, active=True).first()
    category = category or ComplaintCategory.objects.filter(active=True).first()
    if category is None:
        raise ValidationError(_("No complaint category is in use: ask an administrator to add one."))
    return category


def complaint_loop_after_call(
    *,
    group: list[CareTask],
    contact: Contact,
    code: OutcomeCode,
    by: User,
    notes: str,
    score: int | None,
    now: datetime.datetime | None = None,
) -> list[Complaint]:
    """What a dissatisfied outcome does to the cases, for the touches of the
    call: the case of a verification touch reopens (``complaint_reopen``: within
    30 days the case itself, after that a new case linked to it), a post-repair
    day-3 touch opens a case about its repair order (repair quality, normal
    severity; a tier-A customer's starts one higher) unless that order already
    has an open case. The cases are noted on the contact
    (``details["complaints"]``). Runs in ``care_call_log``'s transaction: a
    refused case leaves the call unlogged. Returns the cases."""
    if not code.dissatisfied:
        return []
    said = notes.strip()
    cases: list[Complaint] = []
    to_verify = {t.complaint_id for t in group if t.kind == CareKind.COMPLAINT_VERIFICATION and t.complaint_id}
    if to_verify:
        reason = " ".join(
            filter(None, [said, _("Satisfaction %(score)s/5.") % {"score": score} if score else "", code.label])
        )
        for case in Complaint.objects.filter(pk__in=to_verify, status=Complaint.Status.CLOSED).order_by("pk"):
            cases.append(
                complaint_reopen(
                    complaint=case, by=by, reason=reason, channel=Complaint.Channel.FOLLOW_UP_CALL, now=now
                )
            )
    after_repair = [t for t in group if t.kind == CareKind.POST_REPAIR_DAY3]
    if after_repair:
        if not said:
            raise ValidationError(
                {"notes": [_("Write what the customer is not satisfied with: it opens a complaint.")]}
            )
        open_orders = set(
            Complaint.objects.filter(repair_order__in=[t.repair_order_id for t in after_repair if t.repair_order_id])
            .exclude(status=Complaint.Status.CLOSED)
            .values_list("repair_order_id", flat=True)
        )
        category = _category(POST_REPAIR_CATEGORY)
        for task in after_repair:
            if task.repair_order_id in open_orders:
                continue
            cases.append(
                complaint_open(
                    customer=task.customer,
                    channel=Complaint.Channel.FOLLOW_UP_CALL,
                    category=category,
                    severity=Complaint.Severity.NORMAL,
                    description=said,
                    by=by,
                    vehicle=task.vehicle,
                    repair_order=task.repair_order,
                    received_at=now,
                )
            )
            open_orders.add(task.repair_order_id)
    if cases:
        contact.details = {**contact.details, "complaints": [c.number for c in cases]}
        contact.save(update_fields=["details"])
    return cases


def last_repair_order(task: CareTask) -> RepairOrder | None:
    """The repair order a case raised from ``task`` is about: the touch's own,
    else the last one of its car, else the customer's last."""
    if task.repair_order_id:
        return task.repair_order
    orders = RepairOrder.objects.filter(customer_id=task.customer_id).order_by("-opened_at", "-pk")
    if task.vehicle_id:
        return orders.filter(vehicle_id=task.vehicle_id).first() or orders.first()
    return orders.first()


def care_complaint_raise(
    *,
    task: CareTask,
    by: User,
    category: ComplaintCategory,
    severity: str,
    description: str,
    demand: str = "",
    now: datetime.datetime | None = None,
) -> Complaint:
    """A complaint the customer makes on a call (any touch): a case for the
    customer, the touch's car and repair order (else the last one), received
    by the advisor on a follow-up call; and a contact on the customer's
    timeline naming the case (``details["complaint"]``), linked to the touch.

    Raises ValidationError with complaints' field errors (no description…)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = complaint_open(
            customer=task.customer,
            channel=Complaint.Channel.FOLLOW_UP_CALL,
            category=category,
            severity=severity,
            description=description,
            demand=demand,
            by=by,
            vehicle=task.vehicle,
            repair_order=last_repair_order(task),
            received_at=now,
        )
        contact = Contact.objects.create(
            dealership_id=task.dealership_id,
            customer_id=task.customer_id,
            advisor=by,
            channel=Contact.Channel.CALL,
            reached=True,
            notes=_("Complaint %(number)s raised: %(description)s")
            % {"number": case.number, "description": case.description},
            details={"complaint": case.number},
            created_at=now,
        )
        contact.tasks.add(task)
    return case
