import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from service.models import RepairOrder, Technician
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory


def make_book(dealership, advisor, n: int) -> None:
    for i in range(n):
        customer = CustomerFactory(dealership=dealership, advisor=advisor)
        vehicle = VehicleFactory(customer=customer)
        VehicleFactory(customer=customer)
        RepairOrder.objects.create(
            dealership=dealership,
            customer=customer,
            vehicle=vehicle,
            number=f"RO{i}",
            kind="maintenance",
            opened_at=timezone.now() - datetime.timedelta(days=i),
            mileage=100 * i,
        )


@pytest.mark.parametrize("size", [3, 30])
def test_customer_list_costs_the_same_queries_at_any_size(client, advisor, django_assert_max_num_queries, size):
    make_book(advisor.dealership, advisor, size)
    client.force_login(advisor)
    # session, user, count, page of customers, their vehicles.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("customers:list"))
    assert response.status_code == 200
    assert response.context["page"].paginator.count == size


@pytest.mark.parametrize("size", [1, 12])
def test_customer_page_costs_the_same_queries_at_any_size(client, advisor, django_assert_max_num_queries, size):
    customer = CustomerFactory(dealership=advisor.dealership, advisor=advisor)
    for i in range(size):
        vehicle = VehicleFactory(customer=customer)
        RepairOrder.objects.create(
            dealership=advisor.dealership,
            customer=customer,
            vehicle=vehicle,
            number=f"RO{i}",
            kind="repair",
            opened_at=timezone.now(),
            mileage=10,
        )
    client.force_login(advisor)
    # session, user with their dealership (layout), customer, vehicles with their
    # models, repair orders, tier history; the care panels: contacts, touches,
    # messages, consent changes; the complaints panel; the club's card panel.
    with django_assert_max_num_queries(12):
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('class="plate"') == size


@pytest.mark.parametrize("size", [1, 15])
def test_vehicle_page_costs_the_same_queries_at_any_size(client, advisor, vehicle, django_assert_max_num_queries, size):
    # Each order by its own technician: the table names them all.
    for i in range(size):
        RepairOrder.objects.create(
            dealership=advisor.dealership,
            customer=vehicle.customer,
            vehicle=vehicle,
            number=f"RO{i}",
            kind="repair",
            opened_at=timezone.now(),
            mileage=10 * i,
            technician=Technician.objects.create(dealership=advisor.dealership, name=f"技师{i}"),
        )
    client.force_login(advisor)
    with django_assert_max_num_queries(6):
        response = client.get(reverse("vehicles:detail", args=[vehicle.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert all(f"技师{i}<" in html for i in range(size))


def test_global_search_finds_by_name_phone_plate_and_vin(client, advisor, customer, vehicle):
    # No run of six digits a factory VIN's serial (000000, 000001 …) could end with.
    other = CustomerFactory(dealership=advisor.dealership, name="王芳", phone="13722334455")
    client.force_login(advisor)
    for q in ["李雷", "13912345678", "5678", "沪AD12345", "沪 ad 12345", "沪a", vehicle.vin, vehicle.vin[-6:].lower()]:
        page = client.get(reverse("customers:search"), {"q": q}).content.decode()
        assert customer.name in page, q
        assert other.name not in page, q


def test_search_without_a_term_explains_itself(client, advisor):
    client.force_login(advisor)
    response = client.get(reverse("customers:search"))
    assert response.status_code == 200
    assert response.context["page"] is None


def test_customer_page_shows_the_id_number_masked_only(client, advisor, customer):
    customer.id_number = "310101199001011234"
    customer.save()
    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "3101**********1234" in page
    assert "310101199001011234" not in page


def test_list_filters_by_tier(client, advisor):
    CustomerFactory(dealership=advisor.dealership, name="甲客户", value_tier="A")
    CustomerFactory(dealership=advisor.dealership, name="丁客户", value_tier="D")
    client.force_login(advisor)
    page = client.get(reverse("customers:list"), {"value_tier": "A"}).content.decode()
    assert "甲客户" in page and "丁客户" not in page


def test_advisor_sees_own_book_with_mine(client, advisor, customer):
    CustomerFactory(dealership=advisor.dealership, name="别人的客户")
    client.force_login(advisor)
    page = client.get(reverse("customers:list"), {"mine": "1"}).content.decode()
    assert customer.name in page and "别人的客户" not in page


def test_login_and_logout(client, advisor):
    assert client.get(reverse("login")).status_code == 200
    response = client.post(reverse("login"), {"username": "advisor", "password": "pass-1234"})
    assert response.status_code == 302
    assert client.get(reverse("customers:list")).status_code == 200
    assert client.post(reverse("logout")).status_code == 302
    assert client.get(reverse("customers:list")).status_code == 302


def test_wrong_password_is_a_translated_error(client, advisor):
    response = client.post(reverse("login"), {"username": "advisor", "password": "nope"})
    assert response.status_code == 200
    assert "请输入一个正确的" in response.content.decode()


def test_interface_is_chinese_by_default_and_switches_to_english(client, advisor):
    client.force_login(advisor)
    page = client.get(reverse("customers:list")).content.decode()
    assert "客户" in page and "退出" in page
    client.post(reverse("set_language"), {"language": "en", "next": "/customers/"})
    page = client.get(reverse("customers:list")).content.decode()
    assert "Customers" in page and "Log out" in page


def test_navigation_depends_on_role(client, advisor, manager):
    client.force_login(advisor)
    page = client.get(reverse("customers:list")).content.decode()
    assert reverse("admin:index") not in page
    assert "?mine=1" in page
    client.force_login(manager)
    page = client.get(reverse("customers:list")).content.decode()
    assert reverse("admin:index") in page


def test_health_check_reports_the_database(client, db):
    assert client.get("/healthz/").json() == {"status": "ok"}
