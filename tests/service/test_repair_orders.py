import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import IntegrityError, transaction

from customers.models import Customer
from service.models import RepairLine, RepairOrder
from service.services import repair_line_add, repair_order_close, repair_order_open
from tests.crm.factories import DealershipFactory
from vehicles.models import Vehicle

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(2025, 9, day, hour, tzinfo=SH)


def test_closing_sums_done_lines_records_mileage_and_moves_last_visit(vehicle, advisor):
    order = repair_order_open(vehicle=vehicle, number="RO-1", kind="maintenance", opened_at=at(3), mileage=15000)
    repair_line_add(repair_order=order, description="机油机滤更换", line_type="labor", amount=Decimal("180.00"))
    repair_line_add(repair_order=order, description="机油 5W-30", line_type="part", amount=Decimal("420.50"))
    repair_line_add(repair_order=order, description="刹车片更换", status="declined", quoted_amount=Decimal("860.00"))

    repair_order_close(repair_order=order, closed_at=at(3, 15))

    order.refresh_from_db()
    # 180.00 labour + 420.50 parts; the declined 860.00 is not charged.
    assert (order.labor_amount, order.parts_amount, order.total_amount) == (
        Decimal("180.00"),
        Decimal("420.50"),
        Decimal("600.50"),
    )
    assert Customer.objects.get(pk=vehicle.customer_id).last_visit_date == datetime.date(2025, 9, 3)
    assert Vehicle.objects.get(pk=vehicle.pk).current_mileage == 15000
    declined = RepairLine.objects.get(status="declined")
    assert declined.quoted_amount == Decimal("860.00") and declined.amount == 0


def test_late_night_order_counts_on_the_shanghai_date(vehicle):
    # 23:30 in Shanghai is 15:30 UTC the same day; 00:30 is the previous UTC day.
    order = repair_order_open(
        vehicle=vehicle,
        number="RO-2",
        kind="repair",
        opened_at=datetime.datetime(2025, 9, 4, 0, 30, tzinfo=SH),
        mileage=100,
    )
    repair_order_close(repair_order=order, closed_at=datetime.datetime(2025, 9, 4, 2, 0, tzinfo=SH))
    assert Customer.objects.get(pk=vehicle.customer_id).last_visit_date == datetime.date(2025, 9, 4)


def test_an_older_order_does_not_move_last_visit_back(vehicle):
    new = repair_order_open(vehicle=vehicle, number="RO-3", kind="maintenance", opened_at=at(10), mileage=2000)
    repair_order_close(repair_order=new, closed_at=at(10, 12))
    old = RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number="RO-0",
        kind="repair",
        opened_at=at(1),
        mileage=1000,
    )
    repair_order_close(repair_order=old, closed_at=at(1, 12))
    assert Customer.objects.get(pk=vehicle.customer_id).last_visit_date == datetime.date(2025, 9, 10)


def test_ro_number_is_unique_per_dealership_only(vehicle):
    repair_order_open(vehicle=vehicle, number="RO-9", kind="repair", opened_at=at(1), mileage=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        RepairOrder.objects.create(
            dealership=vehicle.customer.dealership,
            customer=vehicle.customer,
            vehicle=vehicle,
            number="RO-9",
            kind="repair",
            opened_at=at(2),
            mileage=20,
        )
    RepairOrder.objects.create(
        dealership=DealershipFactory(code="other"),
        customer=vehicle.customer,
        vehicle=vehicle,
        number="RO-9",
        kind="repair",
        opened_at=at(2),
        mileage=20,
    )


@pytest.mark.parametrize(
    "amounts",
    [
        {"labor_amount": Decimal("-1"), "parts_amount": Decimal("1"), "total_amount": Decimal("0")},
        {"labor_amount": Decimal("10"), "parts_amount": Decimal("10"), "total_amount": Decimal("25")},
    ],
)
def test_database_refuses_negative_or_inconsistent_amounts(vehicle, amounts):
    with pytest.raises(IntegrityError), transaction.atomic():
        RepairOrder.objects.create(
            dealership=vehicle.customer.dealership,
            customer=vehicle.customer,
            vehicle=vehicle,
            number="RO-X",
            kind="repair",
            opened_at=at(1),
            mileage=10,
            **amounts,
        )


def test_database_refuses_charging_a_declined_line(vehicle):
    order = repair_order_open(vehicle=vehicle, number="RO-5", kind="repair", opened_at=at(1), mileage=10)
    with pytest.raises(IntegrityError), transaction.atomic():
        RepairLine.objects.create(repair_order=order, description="x", status="declined", amount=Decimal("5"))


def test_vin_is_unique(vehicle):
    with pytest.raises(IntegrityError), transaction.atomic():
        Vehicle.objects.create(
            customer=vehicle.customer, vin=vehicle.vin, model=vehicle.model, purchase_date=datetime.date(2024, 1, 1)
        )


@pytest.mark.parametrize(("labour", "parts"), [("0.10", "0.20"), ("180.10", "420.20"), ("99999.99", "0.01")])
def test_cent_amounts_add_up_on_every_database(vehicle, labour, parts):
    # 0.10 + 0.20 is 0.30000000000000004 in binary floating point, which is
    # how SQLite evaluates a CHECK; the constraint must still accept 0.30.
    total = {"0.10": "0.30", "180.10": "600.30", "99999.99": "100000.00"}[labour]
    RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=f"RO-{labour}",
        kind="repair",
        opened_at=at(1),
        mileage=10,
        labor_amount=Decimal(labour),
        parts_amount=Decimal(parts),
        total_amount=Decimal(total),
    )
