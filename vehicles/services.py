import datetime

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.validators import normalize_plate, normalize_vin
from customers.models import Customer
from vehicles.models import MileageReading, Vehicle, VehicleModel


def vehicle_warranty_fill(vehicle: Vehicle) -> Vehicle:
    """A new car's warranty ends when its model's terms say (months after the
    purchase, kilometres), unless given: the one place of that rule, for
    ``vehicle_create`` and the file import's bulk inserts."""
    if vehicle.warranty_end_date is None:
        vehicle.warranty_end_date = vehicle.purchase_date + relativedelta(months=vehicle.model.warranty_months)
    if vehicle.warranty_end_km is None:
        vehicle.warranty_end_km = vehicle.model.warranty_km
    return vehicle


def vehicle_create(
    *, customer: Customer, vin: str, model: VehicleModel, purchase_date: datetime.date, by=None, **fields
) -> Vehicle:
    """Register a car; the warranty ends when the model's terms say unless
    given. The VIN and plate are normalised (spaces, lower case) first."""
    vin = normalize_vin(vin)
    if isinstance(fields.get("plate_number"), str):
        fields["plate_number"] = normalize_plate(fields["plate_number"])
    vehicle = Vehicle(customer=customer, vin=vin, model=model, purchase_date=purchase_date, **fields)
    vehicle_warranty_fill(vehicle)
    vehicle.full_clean()
    with transaction.atomic():
        vehicle.save()
        MileageReading.objects.create(
            vehicle=vehicle,
            read_on=purchase_date,
            mileage=vehicle.current_mileage,
            source=MileageReading.Source.DELIVERY,
        )
    return vehicle


def mileage_record(
    *, vehicle: Vehicle, read_on: datetime.date, mileage: int, source: str = MileageReading.Source.OTHER
) -> MileageReading:
    """Record an odometer reading; it must fit between the readings before and after it.

    The vehicle row is locked so that two writers cannot slip readings in
    between each other's check and insert.
    """
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        readings = MileageReading.objects.filter(vehicle=locked)
        bounds = readings.aggregate(
            before=Max("mileage", filter=Q(read_on__lte=read_on)),
            after=Min("mileage", filter=Q(read_on__gt=read_on)),
        )
        if bounds["before"] is not None and mileage < bounds["before"]:
            raise ValidationError(
                {
                    "mileage": _("The odometer read %(before)s km on or before this date; a reading cannot go down.")
                    % {"before": bounds["before"]}
                },
                code="mileage_decreasing",
            )
        if bounds["after"] is not None and mileage > bounds["after"]:
            raise ValidationError(
                {
                    "mileage": _("A later reading shows only %(after)s km; this reading cannot be higher.")
                    % {"after": bounds["after"]}
                },
                code="mileage_above_later",
            )
        reading = MileageReading.objects.create(vehicle=locked, read_on=read_on, mileage=mileage, source=source)
        if locked.current_mileage_date is None or read_on >= locked.current_mileage_date:
            locked.current_mileage = mileage
            locked.current_mileage_date = read_on
            locked.save(update_fields=["current_mileage", "current_mileage_date"])
            vehicle.current_mileage, vehicle.current_mileage_date = mileage, read_on
    return reading


# What the API and imports may change on a car. ``current_mileage`` goes
# through ``mileage_record``; the owner changes only with a sale (not here);
# the service figures are the nightly refresh's.
VEHICLE_WRITABLE_FIELDS = frozenset(
    {
        "model",
        "plate_number",
        "engine_number",
        "transmission_number",
        "colour",
        "purchase_date",
        "sold_here",
        "usage",
        "status",
        "current_mileage",
        "warranty_end_date",
        "warranty_end_km",
        "insurance_expiry_date",
        "insurer",
        "inspection_due_date",
    }
)


def vehicle_update(
    *, vehicle: Vehicle, by, source: str = MileageReading.Source.OTHER, read_on: datetime.date | None = None, **changes
) -> Vehicle:
    """Change a car's fields. A new ``current_mileage`` is an odometer reading
    of ``read_on`` (today unless given) recorded through ``mileage_record``
    with ``source``: a reading below an earlier one is refused with its
    reason under ``current_mileage``, and then nothing at all is changed.
    Returns the car as saved (a fresh instance)."""
    unknown = set(changes) - VEHICLE_WRITABLE_FIELDS
    if unknown:
        raise TypeError(f"Cars cannot be given {', '.join(sorted(unknown))} here.")
    mileage = changes.pop("current_mileage", None)
    if isinstance(changes.get("plate_number"), str):
        changes["plate_number"] = normalize_plate(changes["plate_number"])
    with transaction.atomic():
        current = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        for name, value in changes.items():
            setattr(current, name, value)
        # Only what changes is judged: a legacy value elsewhere on the row does not block an edit.
        current.full_clean(exclude=[f.name for f in Vehicle._meta.fields if f.name not in changes])
        if changes:
            current.save(update_fields=list(changes))
        if mileage is not None and mileage != current.current_mileage:
            try:
                mileage_record(vehicle=current, read_on=read_on or timezone.localdate(), mileage=mileage, source=source)
            except ValidationError as exc:
                raise ValidationError({"current_mileage": exc.messages}, code="mileage_refused") from exc
    return current


def vehicle_upsert_by_vin(
    *, vin: str, customer: Customer, by, source: str = MileageReading.Source.OTHER, **fields
) -> tuple[Vehicle, bool]:
    """The car with this VIN updated (``vehicle_update``), or registered
    (``vehicle_create``) for ``customer``; returns it and whether it is new.
    A known car keeps its owner: a different ``customer`` is refused. The
    owner's row is locked first, so that two syncs of one new car register
    it once (the second finds it and updates it)."""
    vin = normalize_vin(vin)
    with transaction.atomic():
        list(Customer.objects.select_for_update().filter(pk=customer.pk).values_list("pk", flat=True))
        existing = Vehicle.objects.select_for_update().filter(vin=vin).first()
        if existing is None:
            return vehicle_create(customer=customer, vin=vin, by=by, **fields), True
        if existing.customer_id != customer.pk:
            raise ValidationError(
                {"customer": _("This car belongs to another customer; a change of owner is not made here.")},
                code="owner_differs",
            )
        return vehicle_update(vehicle=existing, by=by, source=source, **fields), False
