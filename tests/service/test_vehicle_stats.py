import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from service.models import RepairOrder
from service.services import vehicle_service_stats_refresh
from vehicles.models import MileageReading, Vehicle

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date


def ro(vehicle, number, kind, day, mileage):
    return RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=number,
        kind=kind,
        opened_at=datetime.datetime(day.year, day.month, day.day, 0, 30, tzinfo=SH),
        mileage=mileage,
    )


def test_last_maintenance_and_km_per_day_come_from_history(vehicle):
    MileageReading.objects.bulk_create(
        [
            MileageReading(vehicle=vehicle, read_on=D(2024, 3, 15), mileage=0),
            MileageReading(vehicle=vehicle, read_on=D(2025, 3, 15), mileage=14600),
        ]
    )
    ro(vehicle, "R1", "maintenance", D(2024, 9, 1), 7000)
    ro(vehicle, "R2", "repair", D(2025, 1, 1), 12000)
    # 00:30 in Shanghai is the previous day in UTC; the local date counts.
    ro(vehicle, "R3", "maintenance", D(2025, 2, 1), 13000)

    assert vehicle_service_stats_refresh() == 1

    fresh = Vehicle.objects.get(pk=vehicle.pk)
    assert fresh.last_maintenance_date == D(2025, 2, 1)
    assert fresh.last_maintenance_mileage == 13000
    # 14,600 km over the 365 days from 2024-03-15 to 2025-03-15.
    assert fresh.km_per_day == Decimal("40.0")
    # R1 and R3: the repair order is no maintenance.
    assert fresh.maintenance_count == 2


def test_a_voided_maintenance_order_is_not_a_maintenance_visit(vehicle):
    MileageReading.objects.create(vehicle=vehicle, read_on=D(2025, 1, 1), mileage=10000)
    ro(vehicle, "M1", "maintenance", D(2024, 6, 1), 5000)
    ro(vehicle, "M2", "maintenance", D(2024, 12, 1), 9000)
    voided = ro(vehicle, "M3", "maintenance", D(2025, 1, 1), 10000)
    RepairOrder.objects.filter(pk=voided.pk).update(voided_at=datetime.datetime(2025, 1, 2, tzinfo=SH))

    vehicle_service_stats_refresh(full=True)

    assert Vehicle.objects.get(pk=vehicle.pk).maintenance_count == 2


def test_short_history_leaves_km_per_day_empty(vehicle):
    MileageReading.objects.bulk_create(
        [
            MileageReading(vehicle=vehicle, read_on=D(2025, 3, 1), mileage=0),
            MileageReading(vehicle=vehicle, read_on=D(2025, 3, 20), mileage=900),
        ]
    )
    vehicle_service_stats_refresh(vehicle_ids=[vehicle.pk])
    fresh = Vehicle.objects.get(pk=vehicle.pk)
    assert fresh.km_per_day is None
    assert fresh.last_maintenance_date is None


def test_a_rerun_reads_only_cars_with_new_history(vehicle):
    other = type(vehicle).objects.create(
        customer=vehicle.customer, vin="LSVAB2AT6NS000001", model=vehicle.model, purchase_date=D(2024, 3, 15)
    )
    for car in (vehicle, other):
        MileageReading.objects.create(vehicle=car, read_on=D(2024, 3, 15), mileage=0)
    assert vehicle_service_stats_refresh() == 2
    assert vehicle_service_stats_refresh() == 0  # nothing new: nothing written

    MileageReading.objects.create(vehicle=other, read_on=D(2024, 9, 15), mileage=7320)
    assert vehicle_service_stats_refresh() == 1
    # 7,320 km over the 184 days from 2024-03-15 to 2024-09-15.
    assert Vehicle.objects.get(pk=other.pk).km_per_day == Decimal("39.8")
    assert Vehicle.objects.get(pk=vehicle.pk).km_per_day is None
