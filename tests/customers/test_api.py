import pytest

from customers.models import Customer
from tests.vehicles.factories import VehicleModelFactory

GOOD = {"name": "韩梅梅", "phone": "+86 139 0000 1111", "gender": "female", "id_number": "31010119900101123 4"}


@pytest.fixture
def api(client, advisor):
    client.force_login(advisor)
    return client


def post(client, url, data, lang="en"):
    return client.post(url, data, content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang)


def test_advisor_creates_a_customer_in_own_dealership(api, advisor):
    response = post(api, "/api/v1/customers/", GOOD)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["phone"] == "13900001111"
    assert body["id_number_masked"] == "3101**********1234"
    assert "id_number" not in body
    customer = Customer.objects.get(pk=body["id"])
    assert customer.dealership == advisor.dealership
    assert customer.id_number == "310101199001011234"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("phone", "12345", "mainland mobile"),
        ("id_number", "310101199001011235", "check digit"),
        ("id_number", "310101199002301234", "birth date"),
    ],
)
def test_bad_customer_values_are_a_400_with_the_fields_reason(api, field, value, reason):
    response = post(api, "/api/v1/customers/", {**GOOD, field: value})
    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])
    assert not Customer.objects.exists()


def test_reasons_are_translated_to_chinese(api):
    response = post(api, "/api/v1/customers/", {**GOOD, "phone": "12345"}, lang="zh-hans")
    assert response.status_code == 400
    assert "手机号" in response.json()["phone"][0]


def test_half_a_lunar_birthday_is_refused(api):
    response = post(api, "/api/v1/customers/", {**GOOD, "lunar_birthday_month": 8})
    assert response.status_code == 400
    assert "lunar_birthday_day" in response.json()


def test_advisor_of_another_dealership_cannot_be_assigned(api, other_manager):
    response = post(api, "/api/v1/customers/", {**GOOD, "advisor": other_manager.pk})
    assert response.status_code == 400
    assert "advisor" in response.json()


def test_group_admin_must_name_the_dealership(client, group_admin, dealership):
    client.force_login(group_admin)
    assert post(client, "/api/v1/customers/", GOOD).status_code == 400
    response = post(client, "/api/v1/customers/", {**GOOD, "dealership": dealership.pk})
    assert response.status_code == 201
    assert Customer.objects.get().dealership == dealership


def test_api_search_finds_by_plate_and_vin(api, customer, vehicle):
    for q in ["沪AD12345", "ad123", vehicle.vin[-8:], customer.phone[-4:], "李"]:
        ids = [row["id"] for row in api.get("/api/v1/customers/", {"q": q}).json()["results"]]
        assert ids == [customer.pk], q


def test_vehicle_api_validates_vin_and_plate(api, customer):
    model = VehicleModelFactory()
    base = {"customer": customer.pk, "model": model.pk, "purchase_date": "2025-05-01", "vin": "lsvab2at4ns000000"}
    bad_vin = post(api, "/api/v1/vehicles/", {**base, "vin": "LSVAB2AT5NS000000"})
    assert bad_vin.status_code == 400 and "check digit" in bad_vin.json()["vin"][0]
    bad_plate = post(api, "/api/v1/vehicles/", {**base, "plate_number": "沪AI2345"})
    assert bad_plate.status_code == 400 and "plate_number" in bad_plate.json()

    created = post(api, "/api/v1/vehicles/", {**base, "plate_number": "沪a·d5678 9"})
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["vin"] == "LSVAB2AT4NS000000"
    assert body["plate_number"] == "沪AD56789"
    # The model's 36-month warranty counted from 2025-05-01.
    assert body["warranty_end_date"] == "2028-05-01"
    assert body["warranty_end_km"] == 100000


def test_duplicate_vin_is_a_400(api, customer, vehicle):
    response = post(
        api,
        "/api/v1/vehicles/",
        {"customer": customer.pk, "model": vehicle.model_id, "purchase_date": "2025-05-01", "vin": vehicle.vin},
    )
    assert response.status_code == 400
    assert "vin" in response.json()


def test_a_decreasing_mileage_reading_is_a_400(api, vehicle):
    url = f"/api/v1/vehicles/{vehicle.pk}/readings/"
    assert post(api, url, {"read_on": "2025-01-10", "mileage": 12000}).status_code == 201
    response = post(api, url, {"read_on": "2025-02-10", "mileage": 11000})
    assert response.status_code == 400
    assert "12000" in response.json()["mileage"][0]
    assert [r["mileage"] for r in api.get(url).json()["results"]] == [12000]


def test_schema_and_docs_are_served(api):
    assert api.get("/api/schema/").status_code == 200
    assert api.get("/api/docs/").status_code == 200
