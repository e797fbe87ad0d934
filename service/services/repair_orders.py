"""Repair orders and their lines: opened, lined and closed, and created/updated/upserted from the API and the DMS."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Q,
    Sum,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Dealership
from customers.services import customer_visit_recorded
from service.models import Appointment, RepairLine, RepairOrder, Technician
from service.services.appointments import _appointments_link
from service.signals import appointment_arrived
from vehicles.models import MileageReading, Vehicle
from vehicles.services import mileage_record


def repair_order_open(
    *,
    vehicle,
    number: str,
    kind: str,
    opened_at: datetime.datetime,
    mileage: int,
    advisor=None,
    technician: Technician | None = None,
    payer: str = RepairOrder.Payer.CUSTOMER,
    work_done: str = "",
) -> RepairOrder:
    """Open a repair order for a car; its owner and dealership come from the car.
    The technician, when known, works in that dealership (refused otherwise).

    The customer's appointment of the same local day (for this car, else for
    no particular car) that is still waiting for its visit is linked to the
    order and marked arrived (see ``_appointments_link``)."""
    customer = vehicle.customer
    if technician is not None and technician.dealership_id != customer.dealership_id:
        raise ValidationError(
            {"technician": _("Choose a technician of the order's own dealership.")}, code="technician_other_store"
        )
    order = RepairOrder(
        dealership_id=customer.dealership_id,
        customer=customer,
        vehicle=vehicle,
        number=number,
        kind=kind,
        opened_at=opened_at,
        mileage=mileage,
        advisor=advisor,
        technician=technician,
        payer=payer,
        work_done=work_done,
    )
    order.full_clean()
    with transaction.atomic():
        order.save()
        mileage_record(
            vehicle=vehicle,
            read_on=timezone.localtime(opened_at).date(),
            mileage=mileage,
            source=MileageReading.Source.REPAIR_ORDER,
        )
        # The customer came: the appointment of the day turns into this visit.
        if _appointments_link(RepairOrder.objects.filter(pk=order.pk), day=timezone.localdate(opened_at)):
            linked = list(Appointment.objects.filter(repair_order=order).values_list("pk", flat=True))
            appointment_arrived.send(sender=Appointment, appointment_ids=linked, by=advisor, now=timezone.now())
    return order


def repair_line_add(
    *,
    repair_order: RepairOrder,
    description: str,
    line_type: str = RepairLine.LineType.LABOR,
    amount: Decimal = Decimal("0"),
    status: str = RepairLine.Status.DONE,
    quoted_amount: Decimal | None = None,
    part_number: str = "",
    quantity: Decimal = Decimal("1"),
) -> RepairLine:
    if status != RepairLine.Status.DONE and amount:
        raise ValidationError({"amount": _("Only work that was done is charged.")}, code="charged_not_done")
    line = RepairLine(
        repair_order=repair_order,
        description=description,
        line_type=line_type,
        amount=amount,
        status=status,
        quoted_amount=quoted_amount,
        part_number=part_number,
        quantity=quantity,
    )
    line.full_clean()
    line.save()
    return line


def repair_order_close(*, repair_order: RepairOrder, closed_at: datetime.datetime) -> RepairOrder:
    """Close the order: amounts are summed from its done lines, and the customer's
    last visit moves forward."""
    if closed_at < repair_order.opened_at:
        raise ValidationError({"closed_at": _("An order cannot close before it opened.")}, code="closed_before_opened")
    with transaction.atomic():
        order = RepairOrder.objects.select_for_update().get(pk=repair_order.pk)
        sums = order.lines.filter(status=RepairLine.Status.DONE).aggregate(
            labour=Coalesce(Sum("amount", filter=Q(line_type=RepairLine.LineType.LABOR)), Decimal("0")),
            parts=Coalesce(Sum("amount", filter=Q(line_type=RepairLine.LineType.PART)), Decimal("0")),
        )
        order.labor_amount, order.parts_amount = sums["labour"], sums["parts"]
        order.total_amount = order.labor_amount + order.parts_amount
        order.closed_at = closed_at
        # updated_at too: the nightly rollups find the closed order's day by it.
        order.save(update_fields=["labor_amount", "parts_amount", "total_amount", "closed_at", "updated_at"])
        customer_visit_recorded(customer_id=order.customer_id, day=timezone.localtime(order.opened_at).date())
    repair_order.refresh_from_db()
    return repair_order


# --- Repair orders from the API and the DMS ------------------------------------------

# What a repair order line is given (``repair_line_add``'s arguments).
REPAIR_LINE_FIELDS = frozenset(
    {"description", "line_type", "amount", "status", "quoted_amount", "part_number", "quantity"}
)
# What changes on a known order (upsert from the DMS). The car, the opening
# and its odometer reading are the order's identity and history: not changed.
REPAIR_ORDER_UPDATABLE_FIELDS = frozenset({"kind", "payer", "work_done", "advisor", "technician"})


def repair_order_create(
    *,
    vehicle: Vehicle,
    number: str,
    kind: str,
    opened_at: datetime.datetime,
    mileage: int,
    by,
    lines: list[dict] = (),
    closed_at: datetime.datetime | None = None,
    **fields,
) -> RepairOrder:
    """An order with its lines in one transaction (``repair_order_open``, then
    ``repair_line_add`` per line, then ``repair_order_close`` when
    ``closed_at`` is given). A bad line is a ValidationError under
    ``lines`` with its position; nothing is saved then."""
    with transaction.atomic():
        order = repair_order_open(
            vehicle=vehicle, number=number, kind=kind, opened_at=opened_at, mileage=mileage, **fields
        )
        _lines_add(order, lines)
        if closed_at is not None:
            order = repair_order_close(repair_order=order, closed_at=closed_at)
    return order


def _lines_add(order: RepairOrder, lines) -> None:
    for position, line in enumerate(lines):
        unknown = set(line) - REPAIR_LINE_FIELDS
        if unknown:
            raise TypeError(f"Repair lines cannot be given {', '.join(sorted(unknown))}.")
        try:
            repair_line_add(repair_order=order, **line)
        except ValidationError as exc:
            reasons = exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            raise ValidationError(
                {
                    "lines": [
                        _("Line %(n)s: %(reasons)s")
                        % {
                            "n": position + 1,
                            "reasons": "; ".join(
                                f"{field}: {' '.join(messages)}" for field, messages in reasons.items()
                            ),
                        }
                    ]
                }
            ) from exc


def repair_order_update(
    *, repair_order: RepairOrder, by, lines: list[dict] | None = None, closed_at=None, **changes
) -> RepairOrder:
    """Change a known order (a DMS sending it again): the fields of
    ``REPAIR_ORDER_UPDATABLE_FIELDS``; ``lines``, when given, replace the
    order's lines; a closed order (or one closed now with ``closed_at``) has
    its amounts summed again from its lines (``repair_order_close``).
    The car, opening time and mileage cannot change: a different value is a
    ValidationError."""
    fixed = {"vehicle", "opened_at", "mileage", "number", "dealership"} & set(changes)
    for name in fixed:
        value = changes.pop(name)
        current_value = getattr(repair_order, name)
        if value != current_value:
            raise ValidationError(
                {name: _("A repair order's car, number, opening time and mileage cannot change.")},
                code="repair_order_fixed",
            )
    unknown = set(changes) - REPAIR_ORDER_UPDATABLE_FIELDS
    if unknown:
        raise TypeError(f"Repair orders cannot be given {', '.join(sorted(unknown))} here.")
    technician = changes.get("technician")
    if technician is not None and technician.dealership_id != repair_order.dealership_id:
        raise ValidationError(
            {"technician": _("Choose a technician of the order's own dealership.")}, code="technician_other_store"
        )
    with transaction.atomic():
        order = RepairOrder.objects.select_for_update().get(pk=repair_order.pk)
        for name, value in changes.items():
            setattr(order, name, value)
        if changes:
            order.full_clean(exclude=["dealership", "vehicle", "customer", "advisor", "technician"])
            order.save(update_fields=[*changes, "updated_at"])
        if lines is not None:
            order.lines.all().delete()
            _lines_add(order, lines)
        closing = closed_at if closed_at is not None else order.closed_at
        if closing is not None and (lines is not None or closed_at is not None):
            order = repair_order_close(repair_order=order, closed_at=closing)
    return order


def repair_order_upsert(*, dealership, number: str, by, **fields) -> tuple[RepairOrder, bool]:
    """The store's order with this number updated (``repair_order_update``) or
    created (``repair_order_create``); returns it and whether it is new. The
    store's row is locked, so that two syncs of one new order make one."""
    with transaction.atomic():
        list(Dealership.objects.select_for_update().filter(pk=dealership.pk).values_list("pk", flat=True))
        existing = RepairOrder.objects.filter(dealership=dealership, number=number).first()
        if existing is None:
            vehicle = fields.get("vehicle")
            if vehicle is not None and vehicle.customer.dealership_id != dealership.pk:
                raise ValidationError({"vehicle": _("Choose a car of the order's own dealership.")})
            return repair_order_create(number=number, by=by, **fields), True
        return repair_order_update(repair_order=existing, by=by, **fields), False
