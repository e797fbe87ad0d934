"""Opening a complaint and moving it through its steps.

``complaint_transition`` is the one writer of ``Complaint.status``: it holds
the allowed moves (one step at a time: a step cannot be skipped), checks the
step's data, saves it on the case and writes a ``ComplaintEvent``, all in one
transaction with the case row locked. Pause and resume move the resolution clock."""

import datetime
import decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from complaints import signals
from complaints.models import (
    SEVERITY_ORDER,
    Complaint,
    ComplaintCategory,
    ComplaintCounter,
    ComplaintEvent,
    ComplaintLesson,
    severity_above,
)
from complaints.services.clocks import (
    ALLOWED,
    NEEDS_LESSON,
    REOPEN_DAYS,
    REOPENS_BEFORE_MANAGER,
    STEP_DATA,
    Severity,
    SlaState,
    Status,
    _event,
    _start_clocks,
)
from crm.business_time import BusinessHours, add_business_minutes, business_minutes_between
from crm.models import Dealership, Notification, User
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import Vehicle


# --- Opening -------------------------------------------------------------------
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
    by: User | None,
    vehicle: Vehicle | None = None,
    repair_order: RepairOrder | None = None,
    received_at: datetime.datetime | None = None,
    handler: User | None = None,
    staff_involved: User | None = None,
    carmaker_reference: str = "",
    parent: Complaint | None = None,
) -> Complaint:
    """Receive a complaint: a numbered case in the customer's store, its SLA
    clocks started in the store's business time, and its first event.

    A tier-A customer's case starts one severity higher (they are the store's
    most loyal; losing one costs most). ``by`` is None for the public form."""
    received_at = received_at or timezone.now()
    errors: dict[str, list[str]] = {}
    if not description.strip():
        errors["description"] = [_("Write what happened.")]
    if channel not in Complaint.Channel.values:
        errors["channel"] = [_("Choose how the complaint came in.")]
    if severity not in Severity.values:
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
    raised = customer.value_tier == Customer.ValueTier.A and severity != SEVERITY_ORDER[-1]
    if raised:
        severity = severity_above(severity)
    store = Dealership.objects.get(pk=customer.dealership_id)
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
            parent=parent,
        )
        _start_clocks(complaint, BusinessHours.of(store), received_at, response=True)
        complaint.full_clean()
        complaint.save()
        note = _("Severity raised one level: a tier-A customer.") if raised else ""
        if parent is not None:
            note = " ".join(filter(None, [_("Follows case %(number)s.") % {"number": parent.number}, note]))
        ComplaintEvent.objects.create(
            complaint=complaint, from_status="", to_status=Status.RECEIVED, by=by, at=received_at, note=note
        )
        signals.complaint_opened.send(sender=Complaint, complaint=complaint, by=by, now=received_at)
    return complaint


def complaint_assign(
    *, complaint: Complaint, handler: User, by: User, note: str = "", now: datetime.datetime | None = None
) -> Complaint:
    """Give the case to a handler of its store (never the staff member it is about)."""
    if handler.dealership_id not in (None, complaint.dealership_id) or not handler.is_active:
        raise ValidationError({"handler": [_("Choose an active colleague of the same dealership.")]})
    with transaction.atomic():
        complaint = Complaint.objects.select_for_update().get(pk=complaint.pk)
        _check_handler(handler=handler, staff_involved=complaint.staff_involved)
        complaint.handler = handler
        complaint.save(update_fields=["handler"])
        _event(
            complaint, ComplaintEvent.Action.ASSIGNED, by, now or timezone.now(), note.strip(), handler=handler
        ).save()
    return complaint


# --- The steps -----------------------------------------------------------------
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


def _notify(users, case: Complaint, title: str) -> None:
    Notification.objects.bulk_create(
        [
            Notification(
                user=u, dealership_id=case.dealership_id, title=title, url=reverse("complaints:detail", args=[case.pk])
            )
            for u in users
            if u is not None
        ]
    )


def store_manager(dealership_id: int) -> User | None:
    """The store's manager: the first active one (the store's own, not group level)."""
    return (
        User.objects.people()
        .filter(dealership_id=dealership_id, role=User.Role.MANAGER, is_active=True)
        .order_by("pk")
        .first()
    )


def complaint_transition(
    *,
    complaint: Complaint,
    to: str,
    by: User | None,
    note: str = "",
    now: datetime.datetime | None = None,
    **step_data,
) -> Complaint:
    """Move the case one step on (or reopen it), recording the step's data and an event.

    Refused with a ValidationError: a move the loop does not allow (a skipped
    step), a step without its data, closing without cause and remedy, a
    serious case closed without a lesson (``lesson``: what changes in the
    process), a reopen more than 30 days after closing (``complaint_reopen``
    opens a linked case instead).

    The clocks: recording the case acknowledges it; notifying the customer is a
    first contact if none was logged; a reopen starts a new resolution clock,
    and the second one hands the case to the store manager."""
    lesson = step_data.pop("lesson", "")
    now = now or timezone.now()
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
        if to == Status.RECORDED and case.acknowledged_at is None:
            case.acknowledged_at = now
            fields.append("acknowledged_at")
        if to == Status.CUSTOMER_NOTIFIED and case.first_contacted_at is None:
            case.first_contacted_at = now
            fields.append("first_contacted_at")
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
            if case.paused_at is not None:
                _unpause(case, now)
                fields += ["paused_at", "waiting_on", "pause_reason", "paused_minutes", "resolution_due"]
                fields.append("resolution_warn_at")
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
            hours = BusinessHours.of(Dealership.objects.get(pk=case.dealership_id))
            _start_clocks(case, hours, now, response=False)
            case.resolution_breached_at = None
            case.sla_state = SlaState.BREACHED if case.response_breached_at else SlaState.ON_TRACK
            fields += ["reopen_count", "closed_at", "resolution_due", "resolution_warn_at"]
            fields += ["resolution_breached_at", "sla_state"]
            if case.reopen_count >= REOPENS_BEFORE_MANAGER:
                manager = store_manager(case.dealership_id)
                if manager is not None and manager.pk != case.staff_involved_id:
                    case.handler = manager
                    fields.append("handler")
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
        if to == Status.CLOSED:
            signals.complaint_closed.send(sender=Complaint, complaint=case, by=by, now=now)
        if to == Status.REOPENED:
            if "handler" in fields:
                _notify(
                    [case.handler],
                    case,
                    _("Case %(number)s is reopened a second time: it is yours now.") % {"number": case.number},
                )
            signals.complaint_reopened.send(sender=Complaint, complaint=case, by=by, reason=note.strip(), now=now)
    return case


def complaint_reopen(
    *, complaint: Complaint, by: User | None, reason: str, channel: str = "", now: datetime.datetime | None = None
) -> Complaint:
    """The customer (or the verification call) is not satisfied: within 30 days
    of closing the case reopens; after that a new case is opened, linked to
    the old one. Returns the case that is now open."""
    if not reason.strip():
        raise ValidationError({"note": [_("Say why the case is reopened.")]})
    if complaint.status != Status.CLOSED:
        raise ValidationError(_("Only a closed case can be reopened."), code="transition_not_allowed")
    now = now or timezone.now()
    if complaint.closed_at and now - complaint.closed_at <= datetime.timedelta(days=REOPEN_DAYS):
        return complaint_transition(complaint=complaint, to=Status.REOPENED, by=by, note=reason, now=now)
    return complaint_open(
        customer=complaint.customer,
        channel=channel or complaint.channel,
        category=complaint.category,
        severity=complaint.severity,
        description=reason.strip(),
        demand=complaint.demand,
        by=by,
        vehicle=complaint.vehicle,
        repair_order=complaint.repair_order,
        staff_involved=complaint.staff_involved,
        handler=complaint.handler if complaint.handler_id != complaint.staff_involved_id else None,
        carmaker_reference=complaint.carmaker_reference,
        parent=complaint,
    )


def complaint_contacted(
    *, complaint: Complaint, by: User, note: str = "", now: datetime.datetime | None = None
) -> Complaint:
    """The handler reached the customer: the first contact clock is met (once)."""
    now = now or timezone.now()
    with transaction.atomic():
        case = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if case.status == Status.CLOSED:
            raise ValidationError(_("The case is closed."), code="closed")
        if case.first_contacted_at is None:
            case.first_contacted_at = now
            case.save(update_fields=["first_contacted_at"])
        _event(case, ComplaintEvent.Action.CONTACTED, by, now, note.strip()).save()
    return case


# --- Pause and resume ----------------------------------------------------------
def _unpause(case: Complaint, now: datetime.datetime) -> int:
    """Stop the pause: the resolution clock moves on by the business time it lasted."""
    hours = BusinessHours.of(Dealership.objects.get(pk=case.dealership_id))
    minutes = business_minutes_between(hours, case.paused_at, now)
    if case.resolution_due is not None:
        case.resolution_due = add_business_minutes(hours, case.resolution_due, minutes)
    if case.resolution_warn_at is not None:
        case.resolution_warn_at = add_business_minutes(hours, case.resolution_warn_at, minutes)
    case.paused_minutes += minutes
    case.paused_at, case.waiting_on, case.pause_reason = None, "", ""
    return minutes


def complaint_pause(
    *, complaint: Complaint, by: User, waiting_on: str, reason: str, now: datetime.datetime | None = None
) -> Complaint:
    """The case waits on the customer, on parts or on the carmaker: the resolution clock stops."""
    errors = {}
    if waiting_on not in Complaint.WaitingOn.values:
        errors["waiting_on"] = [_("Say what the case waits on.")]
    if not reason.strip():
        errors["pause_reason"] = [_("Say why the case waits.")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    with transaction.atomic():
        case = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if case.status == Status.CLOSED:
            raise ValidationError(_("The case is closed."), code="closed")
        if case.paused_at is not None:
            raise ValidationError(_("The case is already waiting."), code="paused")
        case.paused_at, case.waiting_on, case.pause_reason = now, waiting_on, reason.strip()
        case.save(update_fields=["paused_at", "waiting_on", "pause_reason"])
        _event(case, ComplaintEvent.Action.PAUSED, by, now, reason.strip(), waiting_on=waiting_on).save()
    return case


def complaint_resume(
    *, complaint: Complaint, by: User, note: str = "", now: datetime.datetime | None = None
) -> Complaint:
    """The wait is over: the resolution due time moves on by the business time paused."""
    now = now or timezone.now()
    with transaction.atomic():
        case = Complaint.objects.select_for_update().get(pk=complaint.pk)
        if case.paused_at is None:
            raise ValidationError(_("The case is not waiting."), code="not_paused")
        minutes = _unpause(case, now)
        case.save(
            update_fields=[
                "paused_at",
                "waiting_on",
                "pause_reason",
                "paused_minutes",
                "resolution_due",
                "resolution_warn_at",
            ]
        )
        _event(case, ComplaintEvent.Action.RESUMED, by, now, note.strip(), paused_minutes=minutes).save()
    return case
