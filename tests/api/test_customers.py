"""Customers through the API: every write through customers.services, consent
changes on record with source "api", upsert by mobile within the store."""

import datetime

from crm.services import api_token_issue
from customers.models import ConsentChange, Customer
from tests.api.conftest import get, patch, post
from tests.customers.factories import CustomerFactory

URL = "/api/v1/customers/"
UPSERT = "/api/v1/customers/upsert/"


def test_creating_with_consent_puts_it_on_record_from_the_api(api, advisor):
    response = post(api, URL, {"name": "韩梅梅", "phone": "139 0000 1111", "marketing_consent": True})
    assert response.status_code == 201, response.content
    customer = Customer.objects.get(pk=response.json()["id"])
    assert customer.marketing_consent and customer.marketing_consent_at is not None
    change = ConsentChange.objects.get(customer=customer)
    assert (change.granted, change.source, change.recorded_by) == (True, "api", advisor)


def test_a_patch_of_consent_goes_through_the_consent_service(api, advisor, customer):
    response = patch(api, f"{URL}{customer.pk}/", {"marketing_consent": True})
    assert response.status_code == 200, response.content
    assert response.json()["marketing_consent"] is True
    response = patch(api, f"{URL}{customer.pk}/", {"marketing_consent": False, "city": "苏州"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.marketing_consent, customer.city) == (False, "苏州")
    changes = list(ConsentChange.objects.filter(customer=customer).order_by("pk").values_list("granted", "source"))
    assert changes == [(True, "api"), (False, "api")]
    # The same value again is no change: nothing more on record.
    patch(api, f"{URL}{customer.pk}/", {"marketing_consent": False})
    assert ConsentChange.objects.filter(customer=customer).count() == 2


def test_a_patch_normalises_and_validates_the_id_number(api, customer):
    response = patch(api, f"{URL}{customer.pk}/", {"id_number": "31010119900101123x"})
    assert response.status_code == 400 and "id_number" in response.json()
    response = patch(api, f"{URL}{customer.pk}/", {"id_number": "3101 0119 9001 0112 34"})
    assert response.status_code == 200, response.content
    assert response.json()["id_number_masked"] == "3101**********1234"
    customer.refresh_from_db()
    assert customer.id_number == "310101199001011234" and customer.id_number_hash


def test_a_customer_cannot_be_moved_to_another_store(client, group_admin, customer, other_dealership):
    client.force_login(group_admin)
    response = patch(client, f"{URL}{customer.pk}/", {"dealership": other_dealership.pk})
    assert response.status_code == 400 and "dealership" in response.json()


def test_upsert_creates_then_updates_the_stores_customer_with_that_mobile(api, advisor):
    created = post(api, UPSERT, {"name": "韩梅梅", "phone": "+86 139 0000 2222", "city": "上海"})
    assert created.status_code == 201, created.content
    updated = post(api, UPSERT, {"name": "韩梅梅", "phone": "13900002222", "city": "杭州", "marketing_consent": True})
    assert updated.status_code == 200, updated.content
    assert updated.json()["id"] == created.json()["id"]
    customer = Customer.objects.get()
    assert (customer.city, customer.phone, customer.dealership) == ("杭州", "13900002222", advisor.dealership)
    assert list(ConsentChange.objects.values_list("source", flat=True)) == ["api"]


def test_upsert_matches_only_within_the_store(api, advisor, other_dealership):
    elsewhere = CustomerFactory(dealership=other_dealership, phone="13900003333", city="南京")
    response = post(api, UPSERT, {"name": "同号", "phone": "13900003333"})
    assert response.status_code == 201
    elsewhere.refresh_from_db()
    assert elsewhere.city == "南京"
    assert Customer.objects.filter(phone="13900003333").count() == 2


def test_upsert_refuses_a_bad_mobile_with_its_reason(api):
    response = post(api, UPSERT, {"name": "错号", "phone": "12345"})
    assert response.status_code == 400
    assert "mainland mobile" in response.json()["phone"][0]
    assert not Customer.objects.exists()


def test_computed_fields_are_read_only(api, customer):
    response = patch(api, f"{URL}{customer.pk}/", {"value_tier": "A", "churn_state": "lost"})
    assert response.status_code == 200
    customer.refresh_from_db()
    assert (customer.value_tier, customer.churn_state) == ("B", "active")


def test_filters_by_tier_churn_state_and_last_visit_range(api, dealership):
    early = CustomerFactory(dealership=dealership, value_tier="A", last_visit_date=datetime.date(2026, 1, 5))
    late = CustomerFactory(dealership=dealership, value_tier="A", last_visit_date=datetime.date(2026, 3, 5))
    CustomerFactory(dealership=dealership, value_tier="C", churn_state="lost")
    rows = get(api, URL, {"value_tier": "A", "last_visit_date_after": "2026-02-01"}).json()["results"]
    assert [r["id"] for r in rows] == [late.pk]
    rows = get(api, URL, {"last_visit_date_before": "2026-01-31"}).json()["results"]
    assert [r["id"] for r in rows] == [early.pk]
    assert len(get(api, URL, {"churn_state": "lost"}).json()["results"]) == 1


def test_a_legacy_bad_value_elsewhere_does_not_block_an_edit(api, customer):
    # An ID number from an old import that today's check refuses …
    Customer.objects.filter(pk=customer.pk).update(id_number="310101199001011235")
    # … does not stop the city being corrected; the changed field alone is judged.
    response = patch(api, f"{URL}{customer.pk}/", {"city": "苏州"})
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.city, customer.id_number) == ("苏州", "310101199001011235")


def test_an_api_tokens_account_cannot_be_made_a_customers_advisor(api, advisor, group_admin, customer, dealership):
    token, _key = api_token_issue(name="DMS sync", dealership=dealership, can_write=True, by=group_admin)
    response = patch(api, f"{URL}{customer.pk}/", {"advisor": token.user.pk})
    assert response.status_code == 400, response.content
    assert "advisor" in response.json()
    customer.refresh_from_db()
    assert customer.advisor_id != token.user.pk
    # A person of the store still can be.
    assert patch(api, f"{URL}{customer.pk}/", {"advisor": advisor.pk}).status_code == 200
