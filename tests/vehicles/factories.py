import datetime

import factory

from crm.validators import vin_check_digit
from tests.customers.factories import CustomerFactory
from vehicles.models import Vehicle, VehicleModel


def make_vin(serial: int, wmi: str = "LSV") -> str:
    """A VIN with a correct check digit: WMI + VDS + check + year/plant + serial."""
    body = f"{wmi}AB2AT" + "0" + f"NS{serial:06d}"
    return body[:8] + vin_check_digit(body) + body[9:]


class VehicleModelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = VehicleModel
        django_get_or_create = ("brand", "name")

    brand = "大众"
    name = factory.Sequence(lambda n: f"帕萨特{n}")
    vehicle_class = VehicleModel.VehicleClass.SEDAN
    first_maintenance_km = 7500
    first_maintenance_months = 6
    maintenance_interval_km = 10000
    maintenance_interval_months = 12
    warranty_months = 36
    warranty_km = 100000


class VehicleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Vehicle

    customer = factory.SubFactory(CustomerFactory)
    vin = factory.Sequence(make_vin)
    model = factory.SubFactory(VehicleModelFactory)
    plate_number = factory.Sequence(lambda n: f"沪A{n % 100000:05d}")
    purchase_date = datetime.date(2024, 3, 15)
    usage = Vehicle.Usage.PRIVATE
