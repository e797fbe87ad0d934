"""Opening a complaint and moving it through its steps.

``complaint_transition`` is the one writer of ``Complaint.status``: it holds
the allowed moves (one step at a time: a step cannot be skipped), checks the
step's data, saves it on the case and writes a ``ComplaintEvent``, all in one
transaction with the case row locked.
"""

import datetime
import decimal
import itertools

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints.models import Complaint, ComplaintCategory, ComplaintCounter, ComplaintEvent, ComplaintLesson
from crm.models import User
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import Vehicle

Status = Complaint.Status

# The closed loop, in order; a reopened case is investigated again.
STEPS = [
    Status.RECEIVED,
    Status.RECORDED,
    Status.INVESTIGATED,
    Status.CAUSE_FOUND,
    Status.REMEDY_DECIDED,
    Status.CUSTOMER_NOTIFIED,
    Status.CARRIED_OUT,
    Status.FOLLOWED_UP,
    Status.CLOSED,
]
ALLOWED: dict[str, frozenset[str]] = {
    **{step: frozenset({after}) for step, after in itertools.pairwise(STEPS)},
    Status.CLOSED: frozenset({Status.REOPENED}),
    Status.REOPENED: frozenset({Status.INVESTIGATED}),
}

# What each step records on the case: {target status: {field: required}}.
STEP_DATA: dict[str, dict[str, bool]] = {
    Status.INVESTIGATED: {"findings": True},
    Status.CAUSE_FOUND: {"cause": True},
    Status.REMEDY_DECIDED: {"remedy": True, "goodwill_cost": False},
    Status.CUSTOMER_NOTIFIED: {"customer_agreed": True, "customer_answer": False},
    Status.CARRIED_OUT: {"action_taken": True},
    Status.FOLLOWED_UP: {"follow_up": True},
}
# Serious cases are done only with a lesson learned (what changes in the process).
NEEDS_LESSON = frozenset({Complaint.Severity.MAJOR, Complaint.Severity.URGENT})
REOPEN_DAYS = 30


def _next_number(dealership_id: int, year: int) -> str:
    """``TS-2026-000123``: per store and year, from a counter row locked for the
    transaction, so two cases opened at once never share a number."""
    counter, _created = ComplaintCounter.objects.select_for_update().get_or_create(
        dealership_id=dealership_id, year=year
    )
    counter.last += 1
    counter.save(update_fields=["last"])
    return f"TS-{year}-{counter.last:06d}"


def _check_handler(*, handler: User | None, staff_involved: User | None) -> None:
    if handler is not None and staff_involved is not None and handler.pk == staff_involved.pk:
        raise ValidationError(
            {"handler": [_("The staff member the complaint is about cannot handle it: choose a colleague.")]}
        )


def complaint_open(
    *,
    customer: Customer,
    channel: str,
    category: ComplaintCategory,
    severity: str,
    description: str,
    demand: str = "",
    by: User,
    vehicle: Vehicle | None = None,
    repair_order: RepairOrder | None = None,
    received_at: datetime.datetime | None = None,
    handler: User | None = None,
    staff_involved: User | None = None,
    carmaker_reference: str = "",
) -> Complaint:
    """Receive a complaint: a numbered case in the customer's store, with its first event."""
    received_at = received_at or timezone.now()
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = [_("Write what happened.")]
    if channel not in Complaint.Channel.values:
        errors["channel"] = [_("Choose how the complaint came in.")]
    if severity not in Complaint.Severity.values:
        errors["severity"] = [_("Choose a severity.")]
    if vehicle is not None and vehicle.customer_id != customer.pk:
        errors["vehicle"] = [_("This car is not the customer's.")]
    if repair_order is not None and repair_order.customer_id != customer.pk:
        errors["repair_order"] = [_("This repair order is not the customer's.")]
    if channel == Complaint.Channel.CARMAKER_HOTLINE and not carmaker_reference.strip():
        errors["carmaker_reference"] = [_("Enter the carmaker's case reference.")]
    if errors:
        raise ValidationError(errors)
    _check_handler(handler=handler, staff_involved=staff_involved)
    with transaction.atomic():
        complaint = Complaint(
            dealership_id=customer.dealership_id,
            number=_next_number(customer.dealership_id, timezone.localdate(received_at).year),
            customer=customer,
            vehicle=vehicle or (repair_order.vehicle if repair_order else None),
            repair_order=repair_order,
            channel=channel,
            carmaker_reference=carmaker_reference.strip(),
            category=category,
            severity=severity,
            status=Status.RECEIVED,
            description=description.strip(),
            demand=demand.strip(),
            received_by=by,
            received_at=received_at,
            handler=handler,
            staff_involved=staff_involved,
        )
        complaint.full_clean()
        complaint.save()
        ComplaintEvent.objects.create(
            complaint=complaint, from_status="", to_status=Status.RECEIVED, by=by, at=received_at
        )
    return complaint


def complaint_assign(*, complaint: Complaint, handler: User, by: User, note: str = "") -> Complaint:
    """Give the case to a handler of its store (never the staff member it is about)."""
    if handler.dealership_id not in (None, complaint.dealership_id) or not handler.is_active:
        raise ValidationError({"handler": [_("Choose an active colleague of the same dealership.")]})
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        _check_handler(handler=handler, staff_involved=complaint.staff_involved)
        complaint.handler = handler
        complaint.save(update_fields=["handler"])
    return complaint


def _step_values(to: str, step_data: dict) -> dict:
    """The step's fields, checked: required ones filled, unknown ones refused."""
    fields = STEP_DATA.get(to, {})
    unknown = sorted(set(step_data) - set(fields))
    if unknown:
        raise ValueError(f"step {to!r} records no {', '.join(unknown)}")
    values, errors = {}, {}
    for name, required in fields.items():
        value = step_data.get(name)
        if isinstance(value, str):
            value = value.strip()
        if name == "goodwill_cost" and value not in (None, ""):
            try:
                value = decimal.Decimal(str(value)).quantize(decimal.Decimal("0.01"))
            except decimal.InvalidOperation:
                errors[name] = [_("Enter an amount in yuan, such as 200 or 88.50.")]
                continue
            if value < 0:
                errors[name] = [_("The amount cannot be negative.")]
                continue
        if value in (None, ""):
            if required:
                errors[name] = [_("This step needs this.")]
            continue
        values[name] = value
    if errors:
        raise ValidationError(errors)
    return values


def complaint_transition(*, complaint: Complaint, to: str, by: User, note: str = "", **step_data) -> Complaint:
    """Move the case one step on (or reopen it), recording the step's data and an event.

    Refused with a ValidationError: a move the loop does not allow (a skipped
    step), a step without its data, closing without cause and remedy, a
    serious case closed without a lesson (``lesson``: what changes in the
    process), a reopen more than 30 days after closing."""
    lesson = step_data.pop("lesson", "")
    now = timezone.now()
    with transaction.atomic():
        case = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if to == case.status:
            return case
        if to not in ALLOWED.get(case.status, frozenset()):
            raise ValidationError(
                _("A case that is %(current)s cannot become %(target)s: the steps go in order.")
                % {"current": Status(case.status).label, "target": Status(to).label},
                code="transition_not_allowed",
            )
        values = _step_values(to, step_data)
        for name, value in values.items():
            setattr(case, name, value)
        fields = list(values)
        if to == Status.CLOSED:
            missing = {
                k: [_("Record the cause and the remedy before closing.")]
                for k in ("cause", "remedy")
                if not getattr(case, k)
            }
            if missing:
                raise ValidationError(missing)
            if case.severity in NEEDS_LESSON and not hasattr(case, "lesson") and not lesson.strip():
                raise ValidationError(
                    {"lesson": [_("A major case closes with its lesson: what changes in the process.")]}
                )
            case.closed_at = now
            fields.append("closed_at")
        if to == Status.REOPENED:
            if not note.strip():
                raise ValidationError({"note": [_("Say why the case is reopened.")]})
            if case.closed_at and now - case.closed_at > datetime.timedelta(days=REOPEN_DAYS):
                raise ValidationError(
                    _("Closed more than %(days)d days ago: open a new case instead.") % {"days": REOPEN_DAYS}
                )
            case.reopen_count += 1
            case.closed_at = None
            fields += ["reopen_count", "closed_at"]
        from_status = case.status
        case.status = to
        case.save(update_fields=[*fields, "status"])
        if lesson.strip() and not hasattr(case, "lesson"):
            ComplaintLesson.objects.create(
                complaint=case, dealership_id=case.dealership_id, what_changes=lesson.strip(), created_by=by
            )
        ComplaintEvent.objects.create(
            complaint=case,
            from_status=from_status,
            to_status=to,
            by=by,
            note=note.strip(),
            data={k: str(v) for k, v in values.items()},
            at=now,
        )
    return case
