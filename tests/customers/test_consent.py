"""Marketing consent changes are on record: who, when, how."""

import datetime

from django.contrib import admin
from django.forms.models import model_to_dict
from django.test import RequestFactory

from customers.models import ConsentChange, Customer


def test_an_admin_ticking_consent_records_the_change_and_its_time(group_admin, customer):
    model_admin = admin.site._registry[Customer]
    request = RequestFactory().post("/admin/")
    request.user = group_admin
    form_class = model_admin.get_form(request, customer, change=True)
    data = {k: v for k, v in model_to_dict(customer).items() if v is not None}
    data |= {"marketing_consent": True, "id_number": ""}
    form = form_class(data=data, instance=customer)
    assert form.is_valid(), form.errors
    before = datetime.datetime.now(datetime.UTC)
    model_admin.save_model(request, form.save(commit=False), form, change=True)

    customer.refresh_from_db()
    assert customer.marketing_consent is True and customer.marketing_consent_at >= before
    change = ConsentChange.objects.get(customer=customer)
    assert (change.granted, change.source, change.recorded_by) == (True, "admin", group_admin)
    assert change.changed_at == customer.marketing_consent_at


def test_saving_without_touching_consent_records_nothing(group_admin, customer):
    model_admin = admin.site._registry[Customer]
    request = RequestFactory().post("/admin/")
    request.user = group_admin
    form_class = model_admin.get_form(request, customer, change=True)
    data = {k: v for k, v in model_to_dict(customer).items() if v is not None} | {"id_number": "", "notes": "x"}
    form = form_class(data=data, instance=customer)
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    assert not ConsentChange.objects.exists()
