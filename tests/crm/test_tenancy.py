"""Cross-dealership access is a 404 in pages, the admin and the API alike."""

import pytest
from django.urls import reverse

from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory


@pytest.fixture
def foreign_vehicle(other_dealership):
    return VehicleFactory(customer=CustomerFactory(dealership=other_dealership, name="外店客户"))


@pytest.fixture
def foreign_customer(foreign_vehicle):
    return foreign_vehicle.customer


@pytest.mark.parametrize("who", ["advisor", "manager"])
def test_pages_of_another_store_are_404(client, request, who, customer, vehicle, foreign_customer, foreign_vehicle):
    client.force_login(request.getfixturevalue(who))
    assert client.get(reverse("customers:detail", args=[customer.pk])).status_code == 200
    assert client.get(reverse("vehicles:detail", args=[vehicle.pk])).status_code == 200
    assert client.get(reverse("customers:detail", args=[foreign_customer.pk])).status_code == 404
    assert client.get(reverse("vehicles:detail", args=[foreign_vehicle.pk])).status_code == 404


def test_lists_and_search_show_only_own_dealership(client, advisor, customer, vehicle, foreign_customer):
    client.force_login(advisor)
    listing = client.get(reverse("customers:list")).content.decode()
    assert customer.name in listing and foreign_customer.name not in listing
    found = client.get(reverse("customers:search"), {"q": foreign_customer.phone}).content.decode()
    assert foreign_customer.name not in found


def test_group_admin_sees_every_dealership(client, group_admin, customer, foreign_customer):
    client.force_login(group_admin)
    assert client.get(reverse("customers:detail", args=[foreign_customer.pk])).status_code == 200
    listing = client.get(reverse("customers:list")).content.decode()
    assert customer.name in listing and foreign_customer.name in listing


@pytest.mark.parametrize(
    ("url_name", "obj"),
    [
        ("admin:customers_customer_change", "foreign_customer"),
        ("admin:vehicles_vehicle_change", "foreign_vehicle"),
    ],
)
def test_admin_change_page_of_another_dealership_is_404(client, request, manager, url_name, obj):
    target = request.getfixturevalue(obj)
    client.force_login(manager)
    assert client.get(reverse(url_name, args=[target.pk])).status_code == 404


def test_admin_lists_only_own_dealership(client, manager, customer, foreign_customer):
    client.force_login(manager)
    page = client.get(reverse("admin:customers_customer_changelist")).content.decode()
    assert customer.name in page
    assert foreign_customer.name not in page
    assert client.get(reverse("admin:customers_customer_change", args=[customer.pk])).status_code == 200


def test_group_admin_opens_any_dealership_in_admin(client, group_admin, foreign_customer):
    client.force_login(group_admin)
    assert client.get(reverse("admin:customers_customer_change", args=[foreign_customer.pk])).status_code == 200


def test_advisor_cannot_use_the_admin(client, advisor, customer):
    client.force_login(advisor)
    response = client.get(reverse("admin:customers_customer_change", args=[customer.pk]))
    assert response.status_code == 302 and "/admin/login/" in response["Location"]


@pytest.mark.parametrize(
    ("prefix", "obj"),
    [("/api/v1/customers/", "foreign_customer"), ("/api/v1/vehicles/", "foreign_vehicle")],
)
def test_api_detail_of_another_dealership_is_404(client, request, advisor, prefix, obj):
    client.force_login(advisor)
    target = request.getfixturevalue(obj)
    assert client.get(f"{prefix}{target.pk}/").status_code == 404
    assert client.patch(f"{prefix}{target.pk}/", {"name": "x"}, content_type="application/json").status_code == 404


def test_api_repair_orders_and_readings_of_another_dealership_are_404(client, advisor, foreign_vehicle):
    client.force_login(advisor)
    assert client.get(f"/api/v1/vehicles/{foreign_vehicle.pk}/readings/").status_code == 404


def test_api_lists_are_scoped(client, advisor, customer, foreign_customer):
    client.force_login(advisor)
    ids = {row["id"] for row in client.get("/api/v1/customers/").json()["results"]}
    assert ids == {customer.pk}


def test_api_refuses_to_attach_a_car_to_a_foreign_customer(client, advisor, foreign_customer):
    client.force_login(advisor)
    response = client.post(
        "/api/v1/vehicles/",
        {"customer": foreign_customer.pk, "vin": "LSVAB2AT4NS000000", "model": 1, "purchase_date": "2024-01-01"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "customer" in response.json()


def test_anonymous_users_are_sent_to_log_in(client, customer):
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]
    assert client.get("/api/v1/customers/").status_code == 403
