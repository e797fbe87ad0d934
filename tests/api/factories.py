"""Factories of the service app's rows, for the API tests (test setup only:
the behaviour under test goes through the API and its services)."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from service.models import Appointment, InsurancePolicy, RepairLine, RepairOrder, Technician
from tests.vehicles.factories import VehicleFactory
from vehicles.models import MileageReading

SH = ZoneInfo("Asia/Shanghai")


class TechnicianFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Technician

    dealership = factory.SubFactory("tests.crm.factories.DealershipFactory")
    name = factory.Sequence(lambda n: f"技师{n}")
    code = factory.Sequence(lambda n: f"T{n:03d}")


class RepairOrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepairOrder

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.SelfAttribute("vehicle.customer")
    dealership = factory.SelfAttribute("vehicle.customer.dealership")
    number = factory.Sequence(lambda n: f"RO{n:06d}")
    kind = RepairOrder.Kind.MAINTENANCE
    opened_at = datetime.datetime(2026, 5, 6, 9, 30, tzinfo=SH)
    mileage = 12000


class RepairLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RepairLine

    repair_order = factory.SubFactory(RepairOrderFactory)
    description = factory.Sequence(lambda n: f"工时{n}")
    amount = Decimal("100.00")


class AppointmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Appointment

    customer = factory.SubFactory("tests.customers.factories.CustomerFactory")
    dealership = factory.SelfAttribute("customer.dealership")
    scheduled_at = datetime.datetime(2026, 6, 1, 10, 0, tzinfo=SH)


class InsurancePolicyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InsurancePolicy

    vehicle = factory.SubFactory(VehicleFactory)
    customer = factory.SelfAttribute("vehicle.customer")
    dealership = factory.SelfAttribute("vehicle.customer.dealership")
    insurer = "太保"
    kind = InsurancePolicy.Kind.COMMERCIAL
    premium = Decimal("4200.50")
    starts_on = datetime.date(2026, 7, 16)
    ends_on = datetime.date(2027, 7, 15)


class MileageReadingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = MileageReading

    vehicle = factory.SubFactory(VehicleFactory)
    read_on = datetime.date(2026, 1, 10)
    mileage = 10000
