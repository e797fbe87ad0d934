"""What an advisor's call changes: the outcome of one call closes or
reschedules every touch it covered, and writes one ``Contact``."""

import dataclasses
import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext as _

from care.registry import spec_for
from care.touches.models import CareTask, Channel
from care.touches.services import care_tasks_transition
from care.workspace.complaints import complaint_loop_after_call, satisfaction_errors
from care.workspace.insurance import insurance_after_call
from care.workspace.models import Contact, OutcomeCode, TaskReassignment
from care.workspace.surveys import call_survey_announce, call_survey_errors
from crm.calendar import next_working_day
from crm.models import User
from customers.models import Customer
from service.models import Appointment, RepairOrder
from vehicles.models import Vehicle

# Details an outcome may ask for, with the labels the form shows. "satisfaction"
# is the customer's score, 1–5 (care.workspace.complaints.satisfaction_errors);
# the policy's kind, premium and dates are for a policy placed here
# (care.workspace.insurance).
# "nps" (0–10) and "comment" are the survey's recommend question and the
# customer's words (care.workspace.surveys).
DETAIL_FIELDS = (
    "reason",
    "where",
    "why",
    "insurer",
    "satisfaction",
    "policy_kind",
    "premium",
    "starts_on",
    "ends_on",
    "nps",
    "comment",
)


def care_call_group(task: CareTask) -> QuerySet[CareTask]:
    """The open call touches one call works: the customer's, of the same advisor
    (an advisor closes only their own calls), due within the merge window of ``task``."""
    window = datetime.timedelta(days=settings.CRM_CARE_MERGE_WINDOW_DAYS)
    return CareTask.objects.filter(
        customer_id=task.customer_id,
        assigned_to_id=task.assigned_to_id,
        status=CareTask.Status.OPEN,
        channel=Channel.CALL,
        due_date__gte=task.due_date - window + datetime.timedelta(days=1),
        due_date__lt=task.due_date + window,
    )


@dataclasses.dataclass(frozen=True)
class CallOutcome:
    """What the advisor entered for one call."""

    code: OutcomeCode
    notes: str = ""
    details: dict = dataclasses.field(default_factory=dict)
    appointment_at: datetime.datetime | None = None
    follow_up_on: datetime.date | None = None


def _validate(outcome: CallOutcome, now: datetime.datetime) -> None:
    code, today = outcome.code, timezone.localdate(now)
    errors: dict[str, list[str]] = {}
    if not code.active:
        errors["code"] = [_("This outcome is no longer in use.")]
    if code.action == OutcomeCode.Action.BOOK:
        if outcome.appointment_at is None:
            errors["appointment_at"] = [_("Enter the date and time of the appointment.")]
        elif outcome.appointment_at <= now:
            errors["appointment_at"] = [_("The appointment must be in the future.")]
    if code.action == OutcomeCode.Action.SNOOZE:
        if outcome.follow_up_on is None:
            errors["follow_up_on"] = [_("Enter the day to call again.")]
        elif not today < outcome.follow_up_on <= today + datetime.timedelta(days=366):
            errors["follow_up_on"] = [_("Choose a day after today and within a year.")]
    for key in code.asks or []:
        value = outcome.details.get(key)
        if value is None or not str(value).strip():
            errors[key] = [_("This field is required for this outcome.")]
    score_errors = satisfaction_errors(code=code, score=outcome.details.get("satisfaction"))
    if score_errors and "satisfaction" not in errors:
        errors["satisfaction"] = score_errors
    for key, messages in call_survey_errors(code=code, details=outcome.details).items():
        errors.setdefault(key, messages)
    if errors:
        raise ValidationError(errors)


def _appointment_kind(kind: str) -> str:
    """What an appointment booked from a touch is for (the kind's spec says)."""
    spec = spec_for(kind)
    return spec.appointment_kind if spec else RepairOrder.Kind.MAINTENANCE


def _book(tasks: list[CareTask], outcome: CallOutcome, by: User) -> Appointment:
    first = tasks[0]
    car = next((t.vehicle_id for t in tasks if t.vehicle_id), None)
    advisor = by if by.role == User.Role.ADVISOR else (first.assigned_to or by)
    return Appointment.objects.create(
        dealership_id=first.dealership_id,
        customer_id=first.customer_id,
        vehicle_id=car,
        advisor=advisor,
        scheduled_at=outcome.appointment_at,
        kind=_appointment_kind(first.kind),
        notes=outcome.notes,
    )


def _apply(tasks: QuerySet[CareTask], code: OutcomeCode, today: datetime.date, now, follow_up_on, by: User) -> None:
    """Close or reschedule the touches as the outcome code says."""
    action = code.action
    if action in (OutcomeCode.Action.CLOSE, OutcomeCode.Action.BOOK):
        declined = code.task_outcome == CareTask.Outcome.DECLINED
        status = CareTask.Status.DONE if code.reached and not declined else CareTask.Status.CANCELLED
        care_tasks_transition(
            tasks=tasks, to=status, outcome=code.task_outcome, by=by, reason=code.label, now=now, strict=True
        )
        return
    if action == OutcomeCode.Action.RETRY:
        tasks.update(attempts=F("attempts") + 1)
        care_tasks_transition(
            tasks=tasks.filter(attempts__gte=code.max_attempts),
            to=CareTask.Status.CANCELLED,
            outcome=code.task_outcome,
            by=by,
            reason=code.label,
            now=now,
        )
        follow_up_on = next_working_day(today + datetime.timedelta(days=1))
    elif action == OutcomeCode.Action.REQUEUE:
        follow_up_on = next_working_day(today + datetime.timedelta(days=code.requeue_days))
    # Rescheduled touches must live at least until the day they come back.
    tasks.filter(status=CareTask.Status.OPEN).update(
        due_date=follow_up_on,
        planned_for=follow_up_on,
        overflow=False,
        expires_on=Greatest(F("expires_on"), follow_up_on),
    )


def care_call_log(*, task: CareTask, outcome: CallOutcome, by: User, now: datetime.datetime | None = None) -> Contact:
    """Record one call: a ``Contact`` for the customer, and the outcome on every
    touch of the call (the merged reasons), closed or rescheduled as the code says;
    an outcome marked dissatisfied reopens or opens the complaint cases of the
    call (``care.workspace.complaints.complaint_loop_after_call``); one that
    places insurance records the policy (``care.workspace.insurance``); the
    survey's answers of a post-repair or win-back call are announced
    (``care.workspace.surveys.call_survey_announce``).

    Raises ValidationError with a message per field the outcome needs, and when
    the call was already logged (by a colleague, or in another tab)."""
    now = now or timezone.now()
    today = timezone.localdate(now)
    _validate(outcome, now)
    code = outcome.code
    with transaction.atomic():
        group = list(
            care_call_group(task)
            .select_for_update(of=("self",))
            .select_related("assigned_to")
            .order_by("due_date", "pk")
        )
        if not group:
            raise ValidationError(_("This call has already been logged."), code="already_logged")
        details = {
            k: str(v).strip()
            for k, v in outcome.details.items()
            if k in DETAIL_FIELDS and v is not None and str(v).strip()
        }
        score = int(details["satisfaction"]) if "satisfaction" in details else None
        if score is not None:
            details["satisfaction"] = score
        if "nps" in details:
            details["nps"] = int(details["nps"])
        contact = Contact.objects.create(
            dealership_id=task.dealership_id,
            customer_id=task.customer_id,
            advisor=by,
            channel=Contact.Channel.CALL,
            outcome=code,
            reached=code.reached,
            notes=outcome.notes,
            details=details,
            follow_up_on=outcome.follow_up_on if code.action == OutcomeCode.Action.SNOOZE else None,
            created_at=now,
        )
        contact.tasks.set(group)
        if code.action == OutcomeCode.Action.BOOK:
            contact.appointment = _book(group, outcome, by)
            contact.save(update_fields=["appointment"])
        tasks = CareTask.objects.filter(pk__in=[t.pk for t in group])
        if outcome.notes:
            tasks.update(notes=outcome.notes)
        _apply(tasks, code, today, now, outcome.follow_up_on, by)
        if code.flags_phone:
            Customer.objects.filter(pk=task.customer_id).update(phone_wrong=True)
        if code.customer_status:
            Customer.objects.filter(pk=task.customer_id).update(status=code.customer_status)
        if code.vehicle_status:
            cars = {t.vehicle_id for t in group if t.vehicle_id}
            Vehicle.objects.filter(pk__in=cars).update(status=code.vehicle_status)
        # A dissatisfied customer: the verification's case reopens, a post-repair call opens one.
        complaint_loop_after_call(
            group=group, contact=contact, code=code, by=by, notes=outcome.notes, score=score, now=now
        )
        # "Renewed with us": the policy sold, the car's insurance moved on.
        insurance_after_call(group=group, contact=contact, code=code, details=details, by=by)
        # The survey's answers (post-repair, win-back): analytics records them.
        call_survey_announce(group=group, contact=contact, by=by, now=now)
    return contact


def care_contact_log(
    *,
    customer: Customer,
    by: User,
    channel: str,
    notes: str,
    code: OutcomeCode | None = None,
    now: datetime.datetime | None = None,
) -> Contact:
    """A contact outside the queue (the customer called in, came by, wrote on WeChat)."""
    if not notes.strip() and code is None:
        raise ValidationError({"notes": [_("Write what was said, or choose an outcome.")]})
    return Contact.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        advisor=by,
        channel=channel,
        outcome=code,
        reached=code.reached if code else True,
        notes=notes.strip(),
        created_at=now or timezone.now(),
    )


def care_tasks_reassign(
    *, tasks: QuerySet[CareTask], to_user: User, by: User, reason: str, now: datetime.datetime | None = None
) -> int:
    """Give open touches to another advisor of their store, keeping who, when and why."""
    if by.role not in (User.Role.MANAGER, User.Role.ADMIN) and not by.is_superuser:
        raise PermissionDenied
    if not reason.strip():
        raise ValidationError({"reason": [_("Say why the calls move to another advisor.")]})
    now = now or timezone.now()
    with transaction.atomic():
        moving = list(
            tasks.filter(status=CareTask.Status.OPEN).exclude(assigned_to=to_user).select_for_update(of=("self",))
        )
        stores = {t.dealership_id for t in moving}
        if moving and (to_user.role != User.Role.ADVISOR or not to_user.is_active or stores != {to_user.dealership_id}):
            raise ValidationError({"to_user": [_("Choose an active advisor of the same dealership.")]})
        TaskReassignment.objects.bulk_create(
            TaskReassignment(task=t, from_user_id=t.assigned_to_id, to_user=to_user, by=by, reason=reason, at=now)
            for t in moving
        )
        # The new advisor has them today: a reassigned overflow is the manager's answer to it.
        CareTask.objects.filter(pk__in=[t.pk for t in moving]).update(
            assigned_to=to_user, overflow=False, planned_for=timezone.localdate(now)
        )
    return len(moving)
