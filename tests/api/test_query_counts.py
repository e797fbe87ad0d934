"""Every list of the API core costs a fixed number of queries, whatever the
number of rows (two sizes), and a cursor page counts nothing."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.factories import AppointmentFactory, InsurancePolicyFactory, MileageReadingFactory, RepairLineFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

# Session and user, then the page's own queries.
AUTH = 2


def fill(kind: str, n: int, customer, vehicle):
    store = customer.dealership
    for i in range(n):
        if kind == "customers":
            CustomerFactory(dealership=store, advisor=customer.advisor)
        elif kind == "vehicles":
            VehicleFactory(customer=customer)
        elif kind == "vehicle-models":
            VehicleModelFactory()
        elif kind == "readings":
            MileageReadingFactory(vehicle=vehicle, mileage=1000 + i)
        elif kind == "repair-orders":
            RepairLineFactory.create_batch(2, repair_order__vehicle=vehicle)
        elif kind == "appointments":
            AppointmentFactory(customer=customer, vehicle=vehicle, advisor=customer.advisor)
        elif kind == "insurance-policies":
            InsurancePolicyFactory(vehicle=vehicle)


# What each list reads besides the session and the user, worked out from its queryset:
LISTS = {
    "customers": ("/api/v1/customers/", 1),  # customers joined with store and advisor
    "vehicles": ("/api/v1/vehicles/", 1),  # cars joined with model and owner
    "vehicle-models": ("/api/v1/vehicle-models/", 1),
    "readings": (None, 2),  # the car (scoped), its readings
    "repair-orders": ("/api/v1/repair-orders/", 2),  # orders with technician and discount, their lines
    "appointments": ("/api/v1/appointments/", 1),
    "insurance-policies": ("/api/v1/insurance-policies/", 1),
}


@pytest.mark.parametrize("kind", list(LISTS))
def test_each_list_costs_the_same_queries_at_two_sizes(api, customer, vehicle, kind):
    url, own = LISTS[kind]
    url = url or f"/api/v1/vehicles/{vehicle.pk}/readings/"
    counts = []
    for size in (2, 12):
        fill(kind, size - (len(counts) and 2), customer, vehicle)
        api.get(url)  # the session warm
        with CaptureQueriesContext(connection) as queries:
            response = api.get(url)
        assert response.status_code == 200
        assert len(response.json()["results"]) >= size
        counts.append(len(queries))
    assert counts == [AUTH + own, AUTH + own], [q["sql"] for q in queries.captured_queries]
