import datetime

from dateutil.relativedelta import relativedelta
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Max, Min, Q
from django.utils.translation import gettext as _

from customers.models import Customer
from vehicles.models import MileageReading, Vehicle, VehicleModel


def vehicle_create(
    *, customer: Customer, vin: str, model: VehicleModel, purchase_date: datetime.date, **fields
) -> Vehicle:
    """Register a car; the warranty ends when the model's terms say unless given."""
    vehicle = Vehicle(customer=customer, vin=vin, model=model, purchase_date=purchase_date, **fields)
    if vehicle.warranty_end_date is None:
        vehicle.warranty_end_date = purchase_date + relativedelta(months=model.warranty_months)
    if vehicle.warranty_end_km is None:
        vehicle.warranty_end_km = model.warranty_km
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
