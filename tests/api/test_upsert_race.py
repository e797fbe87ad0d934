"""Two DMS syncs upserting one new natural key at the same moment, without an
Idempotency-Key, still make one row (PostgreSQL: real concurrent connections)."""

import threading

import pytest
from django.db import connection
from django.test import Client

from customers.models import Customer
from service.models import RepairOrder
from tests.api.conftest import post
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory, make_vin
from vehicles.models import Vehicle

pytestmark = [
    pytest.mark.skipif("connection.vendor != 'postgresql'", reason="concurrent connections"),
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]


def at_once(user, url, data) -> list[int]:
    start, statuses = threading.Barrier(2), []

    def send():
        client = Client()
        client.force_login(user)
        try:
            start.wait(5)
            statuses.append(post(client, url, data).status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


def test_two_upserts_of_a_new_mobile_make_one_customer(advisor):
    for n in range(4):
        phone = f"1390000{n:04d}"
        assert at_once(advisor, "/api/v1/customers/upsert/", {"name": "韩梅梅", "phone": phone}) == [200, 201]
        assert Customer.objects.filter(phone=phone).count() == 1


def test_two_upserts_of_a_new_order_number_make_one_order(advisor):
    car = VehicleFactory(customer__dealership=advisor.dealership)
    for n in range(4):
        data = {
            "vehicle": car.pk,
            "number": f"RO-{n}",
            "kind": "repair",
            "opened_at": "2026-05-06T09:30:00+08:00",
            "mileage": 100,
        }
        assert at_once(advisor, "/api/v1/repair-orders/upsert/", data) == [200, 201]
        assert RepairOrder.objects.filter(number=f"RO-{n}").count() == 1


def test_two_upserts_of_a_new_vin_make_one_car(advisor):
    owner, model = CustomerFactory(dealership=advisor.dealership), VehicleModelFactory()
    for n in range(4):
        data = {"customer": owner.pk, "model": model.pk, "purchase_date": "2025-05-01", "vin": make_vin(900 + n)}
        assert at_once(advisor, "/api/v1/vehicles/upsert/", data) == [200, 201]
        assert Vehicle.objects.filter(vin=data["vin"]).count() == 1
