"""Shared helpers of the API tests of care, complaints, loyalty and analytics."""

import datetime
import json

import pytest
from django.utils import timezone

from care.models import CareRule, CareTask
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory


@pytest.fixture
def api(client, advisor):
    client.force_login(advisor)
    return client


@pytest.fixture
def manager_api(client, manager):
    client.force_login(manager)
    return client


@pytest.fixture
def other_customer(other_dealership):
    return CustomerFactory(dealership=other_dealership, name="韩梅梅")


@pytest.fixture
def other_advisor(other_dealership):
    return UserFactory(username="other_advisor", dealership=other_dealership)


def post(client, url, data=None, lang="en"):
    return client.post(url, json.dumps(data or {}), content_type="application/json", HTTP_ACCEPT_LANGUAGE=lang)


def get(client, url, params=None, lang="en"):
    return client.get(url, params or {}, HTTP_ACCEPT_LANGUAGE=lang)


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def rule_for(kind: str = "maintenance") -> CareRule:
    return CareRule.objects.filter(dealership=None, kind=kind).first() or CareRuleFactory(kind=kind)


def touch(customer, advisor, *, due: datetime.date | None = None, kind: str = "maintenance", **extra) -> CareTask:
    """An open call touch of ``customer`` assigned to ``advisor`` (test setup, as the generators leave one)."""
    due = due or timezone.localdate()
    car = extra.pop("vehicle", None) or VehicleFactory(customer=customer)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule_for(kind),
        kind=kind,
        channel="call",
        occasion=f"{kind}:{due}:{car.pk}",
        event_date=due,
        due_date=due,
        expires_on=due + datetime.timedelta(days=3),
        created_on=due,
        assigned_to=advisor,
        **extra,
    )
