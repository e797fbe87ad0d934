"""The shared API machinery (crm/api.py, crm/api_root.py): strict filters and
orderings, cursor pages with a cap that holds, service errors as 400s."""

import pytest
from django.core.exceptions import ValidationError

from crm.api import drf_validation_error
from tests.api.conftest import get, ids
from tests.customers.factories import CustomerFactory

URL = "/api/v1/customers/"


def test_an_unknown_query_parameter_is_a_400_naming_it(api, customer):
    response = get(api, URL, {"value_teir": "A"})
    assert response.status_code == 400
    body = response.json()
    assert list(body) == ["value_teir"]
    assert "Unknown query parameter “value_teir”" in body["value_teir"][0]
    assert "value_tier" in body["value_teir"][0]  # the allowed ones are listed


def test_an_invalid_filter_value_is_a_400(api, customer):
    response = get(api, URL, {"value_tier": "Z"})
    assert response.status_code == 400
    assert "value_tier" in response.json()
    response = get(api, URL, {"last_visit_date_after": "yesterday"})
    assert response.status_code == 400
    assert "last_visit_date" in response.json()


def test_known_parameters_filter(api, dealership, customer):
    gold = CustomerFactory(dealership=dealership, value_tier="A")
    assert ids(get(api, URL, {"value_tier": "A"})) == [gold.pk]
    assert sorted(ids(get(api, URL, {"value_tier": ["A", "B"]}))) == sorted([customer.pk, gold.pk])
    # The search parameter and the paging ones are allowed too.
    assert ids(get(api, URL, {"q": "李", "page_size": 10})) == [customer.pk]


def test_an_ordering_outside_the_whitelist_is_a_400_naming_the_allowed(api, customer):
    response = get(api, URL, {"ordering": "-phone"})
    assert response.status_code == 400
    message = response.json()["ordering"][0]
    assert "“-phone”" in message
    assert "name, value_tier, created_at, pk" in message


def test_orderings_of_the_whitelist_order(api, dealership):
    names = ["王五", "张三", "李四"]
    made = {name: CustomerFactory(dealership=dealership, name=name) for name in names}
    expected = sorted(made, key=lambda n: n)  # by code point: 张 < 李 < 王
    assert ids(get(api, URL, {"ordering": "name"})) == [made[n].pk for n in expected]
    assert ids(get(api, URL, {"ordering": "-name"})) == [made[n].pk for n in reversed(expected)]
    # The default: newest first.
    assert ids(get(api, URL)) == sorted((c.pk for c in made.values()), reverse=True)


def test_pages_are_cursors_of_50_and_the_page_size_is_capped_at_200(api, dealership):
    CustomerFactory.create_batch(205, dealership=dealership)
    first = get(api, URL).json()
    assert len(first["results"]) == 50
    assert "count" not in first and first["previous"] is None
    second = api.get(first["next"]).json()
    assert len(second["results"]) == 50
    assert not {r["id"] for r in first["results"]} & {r["id"] for r in second["results"]}
    assert len(get(api, URL, {"page_size": 7}).json()["results"]) == 7
    assert len(get(api, URL, {"page_size": 100000}).json()["results"]) == 200
    for bad in ("0", "-3", "ten", "1.5"):
        response = get(api, URL, {"page_size": bad})
        assert response.status_code == 400, bad
        assert "page_size" in response.json()


def test_walking_every_page_sees_every_row_once(api, dealership):
    made = {c.pk for c in CustomerFactory.create_batch(23, dealership=dealership, name="同名")}
    seen, url, params = [], URL, {"page_size": 5, "ordering": "name"}
    while url:
        body = (get(api, url, params) if params else api.get(url)).json()
        seen += [row["id"] for row in body["results"]]
        url, params = body["next"], None
    assert sorted(seen) == sorted(made) and len(seen) == 23


def test_a_bad_cursor_is_a_404_not_a_500(api, customer):
    assert get(api, URL, {"cursor": "not-a-cursor"}).status_code == 404


def test_a_service_error_becomes_a_400_with_field_reasons():
    by_field = drf_validation_error(ValidationError({"mileage": ["Too low."], "__all__": ["Whole thing."]}))
    assert by_field.detail == {"mileage": ["Too low."], "non_field_errors": ["Whole thing."]}
    plain = drf_validation_error(ValidationError("Not now."))
    assert plain.detail == {"non_field_errors": ["Not now."]}


def test_the_api_root_lists_every_list_route(api):
    response = get(api, "/api/v1/")
    assert response.status_code == 200
    body = response.json()
    assert body["customer"] == "http://testserver/api/v1/customers/"
    assert body["repair-order"] == "http://testserver/api/v1/repair-orders/"
    assert body["mileage-reading"] == "http://testserver/api/v1/vehicles/{vehicle_pk}/readings/"
    # The higher apps' routes appear without the root naming them.
    for name in ("care-touch", "complaint", "membership-card", "campaign"):
        assert name in body, name


@pytest.mark.parametrize("url", ["/api/v1/", URL])
def test_anonymous_requests_are_refused(client, url):
    assert client.get(url).status_code in (401, 403)
