"""Technicians: each store's workshop team in admin, named on the orders they
worked, in the API and on the customer 360."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from service.models import RepairOrder, Technician
from service.services import repair_order_open
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")


def at(day: int, hour: int = 9) -> datetime.datetime:
    return datetime.datetime(2025, 9, day, hour, tzinfo=SH)


def technician(dealership, name: str, code: str = "", active: bool = True) -> Technician:
    return Technician.objects.create(dealership=dealership, name=name, code=code, active=active)


def order(vehicle, number: str, tech: Technician | None = None, **extra) -> RepairOrder:
    return RepairOrder.objects.create(
        dealership_id=vehicle.customer.dealership_id,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=number,
        kind=extra.pop("kind", "repair"),
        opened_at=extra.pop("opened_at", at(3)),
        mileage=extra.pop("mileage", 12000),
        technician=tech,
        **extra,
    )


def admin_url(model, action: str, *args) -> str:
    return reverse(f"admin:service_{model._meta.model_name}_{action}", args=args)


@pytest.fixture
def teams(dealership, other_dealership):
    """Two technicians in the manager's store, one in the other store."""
    return {
        "zhang": technician(dealership, "张建国", "PD-01"),
        "li": technician(dealership, "李强", "PD-02", active=False),
        "wang": technician(other_dealership, "王磊", "MH-01"),
    }


# --- Admin: each store's team -------------------------------------------------------


def test_a_manager_lists_and_searches_only_the_own_stores_technicians(client, manager, teams):
    client.force_login(manager)

    listed = client.get(admin_url(Technician, "changelist")).context["cl"].result_list
    assert sorted(t.name for t in listed) == ["张建国", "李强"]
    by_code = client.get(admin_url(Technician, "changelist"), {"q": "PD-02"}).context["cl"].result_list
    assert list(by_code) == [teams["li"]]
    # The other store's technician is not found by search either.
    assert list(client.get(admin_url(Technician, "changelist"), {"q": "王磊"}).context["cl"].result_list) == []


def test_another_stores_technician_is_404_for_a_manager_and_found_by_the_group_admin(
    client, manager, group_admin, teams
):
    client.force_login(manager)
    assert client.get(admin_url(Technician, "change", teams["wang"].pk)).status_code == 404
    assert client.get(admin_url(Technician, "change", teams["zhang"].pk)).status_code == 200

    client.force_login(group_admin)
    assert client.get(admin_url(Technician, "change", teams["wang"].pk)).status_code == 200
    assert len(client.get(admin_url(Technician, "changelist")).context["cl"].result_list) == 3


def test_a_manager_adds_a_technician_to_the_own_store_only(client, manager, dealership, other_dealership):
    client.force_login(manager)
    form = client.get(admin_url(Technician, "add")).context["adminform"].form
    assert list(form.fields["dealership"].queryset) == [dealership]

    refused = client.post(
        admin_url(Technician, "add"), {"dealership": other_dealership.pk, "name": "赵勇", "code": "X-1", "active": "on"}
    )
    assert refused.status_code == 200
    assert "dealership" in refused.context["adminform"].form.errors
    assert not Technician.objects.exists()

    created = client.post(
        admin_url(Technician, "add"), {"dealership": dealership.pk, "name": "赵勇", "code": "PD-03", "active": "on"}
    )
    assert created.status_code == 302
    assert list(Technician.objects.values_list("dealership_id", "name", "code")) == [(dealership.pk, "赵勇", "PD-03")]


def test_a_staff_number_is_unique_in_its_store_only(teams, dealership, other_dealership):
    technician(other_dealership, "周涛", "PD-01")  # same number, other store: fine
    with pytest.raises(ValidationError):
        Technician(dealership=dealership, name="周涛", code="PD-01").validate_constraints()
    # Technicians without a staff number do not collide.
    technician(dealership, "吴凯")
    technician(dealership, "孙鹏")
    assert Technician.objects.filter(dealership=dealership, code="").count() == 2


# --- Repair orders with a technician ---------------------------------------------------


def test_opening_an_order_with_its_technician(vehicle, advisor, teams):
    ro = repair_order_open(
        vehicle=vehicle,
        number="RO-1",
        kind="repair",
        opened_at=at(3),
        mileage=15000,
        advisor=advisor,
        technician=teams["zhang"],
    )

    ro.refresh_from_db()
    assert (ro.technician, ro.advisor) == (teams["zhang"], advisor)
    assert list(teams["zhang"].repair_orders.all()) == [ro]


def test_an_order_cannot_name_another_stores_technician(vehicle, teams):
    with pytest.raises(ValidationError) as refused:
        repair_order_open(
            vehicle=vehicle, number="RO-1", kind="repair", opened_at=at(3), mileage=15000, technician=teams["wang"]
        )

    assert "technician" in refused.value.message_dict
    assert not RepairOrder.objects.exists()


def test_repair_order_admin_shows_and_filters_by_technician_of_the_own_store(client, manager, vehicle, teams):
    by_zhang = order(vehicle, "RO-1", teams["zhang"])
    order(vehicle, "RO-2", teams["li"])
    order(vehicle, "RO-3")
    client.force_login(manager)

    page = client.get(admin_url(RepairOrder, "changelist"))
    assert "张建国" in page.content.decode()
    # The filter offers the technicians of the store's own orders.
    choices = {
        choice["display"]
        for spec in page.context["cl"].filter_specs
        if spec.title == Technician._meta.verbose_name
        for choice in spec.choices(page.context["cl"])
    }
    assert {"张建国", "李强"} <= choices and "王磊" not in choices
    filtered = client.get(admin_url(RepairOrder, "changelist"), {"technician__id__exact": teams["zhang"].pk})
    assert list(filtered.context["cl"].result_list) == [by_zhang]


def test_repair_order_admin_refuses_a_technician_of_another_store(client, group_admin, vehicle, teams):
    ro = order(vehicle, "RO-1", teams["zhang"], labor_amount=Decimal("100.00"), total_amount=Decimal("100.00"))
    client.force_login(group_admin)
    data = {
        "dealership": ro.dealership_id,
        "number": "RO-1",
        "vehicle": vehicle.pk,
        "customer": vehicle.customer_id,
        "technician": teams["wang"].pk,
        "kind": "repair",
        "opened_at_0": "2025-09-03",
        "opened_at_1": "09:00:00",
        "mileage": "12000",
        "payer": "customer",
        "labor_amount": "100.00",
        "parts_amount": "0",
        "lines-TOTAL_FORMS": "0",
        "lines-INITIAL_FORMS": "0",
    }

    response = client.post(admin_url(RepairOrder, "change", ro.pk), data)

    assert response.status_code == 200
    assert list(response.context["adminform"].form.errors) == ["technician"]
    assert RepairOrder.objects.get(pk=ro.pk).technician == teams["zhang"]
    # The same form with the store's own technician saves.
    data["technician"] = teams["li"].pk
    assert client.post(admin_url(RepairOrder, "change", ro.pk), data).status_code == 302
    assert RepairOrder.objects.get(pk=ro.pk).technician == teams["li"]


# --- Where the technician is read -----------------------------------------------------


def test_the_api_names_the_technician_of_each_order(client, advisor, vehicle, teams):
    order(vehicle, "RO-1", teams["zhang"])
    order(vehicle, "RO-2")
    client.force_login(advisor)

    rows = {row["number"]: row for row in client.get("/api/v1/repair-orders/").json()["results"]}

    assert rows["RO-1"]["technician"] == {"id": teams["zhang"].pk, "name": "张建国", "code": "PD-01"}
    assert rows["RO-2"]["technician"] is None
    by_technician = client.get("/api/v1/repair-orders/", {"technician": teams["zhang"].pk}).json()["results"]
    assert [row["number"] for row in by_technician] == ["RO-1"]


def api_queries(client, vehicle, teams, size: int) -> int:
    for i in range(size):
        order(vehicle, f"RO-{size}-{i}", teams["zhang"] if i % 2 else teams["li"], opened_at=at(1 + i % 20))
    with CaptureQueriesContext(connection) as queries:
        assert client.get("/api/v1/repair-orders/").status_code == 200
    return len(queries)


def test_the_api_reads_technicians_without_a_query_per_order(client, advisor, vehicle, teams):
    client.force_login(advisor)
    few = api_queries(client, vehicle, teams, 2)
    RepairOrder.objects.all().delete()
    many = api_queries(client, vehicle, teams, 12)
    assert few == many


def customer_page_queries(client, customer, teams, size: int) -> tuple[int, str]:
    for i in range(size):
        car = VehicleFactory(customer=customer)
        order(car, f"RO-{size}-{i}", teams["zhang"] if i % 2 else teams["li"], opened_at=at(1 + i % 20))
    with CaptureQueriesContext(connection) as queries:
        response = client.get(reverse("customers:detail", args=[customer.pk]))
    assert response.status_code == 200
    return len(queries), response.content.decode()


def test_the_customer_360_names_each_orders_technician_at_a_fixed_query_count(client, advisor, teams):
    client.force_login(advisor)
    small = CustomerFactory(dealership=advisor.dealership, advisor=advisor)
    large = CustomerFactory(dealership=advisor.dealership, advisor=advisor)

    few, _ = customer_page_queries(client, small, teams, 1)
    many, page = customer_page_queries(client, large, teams, 10)

    assert few == many
    assert page.count("张建国") == 5 and page.count("李强") == 5
