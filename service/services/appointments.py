"""Appointments: booking, updates, status transitions, no-shows and linking to the repair orders that fulfil them."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Exists,
    F,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
)
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from service.models import Appointment, RepairOrder
from service.selectors import local_day_range
from service.signals import appointment_arrived
from vehicles.models import Vehicle

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
