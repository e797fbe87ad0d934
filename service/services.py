import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round, TruncDate
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import Dealership
from crm.sql import DaysBetween
from customers.services import customer_visit_recorded
from service.models import Appointment, InsurancePolicy, RepairLine, RepairOrder, Technician, VehicleStatsWatermark
from service.selectors import local_day_range
from service.signals import appointment_arrived
from vehicles.models import MileageReading, Vehicle
from vehicles.services import mileage_record

# Less odometer history than this says little about how much a car is driven.
MIN_SPAN_DAYS = 30
# Cars per statement when their figures are refreshed.
STATS_SLICE = 50_000


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


# --- Appointments -------------------------------------------------------------------

# Appointments that can still turn into the day's visit. A no-show counts: a
# customer who comes two hours late is still the customer of that slot.
LINKABLE_STATUSES = [
    Appointment.Status.BOOKED,
    Appointment.Status.CONFIRMED,
    Appointment.Status.ARRIVED,
    Appointment.Status.NO_SHOW,
]
# What the front desk may mark arrived: a late customer (no-show) too.
ARRIVABLE_STATUSES = [Appointment.Status.BOOKED, Appointment.Status.CONFIRMED, Appointment.Status.NO_SHOW]


# The one map of an appointment's moves (``appointment_transition``). The
# nightly no-show mark and the bulk linking of DMS orders write the same moves
# set-based (``appointments_mark_no_shows``, ``_link``).
APPOINTMENT_TRANSITIONS: dict[str, frozenset[str]] = {
    Appointment.Status.BOOKED: frozenset(
        {
            Appointment.Status.CONFIRMED,
            Appointment.Status.ARRIVED,
            Appointment.Status.NO_SHOW,
            Appointment.Status.CANCELLED,
        }
    ),
    Appointment.Status.CONFIRMED: frozenset(
        {Appointment.Status.ARRIVED, Appointment.Status.NO_SHOW, Appointment.Status.CANCELLED}
    ),
    # A customer who comes late is still the customer of that slot.
    Appointment.Status.NO_SHOW: frozenset({Appointment.Status.ARRIVED, Appointment.Status.CANCELLED}),
    Appointment.Status.ARRIVED: frozenset(),
    Appointment.Status.CANCELLED: frozenset(),
}


def appointment_transition(
    *, appointment: Appointment, to: str, by, now: datetime.datetime | None = None
) -> Appointment:
    """Move an appointment to status ``to``, as ``APPOINTMENT_TRANSITIONS``
    allows; the same status again changes nothing. Arriving records
    ``arrived_at`` (``now`` unless one was recorded) and sends
    ``appointment_arrived`` inside the transaction, so the arrival and its
    consequences (care closes the no-show call) commit together. A move the
    map does not allow is a ValidationError with the reason."""
    if to not in APPOINTMENT_TRANSITIONS:
        raise ValidationError({"status": _("Unknown appointment status.")}, code="appointment_status_unknown")
    now = now or timezone.now()
    with transaction.atomic():
        # The row lock orders two clicks (two tabs, a double click) one after the other.
        current = Appointment.objects.select_for_update().get(pk=appointment.pk)
        if current.status != to:
            if to not in APPOINTMENT_TRANSITIONS[current.status]:
                if to == Appointment.Status.ARRIVED:
                    message = _("A cancelled appointment cannot be marked arrived.")
                else:
                    message = _("An appointment that is “%(from)s” cannot become “%(to)s”.") % {
                        "from": current.get_status_display(),
                        "to": Appointment.Status(to).label,
                    }
                raise ValidationError({"status": message}, code="appointment_transition_refused")
            current.status = to
            fields = ["status"]
            if to == Appointment.Status.ARRIVED:
                current.arrived_at = current.arrived_at or now
                fields.append("arrived_at")
            # Known-good values: no full_clean, whose foreign key checks cost a query each.
            current.save(update_fields=fields)
            if to == Appointment.Status.ARRIVED:
                appointment_arrived.send(sender=Appointment, appointment_ids=[current.pk], by=by, now=now)
    appointment.status, appointment.arrived_at = current.status, current.arrived_at
    return appointment


def appointment_mark_arrived(*, appointment: Appointment, by, now: datetime.datetime) -> Appointment:
    """The customer is at the front desk: the appointment is arrived, at ``now``
    unless an arrival was already recorded (``appointment_transition``).
    Arriving twice changes nothing; a cancelled appointment cannot arrive."""
    return appointment_transition(appointment=appointment, to=Appointment.Status.ARRIVED, by=by, now=now)


def _appointment_errors(*, customer, vehicle, advisor) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if vehicle is not None and vehicle.customer_id != customer.pk:
        errors["vehicle"] = [_("Choose a car of this customer.")]
    if advisor is not None and advisor.dealership_id not in (None, customer.dealership_id):
        errors["advisor"] = [_("The advisor works at another dealership.")]
    return errors


def appointment_book(
    *,
    customer,
    scheduled_at: datetime.datetime,
    by,
    vehicle: Vehicle | None = None,
    advisor=None,
    kind: str = RepairOrder.Kind.MAINTENANCE,
    notes: str = "",
) -> Appointment:
    """Book a visit for ``customer`` at their store: booked, for ``vehicle``
    (one of theirs) or no particular car, with ``advisor`` of the store.
    A bad value is a ValidationError with a reason per field."""
    errors = _appointment_errors(customer=customer, vehicle=vehicle, advisor=advisor)
    if errors:
        raise ValidationError(errors)
    appointment = Appointment(
        dealership_id=customer.dealership_id,
        customer=customer,
        vehicle=vehicle,
        advisor=advisor,
        scheduled_at=scheduled_at,
        kind=kind,
        notes=(notes or "").strip(),
    )
    appointment.full_clean(exclude=["dealership", "customer", "vehicle", "advisor", "repair_order"])
    with transaction.atomic():
        appointment.save()
    return appointment


# What changes on an appointment besides its status (which moves only through
# ``appointment_transition``).
APPOINTMENT_WRITABLE_FIELDS = frozenset({"scheduled_at", "vehicle", "advisor", "kind", "notes"})


def appointment_update(*, appointment: Appointment, by, **changes) -> Appointment:
    """Move an appointment to another slot, car, advisor or purpose. Only a
    booked or confirmed appointment changes; returns it as saved."""
    unknown = set(changes) - APPOINTMENT_WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"Appointments cannot be given {', '.join(sorted(unknown))} here.")
    with transaction.atomic():
        current = Appointment.objects.select_for_update().select_related("customer").get(pk=appointment.pk)
        if changes and current.status not in (Appointment.Status.BOOKED, Appointment.Status.CONFIRMED):
            raise ValidationError(
                {"status": _("Only a booked or confirmed appointment can be changed.")}, code="appointment_closed"
            )
        for name, value in changes.items():
            setattr(current, name, value)
        errors = _appointment_errors(customer=current.customer, vehicle=current.vehicle, advisor=current.advisor)
        if errors:
            raise ValidationError(errors)
        current.full_clean(exclude=["dealership", "customer", "vehicle", "advisor", "repair_order"])
        if changes:
            current.save(update_fields=list(changes))
    return current


def appointments_mark_no_shows(*, now: datetime.datetime) -> int:
    """Booked or confirmed appointments whose slot began more than
    ``CRM_NO_SHOW_AFTER_MINUTES`` before ``now`` and that never arrived become
    no-shows. One UPDATE selected by state: a second run finds nothing."""
    cutoff = now - datetime.timedelta(minutes=settings.CRM_NO_SHOW_AFTER_MINUTES)
    return Appointment.objects.filter(
        status__in=[Appointment.Status.BOOKED, Appointment.Status.CONFIRMED],
        scheduled_at__lt=cutoff,
        arrived_at__isnull=True,
        repair_order__isnull=True,
    ).update(status=Appointment.Status.NO_SHOW)


def appointments_link_repair_orders(*, day: datetime.date, days: int = 1) -> int:
    """Link the repair orders opened on ``day`` (and the ``days - 1`` days
    before it) to the appointments they fulfil, as ``repair_order_open`` does
    one by one: for orders imported in bulk from the DMS.

    Two UPDATEs per day, whatever the number of orders; a rerun finds nothing
    left to link. Returns the number of appointments linked."""
    linked = 0
    for offset in range(days - 1, -1, -1):
        linked += _appointments_link(RepairOrder.objects.all(), day=day - datetime.timedelta(days=offset))
    return linked


def _appointments_link(orders: QuerySet[RepairOrder], *, day: datetime.date) -> int:
    """Link ``orders`` opened on the local ``day`` to the customer's
    appointments of that day still waiting for their visit: first those for
    the order's car, then those for no particular car. Linked appointments are
    arrived (``arrived_at`` = the order's opening time unless already recorded).

    Within a group (a customer's car; a customer's appointments without a
    car) the k-th waiting appointment in time takes the k-th free order: each
    order goes to one appointment at most, so the one-to-one link holds on
    PostgreSQL and SQLite alike, whether a statement sees its own earlier rows
    or not. Days are ranges of instants, not dates computed per row: the
    correlated look-ups stay on the (customer, opened_at) and (vehicle,
    opened_at) indexes of repair orders."""
    start, end = local_day_range(day)
    free = orders.filter(opened_at__gte=start, opened_at__lt=end).exclude(
        Exists(Appointment.objects.filter(repair_order=OuterRef("pk")))
    )
    waiting = Appointment.objects.filter(
        status__in=LINKABLE_STATUSES, repair_order__isnull=True, scheduled_at__gte=start, scheduled_at__lt=end
    )
    by_car = waiting.filter(vehicle__isnull=False)
    linked = _link(
        by_car, free, appointment_group=["customer_id", "vehicle_id"], order_group=["customer_id", "vehicle_id"]
    )
    # A second statement: it sees the orders the first one took.
    without_car = waiting.filter(vehicle__isnull=True)
    linked += _link(without_car, free, appointment_group=["customer_id"], order_group=["customer_id"])
    return linked


def _count(queryset: QuerySet) -> Subquery:
    """``SELECT COUNT(*)`` of ``queryset`` as a scalar subquery (COUNT without GROUP BY: always one row)."""
    counted = queryset.order_by().annotate(n=Func(F("pk"), function="COUNT")).values("n")
    return Subquery(counted, output_field=IntegerField())


def _link(
    appointments: QuerySet[Appointment],
    free: QuerySet[RepairOrder],
    *,
    appointment_group: list[str],
    order_group: list[str],
) -> int:
    """One UPDATE: each of ``appointments`` takes the free order of its group
    whose position (by opening time) equals its own (by slot time)."""
    outer, outer2 = OuterRef, lambda name: OuterRef(OuterRef(name))

    def slot_before(ref) -> Q:
        return Q(scheduled_at__lt=ref("scheduled_at")) | Q(scheduled_at=ref("scheduled_at"), pk__lt=ref("pk"))

    # Inside the order's subquery: the appointment being updated is two levels up.
    appointment_position = _count(appointments.filter(slot_before(outer2), **{f: outer2(f) for f in appointment_group}))
    opened_before = Q(opened_at__lt=outer("opened_at")) | Q(opened_at=outer("opened_at"), pk__lt=outer("pk"))
    order_position = _count(free.filter(opened_before, **{f: outer(f) for f in order_group}))
    order = (
        free.filter(**{f: outer(f) for f in order_group})
        .annotate(position=order_position)
        .filter(position=appointment_position)
        .order_by()[:1]
    )
    return appointments.filter(Exists(order)).update(
        repair_order=Subquery(order.values("pk")),
        status=Appointment.Status.ARRIVED,
        arrived_at=Coalesce(F("arrived_at"), Subquery(order.values("opened_at"))),
    )


def vehicle_service_stats_refresh(*, vehicle_ids: list[int] | None = None, full: bool = False) -> int:
    """Recompute each car's latest reading, km per day, last maintenance and
    how many maintenance visits it made.

    One ``UPDATE … FROM`` joins two grouped aggregates (readings, maintenance
    orders) and writes only the cars whose figures changed, so the nightly
    rerun touches almost nothing. Odometer readings never decrease per car
    (``vehicles.services.mileage_record``), so the first and latest readings
    are simply the minimum and maximum. km per day is the slope between them;
    with less than ``MIN_SPAN_DAYS`` of history it stays empty and generators
    fall back to ``CRM_DEFAULT_KM_PER_DAY``.

    Unless ``full`` (or given ``vehicle_ids``), only cars with readings or
    repair orders added since the last refresh are aggregated, found by id
    above the ``VehicleStatsWatermark``: a morning rerun reads almost
    nothing. Readings are only ever added (``mileage_record``); after editing
    or deleting history by hand, run a full refresh.
    """
    span = DaysBetween(Max("read_on"), Min("read_on"))
    readings = (
        MileageReading.objects.order_by()
        .values("vehicle_id")
        .annotate(
            last_on=Max("read_on"),
            last_km=Max("mileage"),
            kpd=Case(
                When(
                    GreaterThanOrEqual(span, MIN_SPAN_DAYS),
                    then=Round(Cast(Max("mileage") - Min("mileage"), FloatField()) / Cast(span, FloatField()), 1),
                ),
                default=None,
                output_field=FloatField(),
            ),
        )
    )
    maintenance = (
        RepairOrder.objects.filter(kind=RepairOrder.Kind.MAINTENANCE)
        .order_by()
        .values("vehicle_id")
        .annotate(
            day=TruncDate(Max("opened_at")), km=Max("mileage"), visits=Count("pk", filter=Q(voided_at__isnull=True))
        )
    )
    watermark = None
    if vehicle_ids is None and not full:
        watermark, _ = VehicleStatsWatermark.objects.get_or_create(pk=1)
        # Read the marks before the update: rows added meanwhile wait for the next run.
        marks = {
            "reading": MileageReading.objects.aggregate(m=Max("pk"))["m"] or 0,
            "repair_order": RepairOrder.objects.aggregate(m=Max("pk"))["m"] or 0,
        }
        if marks["reading"] < watermark.last_reading_id or marks["repair_order"] < watermark.last_repair_order_id:
            # Ids went backwards (tables emptied and refilled): nothing above the marks can be trusted.
            watermark.last_reading_id = watermark.last_repair_order_id = 0
        new_readings = MileageReading.objects.filter(pk__gt=watermark.last_reading_id).values("vehicle_id")
        new_orders = RepairOrder.objects.filter(pk__gt=watermark.last_repair_order_id).values("vehicle_id")
        touched = Q(vehicle_id__in=new_readings) | Q(vehicle_id__in=new_orders)
        readings, maintenance = readings.filter(touched), maintenance.filter(touched)
    elif vehicle_ids is not None:
        readings = readings.filter(vehicle_id__in=vehicle_ids)
        maintenance = maintenance.filter(vehicle_id__in=vehicle_ids)
    bounds = Vehicle.objects.aggregate(low=Min("pk"), high=Max("pk"))
    changed = 0
    if bounds["low"] is not None:
        # Fixed-size slices of cars: a first backfill of a million cars stays a
        # series of statements the database's buffers can hold.
        for start in range(bounds["low"], bounds["high"] + 1, STATS_SLICE):
            in_slice = Q(vehicle_id__gte=start, vehicle_id__lt=start + STATS_SLICE)
            changed += _stats_update(readings.filter(in_slice), maintenance.filter(in_slice))
    if watermark is not None:
        VehicleStatsWatermark.objects.filter(pk=watermark.pk).update(
            last_reading_id=marks["reading"], last_repair_order_id=marks["repair_order"], refreshed_at=timezone.now()
        )
    return changed


def _stats_update(readings, maintenance) -> int:
    """One ``UPDATE … FROM`` writing the aggregates onto the cars whose figures differ."""
    readings_sql, readings_params = _sql(readings)
    maintenance_sql, maintenance_params = _sql(maintenance)
    differs = "IS DISTINCT FROM" if connection.vendor == "postgresql" else "IS NOT"
    changes = {
        "current_mileage": "r.last_km",
        "current_mileage_date": "r.last_on",
        "km_per_day": "r.kpd",
        "last_maintenance_date": "m.day",
        "last_maintenance_mileage": "m.km",
        "maintenance_count": "COALESCE(m.visits, 0)",
    }
    table = Vehicle._meta.db_table
    sql = (
        f"UPDATE {table} SET {', '.join(f'{col} = {val}' for col, val in changes.items())} "
        f"FROM ({readings_sql}) AS r LEFT JOIN ({maintenance_sql}) AS m ON m.vehicle_id = r.vehicle_id "
        f"WHERE {table}.id = r.vehicle_id AND ("
        + " OR ".join(f"{table}.{col} {differs} {val}" for col, val in changes.items())
        + ")"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*readings_params, *maintenance_params])
        return cursor.rowcount


def _sql(queryset) -> tuple[str, tuple]:
    return queryset.query.get_compiler(using=queryset.db).as_sql()


# --- Insurance placed here ----------------------------------------------------------


def _insurance_errors(*, vehicle, insurer, kind, premium, starts_on, ends_on, by, source) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not (insurer or "").strip():
        errors["insurer"] = [_("Enter the insurer.")]
    if kind not in InsurancePolicy.Kind.values:
        errors["kind"] = [_("Choose compulsory or commercial insurance.")]
    if source not in InsurancePolicy.Source.values:
        errors["source"] = [_("Say where the policy was recorded.")]
    if premium is None:
        errors["premium"] = [_("Enter the premium.")]
    elif premium < 0:
        errors["premium"] = [_("The premium cannot be negative.")]
    if not isinstance(starts_on, datetime.date):
        errors["starts_on"] = [_("Enter the day the policy starts.")]
    if not isinstance(ends_on, datetime.date):
        errors["ends_on"] = [_("Enter the day the policy ends.")]
    elif isinstance(starts_on, datetime.date) and ends_on <= starts_on:
        errors["ends_on"] = [_("The policy ends after it starts.")]
    store = vehicle.customer.dealership_id
    if by is not None and not by.is_group_level and by.dealership_id != store:
        errors["vehicle"] = [_("Choose a car of your own dealership.")]
    return errors


def _decimal_or_none(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value).strip())
    except ArithmeticError:
        return Decimal("NaN")


def insurance_policy_record(
    *,
    vehicle: Vehicle,
    insurer: str,
    kind: str,
    premium,
    starts_on: datetime.date,
    ends_on: datetime.date,
    by,
    source: str,
) -> InsurancePolicy:
    """A policy the store sold or renewed for a car: recorded for the car's
    customer at the customer's store, and the car's insurance moved on to
    ``ends_on`` when that is later than what the car had (so care's renewal
    touches about the old expiry close as fulfilled: ``care.kinds.insurance``).
    The night earns its points (``loyalty.services.points_earn``).

    Raises ValidationError with a message per field (``insurer``, ``kind``,
    ``premium``, ``starts_on``, ``ends_on``, ``vehicle``): nothing is saved."""
    amount = _decimal_or_none(premium)
    if amount is not None and not amount.is_finite():
        raise ValidationError({"premium": [_("Enter the premium as a number of yuan.")]})
    errors = _insurance_errors(
        vehicle=vehicle,
        insurer=insurer,
        kind=kind,
        premium=amount,
        starts_on=starts_on,
        ends_on=ends_on,
        by=by,
        source=source,
    )
    if errors:
        raise ValidationError(errors)
    customer = vehicle.customer
    policy = InsurancePolicy(
        dealership_id=customer.dealership_id,
        vehicle=vehicle,
        customer=customer,
        insurer=insurer.strip(),
        kind=kind,
        premium=amount,
        starts_on=starts_on,
        ends_on=ends_on,
        source=source,
        sold_by=by,
    )
    # The fields' own limits (digits of the premium, the insurer's length); the
    # references were checked above and would cost a query each.
    policy.clean_fields(exclude=["dealership", "vehicle", "customer", "sold_by"])
    with transaction.atomic():
        policy.save()
        moved = (
            Vehicle.objects.filter(pk=vehicle.pk)
            .filter(Q(insurance_expiry_date__isnull=True) | Q(insurance_expiry_date__lt=ends_on))
            .update(
                insurance_expiry_date=ends_on, insurer=policy.insurer[: Vehicle._meta.get_field("insurer").max_length]
            )
        )
    if moved:
        vehicle.insurance_expiry_date = ends_on
        vehicle.insurer = policy.insurer[: Vehicle._meta.get_field("insurer").max_length]
    return policy
