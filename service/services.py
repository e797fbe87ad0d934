import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Case, DateField, F, FloatField, OuterRef, Q, Subquery, When
from django.db.models.functions import Cast, Coalesce, Round, TruncDate
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.sql import DaysBetween
from customers.models import Customer
from service.models import RepairLine, RepairOrder
from vehicles.models import MileageReading, Vehicle
from vehicles.services import mileage_record

# Less odometer history than this says little about how much a car is driven.
MIN_SPAN_DAYS = 30


def repair_order_open(
    *,
    vehicle,
    number: str,
    kind: str,
    opened_at: datetime.datetime,
    mileage: int,
    advisor=None,
    payer: str = RepairOrder.Payer.CUSTOMER,
    work_done: str = "",
) -> RepairOrder:
    """Open a repair order for a car; its owner and dealership come from the car."""
    customer = vehicle.customer
    order = RepairOrder(
        dealership_id=customer.dealership_id,
        customer=customer,
        vehicle=vehicle,
        number=number,
        kind=kind,
        opened_at=opened_at,
        mileage=mileage,
        advisor=advisor,
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
        done = order.lines.filter(status=RepairLine.Status.DONE)
        order.labor_amount = sum((ln.amount for ln in done if ln.line_type == RepairLine.LineType.LABOR), Decimal("0"))
        order.parts_amount = sum((ln.amount for ln in done if ln.line_type == RepairLine.LineType.PART), Decimal("0"))
        order.total_amount = order.labor_amount + order.parts_amount
        order.closed_at = closed_at
        order.save(update_fields=["labor_amount", "parts_amount", "total_amount", "closed_at"])
        visit = timezone.localtime(order.opened_at).date()
        Customer.objects.filter(pk=order.customer_id).filter(
            Q(last_visit_date__isnull=True) | Q(last_visit_date__lt=visit)
        ).update(last_visit_date=visit)
    repair_order.refresh_from_db()
    return repair_order


def vehicle_service_stats_refresh(*, vehicle_ids: list[int] | None = None) -> int:
    """Recompute each car's latest reading, last maintenance and km per day in one UPDATE.

    km per day is the slope from the first to the latest odometer reading;
    with less than ``MIN_SPAN_DAYS`` of history it stays empty and generators
    fall back to ``CRM_DEFAULT_KM_PER_DAY``.
    """
    maintenance = RepairOrder.objects.filter(vehicle=OuterRef("pk"), kind=RepairOrder.Kind.MAINTENANCE).order_by(
        "-opened_at", "-pk"
    )
    readings = MileageReading.objects.filter(vehicle=OuterRef("pk"))
    first = readings.order_by("read_on", "mileage")
    last = readings.order_by("-read_on", "-mileage")
    span = DaysBetween(Subquery(last.values("read_on")[:1]), Subquery(first.values("read_on")[:1]))
    slope = Cast(Subquery(last.values("mileage")[:1]) - Subquery(first.values("mileage")[:1]), FloatField()) / Cast(
        span, FloatField()
    )
    vehicles = Vehicle.objects.all()
    if vehicle_ids is not None:
        vehicles = vehicles.filter(pk__in=vehicle_ids)
    return vehicles.update(
        last_maintenance_date=Subquery(
            maintenance.annotate(day=TruncDate("opened_at")).values("day")[:1], output_field=DateField()
        ),
        last_maintenance_mileage=Subquery(maintenance.values("mileage")[:1]),
        # Readings may arrive in bulk (DMS import), past mileage_record.
        current_mileage=Coalesce(Subquery(last.values("mileage")[:1]), F("current_mileage")),
        current_mileage_date=Coalesce(Subquery(last.values("read_on")[:1]), F("current_mileage_date")),
        km_per_day=Case(When(GreaterThanOrEqual(span, MIN_SPAN_DAYS), then=Round(slope, 1)), default=None),
    )
