"""Car figures: the set-based refresh of each car's mileage, km per day and last maintenance."""

from django.db import connection
from django.db.models import (
    Case,
    Count,
    FloatField,
    Max,
    Min,
    Q,
    When,
)
from django.db.models.functions import Cast, Round, TruncDate
from django.db.models.lookups import GreaterThanOrEqual
from django.utils import timezone

from crm.sql import DaysBetween
from service.models import RepairOrder, VehicleStatsWatermark
from vehicles.models import MileageReading, Vehicle

# Less odometer history than this says little about how much a car is driven.
MIN_SPAN_DAYS = 30
# Cars per statement when their figures are refreshed.
STATS_SLICE = 50_000


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
