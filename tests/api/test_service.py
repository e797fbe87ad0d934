"""Repair orders (with lines, close, upsert by the store's order number),
appointments (book, move, confirm, cancel) and insurance policies through the API."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from service.models import Appointment, RepairOrder
from service.services import appointment_transition
from tests.api.conftest import get, ids, patch, post
from tests.api.factories import AppointmentFactory, RepairOrderFactory, TechnicianFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
ORDERS = "/api/v1/repair-orders/"
APPOINTMENTS = "/api/v1/appointments/"

LINES = [
    {"line_type": "labor", "description": "更换机油机滤", "amount": "180.00"},
    {"line_type": "part", "description": "机油 5W-30", "part_number": "G052", "quantity": "4", "amount": "320.50"},
    {"line_type": "labor", "description": "更换刹车片", "status": "declined", "quoted_amount": "600.00"},
]


def order_data(vehicle, **changes) -> dict:
    data = {
        "vehicle": vehicle.pk,
        "number": "RO-2026-0001",
        "kind": "maintenance",
        "opened_at": "2026-05-06T09:30:00+08:00",
        "mileage": 15000,
        "lines": LINES,
    }
    return {**data, **changes}


def test_an_order_is_created_with_its_lines_and_a_reading(api, vehicle):
    response = post(api, ORDERS, order_data(vehicle))
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["dealership"], body["customer"], body["total_amount"]) == (
        vehicle.customer.dealership_id,
        vehicle.customer_id,
        "0.00",  # summed when it closes
    )
    assert [line["description"] for line in body["lines"]] == ["更换机油机滤", "机油 5W-30", "更换刹车片"]
    reading = vehicle.mileage_readings.get()
    assert (reading.mileage, reading.source, reading.read_on) == (15000, "repair_order", datetime.date(2026, 5, 6))


def test_closing_sums_the_done_lines(api, vehicle):
    order = post(api, ORDERS, order_data(vehicle)).json()
    response = post(api, f"{ORDERS}{order['id']}/close/", {"closed_at": "2026-05-06T16:00:00+08:00"})
    assert response.status_code == 200, response.content
    body = response.json()
    # 180.00 labour; 320.50 parts; the declined line counts for nothing.
    assert (body["labor_amount"], body["parts_amount"], body["total_amount"]) == ("180.00", "320.50", "500.50")
    vehicle.customer.refresh_from_db()
    assert vehicle.customer.last_visit_date == datetime.date(2026, 5, 6)
    early = post(api, f"{ORDERS}{order['id']}/close/", {"closed_at": "2026-05-05T16:00:00+08:00"})
    assert early.status_code == 400 and "closed_at" in early.json()


def test_a_charged_line_not_done_is_refused_with_its_position(api, vehicle):
    bad = [*LINES[:1], {"description": "未做", "status": "recommended", "amount": "50"}]
    response = post(api, ORDERS, order_data(vehicle, lines=bad))
    assert response.status_code == 400
    assert "Line 2" in response.json()["lines"][0]
    assert not RepairOrder.objects.exists()


def test_a_lower_mileage_than_the_last_reading_refuses_the_order(api, vehicle):
    assert post(api, ORDERS, order_data(vehicle, mileage=40237)).status_code == 201
    response = post(api, ORDERS, order_data(vehicle, number="RO-2", mileage=5, opened_at="2026-06-01T09:00:00+08:00"))
    assert response.status_code == 400
    assert "40237" in response.json()["mileage"][0]
    assert RepairOrder.objects.count() == 1


def test_a_duplicate_number_in_the_store_is_a_400(api, vehicle):
    assert post(api, ORDERS, order_data(vehicle)).status_code == 201
    response = post(api, ORDERS, order_data(vehicle, opened_at="2026-05-07T09:30:00+08:00", mileage=15100))
    assert response.status_code == 400
    assert RepairOrder.objects.count() == 1


def test_upsert_by_order_number_creates_then_updates(api, vehicle):
    created = post(api, f"{ORDERS}upsert/", order_data(vehicle, lines=LINES[:1]))
    assert created.status_code == 201, created.content
    again = post(
        api,
        f"{ORDERS}upsert/",
        order_data(vehicle, lines=LINES, work_done="保养", closed_at="2026-05-06T17:00:00+08:00"),
    )
    assert again.status_code == 200, again.content
    order = RepairOrder.objects.get()
    assert again.json()["id"] == created.json()["id"] == order.pk
    assert (order.work_done, order.total_amount, order.lines.count()) == ("保养", Decimal("500.50"), 3)
    assert order.closed_at == datetime.datetime(2026, 5, 6, 17, tzinfo=SH)
    # One reading: the update did not record the order's mileage again.
    assert vehicle.mileage_readings.count() == 1


def test_upsert_refuses_to_move_an_order_to_another_car(api, vehicle, customer):
    post(api, f"{ORDERS}upsert/", order_data(vehicle))
    other = VehicleFactory(customer=customer)
    response = post(api, f"{ORDERS}upsert/", order_data(other))
    assert response.status_code == 400 and "vehicle" in response.json()
    assert RepairOrder.objects.get().vehicle == vehicle


def test_the_same_number_at_another_store_is_another_order(client, group_admin, vehicle, other_dealership):
    client.force_login(group_admin)
    theirs = VehicleFactory(customer=CustomerFactory(dealership=other_dealership))
    assert post(client, f"{ORDERS}upsert/", order_data(vehicle)).status_code == 201
    assert post(client, f"{ORDERS}upsert/", order_data(theirs)).status_code == 201
    assert RepairOrder.objects.filter(number="RO-2026-0001").count() == 2


def test_a_technician_of_another_store_is_refused(api, vehicle, other_dealership):
    stranger = TechnicianFactory(dealership=other_dealership)
    response = post(api, ORDERS, order_data(vehicle, technician_id=stranger.pk))
    assert response.status_code == 400 and "technician_id" in response.json()


def test_orders_filter_by_kind_closed_and_opening_range(api, vehicle):
    may = RepairOrderFactory(vehicle=vehicle, opened_at=datetime.datetime(2026, 5, 6, 9, tzinfo=SH))
    june = RepairOrderFactory(
        vehicle=vehicle,
        kind="repair",
        opened_at=datetime.datetime(2026, 6, 6, 9, tzinfo=SH),
        closed_at=datetime.datetime(2026, 6, 6, 15, tzinfo=SH),
    )
    assert ids(get(api, ORDERS, {"kind": "repair"})) == [june.pk]
    assert ids(get(api, ORDERS, {"closed": "false"})) == [may.pk]
    assert ids(get(api, ORDERS, {"opened_at_before": "2026-05-31"})) == [may.pk]
    assert ids(get(api, ORDERS, {"opened_at_after": "2026-06-06", "opened_at_before": "2026-06-06"})) == [june.pk]
    assert ids(get(api, ORDERS)) == [june.pk, may.pk]  # newest first
    assert ids(get(api, ORDERS, {"ordering": "opened_at"})) == [may.pk, june.pk]


# --- Appointments ----------------------------------------------------------------------


def test_an_appointment_is_booked_moved_and_cancelled_through_the_services(api, advisor, customer, vehicle):
    data = {"customer": customer.pk, "vehicle": vehicle.pk, "scheduled_at": "2026-06-01T10:00:00+08:00"}
    booked = post(api, APPOINTMENTS, {**data, "advisor": advisor.pk, "notes": " 换机油 ", "status": "arrived"})
    assert booked.status_code == 201, booked.content
    body = booked.json()
    assert (body["status"], body["notes"], body["dealership"]) == ("booked", "换机油", customer.dealership_id)
    url = f"{APPOINTMENTS}{body['id']}/"
    moved = patch(api, url, {"scheduled_at": "2026-06-02T14:30:00+08:00"})
    assert moved.status_code == 200, moved.content
    assert post(api, f"{url}confirm/").json()["status"] == "confirmed"
    cancelled = post(api, f"{url}cancel/")
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    appointment = Appointment.objects.get()
    assert appointment.scheduled_at == datetime.datetime(2026, 6, 2, 14, 30, tzinfo=SH)
    # A cancelled appointment is not moved, nor confirmed again.
    assert patch(api, url, {"notes": "改"}).status_code == 400
    refused = post(api, f"{url}confirm/")
    assert refused.status_code == 400 and "status" in refused.json()


def test_a_car_of_another_customer_is_refused(api, customer, dealership):
    someone_elses = VehicleFactory(customer=CustomerFactory(dealership=dealership))
    response = post(
        api,
        APPOINTMENTS,
        {"customer": customer.pk, "vehicle": someone_elses.pk, "scheduled_at": "2026-06-01T10:00:00+08:00"},
    )
    assert response.status_code == 400 and "vehicle" in response.json()


@pytest.mark.parametrize(
    ("start", "to", "allowed"),
    [
        ("booked", "confirmed", True),
        ("booked", "cancelled", True),
        ("confirmed", "booked", False),
        ("no_show", "arrived", True),
        ("arrived", "cancelled", False),
        ("cancelled", "arrived", False),
        ("cancelled", "cancelled", True),  # no change, no error
    ],
)
def test_appointment_transitions_follow_the_map(advisor, customer, start, to, allowed):
    appointment = AppointmentFactory(customer=customer, status=start)
    if allowed:
        appointment_transition(appointment=appointment, to=to, by=advisor)
        appointment.refresh_from_db()
        assert appointment.status == to
    else:
        with pytest.raises(ValidationError):
            appointment_transition(appointment=appointment, to=to, by=advisor)
        appointment.refresh_from_db()
        assert appointment.status == start


def test_appointments_filter_by_status_and_range(api, customer):
    june = AppointmentFactory(customer=customer, scheduled_at=datetime.datetime(2026, 6, 1, 10, tzinfo=SH))
    AppointmentFactory(customer=customer, status="cancelled", scheduled_at=datetime.datetime(2026, 7, 1, 10, tzinfo=SH))
    assert ids(get(api, APPOINTMENTS, {"status": ["booked", "confirmed"]})) == [june.pk]
    assert ids(get(api, APPOINTMENTS, {"scheduled_at_before": "2026-06-30"})) == [june.pk]
