"""Cars and their odometer through the API: a mileage below the last reading
is refused by vehicles.services.mileage_record, and nothing changes."""

import datetime

from django.utils import timezone

from tests.api.conftest import get, ids, patch, post
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory, make_vin
from vehicles.models import MileageReading, Vehicle
from vehicles.services import mileage_record

URL = "/api/v1/vehicles/"
UPSERT = "/api/v1/vehicles/upsert/"


def test_a_mileage_below_the_last_reading_is_a_400_and_nothing_changes(api, vehicle):
    mileage_record(vehicle=vehicle, read_on=datetime.date(2026, 3, 1), mileage=40237)
    response = patch(api, f"{URL}{vehicle.pk}/", {"current_mileage": 5, "colour": "红"})
    assert response.status_code == 400
    assert "40237" in response.json()["current_mileage"][0]
    vehicle.refresh_from_db()
    assert (vehicle.current_mileage, vehicle.colour) == (40237, "")
    assert list(vehicle.mileage_readings.values_list("mileage", flat=True)) == [40237]


def test_a_higher_mileage_is_a_reading_of_today_from_the_api(api, vehicle):
    mileage_record(vehicle=vehicle, read_on=datetime.date(2026, 3, 1), mileage=40237)
    response = patch(api, f"{URL}{vehicle.pk}/", {"current_mileage": 41000})
    assert response.status_code == 200, response.content
    assert response.json()["current_mileage"] == 41000
    reading = vehicle.mileage_readings.latest("pk")
    assert (reading.mileage, reading.source, reading.read_on) == (41000, "api", timezone.localdate())


def test_readings_are_recorded_through_the_service_with_source_api(api, vehicle):
    url = f"{URL}{vehicle.pk}/readings/"
    response = post(api, url, {"read_on": "2026-01-10", "mileage": 12000, "source": "repair_order"})
    assert response.status_code == 201, response.content
    assert response.json()["source"] == "api"
    later = post(api, url, {"read_on": "2026-02-10", "mileage": 11000})
    assert later.status_code == 400 and "12000" in later.json()["mileage"][0]
    earlier = post(api, url, {"read_on": "2025-12-10", "mileage": 13000})
    assert earlier.status_code == 400 and "12000" in earlier.json()["mileage"][0]
    assert [r["mileage"] for r in get(api, url).json()["results"]] == [12000]


def test_the_vin_and_owner_of_a_car_do_not_change_by_patch(api, vehicle, dealership):
    other = CustomerFactory(dealership=dealership)
    response = patch(api, f"{URL}{vehicle.pk}/", {"customer": other.pk})
    assert response.status_code == 400 and "customer" in response.json()
    vehicle.refresh_from_db()
    assert vehicle.customer_id != other.pk


def test_upsert_by_vin_creates_then_updates(api, customer):
    model = VehicleModelFactory()
    vin = make_vin(777)
    data = {"customer": customer.pk, "model": model.pk, "purchase_date": "2025-05-01", "vin": vin.lower()}
    created = post(api, UPSERT, {**data, "plate_number": "沪B12345"})
    assert created.status_code == 201, created.content
    updated = post(api, UPSERT, {**data, "plate_number": "沪B54321", "current_mileage": 8000})
    assert updated.status_code == 200, updated.content
    car = Vehicle.objects.get()
    assert (car.vin, car.plate_number, car.current_mileage) == (vin, "沪B54321", 8000)
    assert updated.json()["id"] == created.json()["id"] == car.pk
    # The delivery reading, then the API's.
    assert list(car.mileage_readings.order_by("pk").values_list("source", "mileage")) == [
        (MileageReading.Source.DELIVERY, 0),
        (MileageReading.Source.API, 8000),
    ]


def test_upsert_refuses_a_lower_mileage_and_another_owner(api, customer, dealership):
    car = VehicleFactory(customer=customer)
    mileage_record(vehicle=car, read_on=datetime.date(2026, 3, 1), mileage=40237)
    data = {"customer": customer.pk, "model": car.model_id, "purchase_date": "2024-03-15", "vin": car.vin}
    low = post(api, UPSERT, {**data, "current_mileage": 5})
    assert low.status_code == 400 and "40237" in low.json()["current_mileage"][0]
    other_owner = post(api, UPSERT, {**data, "customer": CustomerFactory(dealership=dealership).pk})
    assert other_owner.status_code == 400 and "customer" in other_owner.json()


def test_a_vin_of_another_store_cannot_be_upserted(api, customer, other_dealership):
    stranger = VehicleFactory(customer=CustomerFactory(dealership=other_dealership), plate_number="苏E11111")
    data = {"customer": customer.pk, "model": stranger.model_id, "purchase_date": "2024-03-15", "vin": stranger.vin}
    response = post(api, UPSERT, {**data, "plate_number": "沪C22222"})
    assert response.status_code == 400 and "vin" in response.json()
    stranger.refresh_from_db()
    assert (stranger.customer.dealership, stranger.plate_number) == (other_dealership, "苏E11111")


def test_filters_by_date_ranges_and_store(client, group_admin, customer, other_dealership):
    mine = VehicleFactory(customer=customer, insurance_expiry_date=datetime.date(2026, 8, 1))
    VehicleFactory(customer=customer, insurance_expiry_date=datetime.date(2026, 12, 1))
    theirs = VehicleFactory(customer=CustomerFactory(dealership=other_dealership))
    client.force_login(group_admin)
    params = {"insurance_expiry_date_after": "2026-07-01", "insurance_expiry_date_before": "2026-08-31"}
    assert ids(get(client, URL, params)) == [mine.pk]
    assert ids(get(client, URL, {"dealership": other_dealership.pk})) == [theirs.pk]


def test_an_advisor_cannot_filter_by_another_store(api, other_dealership):
    response = get(api, URL, {"dealership": other_dealership.pk})
    assert response.status_code == 400 and "dealership" in response.json()
