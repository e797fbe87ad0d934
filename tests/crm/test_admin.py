import datetime

import pytest
from django.contrib import admin
from django.urls import reverse

from crm.models import Dealership, Notification
from customers.models import Customer

MODELS = [m for m in admin.site._registry if m._meta.app_label in {"crm", "customers", "vehicles", "service", "care"}]


def admin_url(model, action, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{action}", args=args)


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_every_admin_page_renders_for_the_group_admin(client, group_admin, vehicle, model):
    client.force_login(group_admin)
    assert client.get(admin_url(model, "changelist")).status_code == 200
    if admin.site._registry[model].search_fields:
        assert client.get(admin_url(model, "changelist"), {"q": "沪AD"}).status_code == 200
    # Care touches come from the rules, messages from touches, alerts from the
    # weather provider, holiday days from the year form: their add pages are refused.
    generated = {
        "crm.Holiday",
        "crm.Notification",
        "crm.IdempotencyRecord",
        "customers.CustomerMerge",
        "customers.PrivacyRequest",
        "care.CareTask",
        "care.Outbox",
        "care.WeatherAlert",
        "care.Contact",
        "care.TaskReassignment",
        "care.WinbackSurvey",
    }
    expected = 403 if model._meta.label in generated else 200
    assert client.get(admin_url(model, "add")).status_code == expected


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m._meta.label)
def test_managers_can_browse_every_admin_list(client, manager, vehicle, model):
    client.force_login(manager)
    assert client.get(admin_url(model, "changelist")).status_code == 200


def test_admin_finds_a_customer_by_plate_vin_and_full_id_number(client, group_admin, customer, vehicle):
    customer.id_number = "310101199001011234"
    customer.save()
    client.force_login(group_admin)
    for q in ["沪AD12345", vehicle.vin, "13912345678", "李雷", "310101199001011234"]:
        response = client.get(admin_url(Customer, "changelist"), {"q": q})
        assert list(response.context["cl"].result_list) == [customer], q


def test_admin_form_keeps_the_id_number_and_never_shows_it(client, group_admin, customer):
    customer.id_number = "310101199001011234"
    customer.save()
    client.force_login(group_admin)
    page = client.get(admin_url(Customer, "change", customer.pk)).content.decode()
    assert "310101199001011234" not in page
    assert "3101**********1234" in page


def test_admin_form_shows_a_translated_error_and_saves_nothing(client, group_admin, customer):
    client.force_login(group_admin)
    data = {
        "dealership": customer.dealership_id,
        "name": "李雷",
        "phone": "12345",
        "id_number": "310101199001011235",
        "gender": "male",
        "preferred_channel": "call",
        "source": "bought_here",
        "status": "active",
        "vehicles-TOTAL_FORMS": "0",
        "vehicles-INITIAL_FORMS": "0",
    }
    response = client.post(admin_url(Customer, "change", customer.pk), data)
    assert response.status_code == 200
    page = response.content.decode()
    assert "请输入中国大陆手机号" in page
    assert "身份证号校验位不正确" in page
    assert Customer.objects.get(pk=customer.pk).phone == "13912345678"


def test_manager_cannot_edit_the_model_catalogue_or_stores(client, manager, vehicle):
    client.force_login(manager)
    response = client.get(admin_url(type(vehicle.model), "change", vehicle.model.pk))
    assert response.status_code == 200
    assert 'name="_save"' not in response.content.decode()


def test_admin_filters_customers_by_vehicle_usage(client, manager, customer, vehicle):
    from tests.customers.factories import CustomerFactory
    from tests.vehicles.factories import VehicleFactory

    taxi_owner = CustomerFactory(dealership=customer.dealership, name="出租车司机")
    VehicleFactory(customer=taxi_owner, usage="commercial")
    client.force_login(manager)
    response = client.get(admin_url(Customer, "changelist"), {"vehicles__usage__exact": "commercial"})
    assert list(response.context["cl"].result_list) == [taxi_owner]


# --- Store hours and notifications ----------------------------------------------------


def store_form(dealership, **changes):
    data = {
        "code": dealership.code,
        "name": dealership.name,
        "city": dealership.city,
        "address": dealership.address,
        "booking_phone": dealership.booking_phone,
        "rescue_phone": dealership.rescue_phone,
        "is_active": "on",
        "opens_at": "08:30",
        "closes_at": "18:00",
        "open_weekdays": "1234567",
        "closed_on_public_holidays": "on",
    }
    return {**data, **changes}


def test_store_admin_shows_the_business_hours_and_saves_monday_to_saturday(client, group_admin, dealership):
    client.force_login(group_admin)
    url = admin_url(Dealership, "change", dealership.pk)
    fieldsets = client.get(url).context["adminform"].fieldsets
    hours = [options["fields"] for name, options in fieldsets if name == "营业时间" or name == "Business hours"]
    assert hours == [("opens_at", "closes_at", "open_weekdays", "closed_on_public_holidays")]

    response = client.post(url, store_form(dealership, opens_at="09:00", closes_at="17:30", open_weekdays="123456"))

    assert response.status_code == 302
    dealership.refresh_from_db()
    assert (dealership.opens_at, dealership.closes_at, dealership.open_weekdays) == (
        datetime.time(9, 0),
        datetime.time(17, 30),
        "123456",
    )


@pytest.mark.parametrize(
    ("changes", "field"),
    [({"open_weekdays": "1238"}, "open_weekdays"), ({"open_weekdays": "1123"}, "open_weekdays")],
)
def test_store_admin_refuses_bad_weekdays_with_the_validators_message(client, group_admin, dealership, changes, field):
    client.force_login(group_admin)

    response = client.post(admin_url(Dealership, "change", dealership.pk), store_form(dealership, **changes))

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors.as_data()
    assert list(errors) == [field]
    assert [e.code for e in errors[field]] == ["invalid_weekdays"]
    # What was typed stays in the form.
    assert response.context["adminform"].form.data["open_weekdays"] == changes["open_weekdays"]
    assert Dealership.objects.get(pk=dealership.pk).open_weekdays == "1234567"


def test_store_admin_refuses_closing_before_opening_and_keeps_what_was_typed(client, group_admin, dealership):
    client.force_login(group_admin)

    response = client.post(
        admin_url(Dealership, "change", dealership.pk), store_form(dealership, opens_at="18:00", closes_at="08:30")
    )

    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["closes_at"]
    assert form.data["opens_at"] == "18:00"
    dealership.refresh_from_db()
    assert (dealership.opens_at, dealership.closes_at) == (datetime.time(8, 30), datetime.time(18, 0))


def test_notifications_are_read_only_and_scoped_to_the_store(client, manager, other_manager, advisor):
    mine = Notification.objects.create(user=advisor, dealership=advisor.dealership, title="投诉TS-2025-000001已超时")
    theirs = Notification.objects.create(user=other_manager, dealership=other_manager.dealership, title="别店通知")
    client.force_login(manager)

    listed = client.get(admin_url(Notification, "changelist")).context["cl"].result_list
    assert list(listed) == [mine]
    assert client.get(admin_url(Notification, "change", theirs.pk)).status_code == 404
    page = client.get(admin_url(Notification, "change", mine.pk))
    assert page.status_code == 200
    assert 'name="_save"' not in page.content.decode()
    assert client.get(admin_url(Notification, "add")).status_code == 403
    assert client.post(admin_url(Notification, "delete", mine.pk), {"post": "yes"}).status_code == 403
    assert Notification.objects.count() == 2
