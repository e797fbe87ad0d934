"""Tests that walk every route registered under /api/v1/ (every app's, found
through the URL resolver), so that a new route is held to the same rules:

- a writable serializer never saves its model directly (ModelSerializer's
  own create/update): writes go through services;
- every POST keeps the Idempotency-Key permission;
- another store's object is a 404 on every detail route and detail action,
  for an advisor and a manager of store A (session) and for a store-A token.
"""

import datetime
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone
from rest_framework import mixins, serializers

from crm.api_root import api_routes
from crm.idempotency import IdempotencyKey
from customers.models import Customer
from tests.api.factories import (
    AppointmentFactory,
    InsurancePolicyFactory,
    RepairOrderFactory,
    TechnicianFactory,
)
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

WRITE_ACTIONS = {"create", "update", "partial_update"}


def viewset_routes():
    """(route, view class, {method: action}) of every viewset route under /api/v1/."""
    found = []
    for route, pattern in api_routes():
        callback = pattern.callback
        actions = getattr(callback, "actions", None)
        cls = getattr(callback, "cls", None)
        if cls is not None and actions:
            found.append((route, cls, actions, getattr(callback, "initkwargs", {})))
    return found


def route_id(item) -> str:
    return item[0]


ROUTES = viewset_routes()
DETAIL_ROUTES = [item for item in ROUTES if "{" in item[0]]


def test_the_walk_finds_the_routes_of_every_app():
    routes = {route for route, *_ in ROUTES}
    for expected in (
        "api/v1/customers/{pk}/",
        "api/v1/vehicles/{vehicle_pk}/readings/",
        "api/v1/repair-orders/{pk}/close/",
        "api/v1/care-touches/{pk}/",
        "api/v1/complaints/{pk}/",
        "api/v1/campaigns/{pk}/",
    ):
        assert expected in routes, expected


# --- Writes go through services ----------------------------------------------------------


def _serializer_class(cls, initkwargs, action):
    view = cls(**initkwargs)
    view.action, view.request, view.kwargs, view.format_kwarg = action, None, {}, None
    try:
        return view.get_serializer_class()
    except Exception:  # a view choosing by the request: its class attribute then
        return getattr(cls, "serializer_class", None)


def _writes_directly(serializer_class, cls, action) -> bool:
    if serializer_class is None or not issubclass(serializer_class, serializers.ModelSerializer):
        return False
    if action == "create":
        saves = cls.perform_create is mixins.CreateModelMixin.perform_create
        return saves and serializer_class.create is serializers.ModelSerializer.create
    saves = cls.perform_update is mixins.UpdateModelMixin.perform_update
    return saves and serializer_class.update is serializers.ModelSerializer.update


@pytest.mark.parametrize(("route", "cls", "actions", "initkwargs"), ROUTES, ids=[route_id(r) for r in ROUTES])
def test_no_writable_serializer_saves_its_model_directly(route, cls, actions, initkwargs):
    for action in set(actions.values()) & WRITE_ACTIONS:
        serializer_class = _serializer_class(cls, initkwargs, action)
        assert not _writes_directly(serializer_class, cls, action), (
            f"{route} {action}: {serializer_class.__name__} saves the model with ModelSerializer's own "
            f"{'create' if action == 'create' else 'update'}; call the app's service instead"
        )


def test_the_walk_would_catch_a_serializer_saving_directly():
    class Naive(serializers.ModelSerializer):
        class Meta:
            model = Customer
            fields = ["name"]

    class View(mixins.CreateModelMixin, mixins.UpdateModelMixin):
        pass

    assert _writes_directly(Naive, View, "create") and _writes_directly(Naive, View, "update")


@pytest.mark.parametrize(("route", "cls", "actions", "initkwargs"), ROUTES, ids=[route_id(r) for r in ROUTES])
def test_every_post_keeps_the_idempotency_key(route, cls, actions, initkwargs):
    if "post" not in actions:
        return
    view = cls(**initkwargs)
    view.action, view.request, view.kwargs, view.format_kwarg = actions["post"], None, {}, None
    assert any(isinstance(p, IdempotencyKey) for p in view.get_permissions()), (
        f"{route}: its permissions drop crm.idempotency.IdempotencyKey; add to the defaults "
        "(api_settings.DEFAULT_PERMISSION_CLASSES), never replace them"
    )


# --- Another store's objects are a 404 -----------------------------------------------------


def _today():
    return timezone.localdate()


def _noon(day):
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12)))


def _customer(store):
    return CustomerFactory(dealership=store)


def _care_task(store):
    from care.models import CareRule, CareTask
    from tests.care.factories import CareRuleFactory

    customer, day = _customer(store), _today()
    car = VehicleFactory(customer=customer)
    rule = CareRule.objects.filter(dealership=None, kind="maintenance").first() or CareRuleFactory(kind="maintenance")
    return CareTask.objects.create(
        dealership=store,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind="maintenance",
        channel="call",
        occasion=f"maintenance:{day}:{car.pk}",
        event_date=day,
        due_date=day,
        expires_on=day + datetime.timedelta(days=3),
        created_on=day,
    )


def _contact(store):
    from care.models import Contact

    return Contact.objects.create(dealership=store, customer=_customer(store), notes="回访")


def _complaint(store):
    from complaints.models import ComplaintCategory
    from complaints.services import complaint_open

    by = ManagerFactory(dealership=store)
    return complaint_open(
        customer=_customer(store),
        channel="hotline",
        category=ComplaintCategory.objects.get(code="repair_quality"),
        severity="normal",
        description="保养后机油灯亮",
        by=by,
    )


def _card(store):
    from loyalty.services import card_join

    return card_join(
        customer=_customer(store), level="ordinary", route="fee", by=ManagerFactory(dealership=store), day=_today()
    )


def _points_entry(store):
    from loyalty.models import PointsEntry

    card = _card(store)
    return PointsEntry.objects.create(
        card=card, points=10, kind="repair_spend", source=f"ro:{card.pk}", earned_on=card.valid_from
    )


def _referral(store):
    from loyalty.models import Referral

    return Referral.objects.create(dealership=store, referrer=_customer(store), referred=_customer(store))


def _survey(store):
    from analytics.models import Survey

    sent = _noon(_today())
    return Survey.objects.create(
        dealership=store,
        customer=_customer(store),
        kind="post_service",
        channel="sms",
        sent_at=sent,
        expires_at=sent + datetime.timedelta(days=7),
    )


def _survey_response(store):
    from analytics.models import SurveyResponse

    return SurveyResponse.objects.create(
        dealership=store,
        customer=_customer(store),
        kind="post_service",
        channel="sms",
        csat=5,
        answered_at=_noon(_today()),
    )


def _campaign(store):
    from analytics.models import Campaign

    return Campaign.objects.create(
        dealership=store,
        name="春季保养",
        kind="seasonal",
        starts_on=_today(),
        ends_on=_today() + datetime.timedelta(days=30),
        cost=Decimal("1000"),
        holdout_share=Decimal("0.10"),
        audience={"tiers": ["A"]},
    )


# Model label → how to make one in a store. A route whose model is missing here fails the walk.
MAKERS = {
    "customers.customer": _customer,
    "vehicles.vehicle": lambda store: VehicleFactory(customer__dealership=store),
    "service.repairorder": lambda store: RepairOrderFactory(vehicle__customer__dealership=store),
    "service.appointment": lambda store: AppointmentFactory(customer__dealership=store),
    "service.insurancepolicy": lambda store: InsurancePolicyFactory(vehicle__customer__dealership=store),
    "service.technician": lambda store: TechnicianFactory(dealership=store),
    "care.caretask": _care_task,
    "care.contact": _contact,
    "complaints.complaint": _complaint,
    "loyalty.membershipcard": _card,
    "loyalty.pointsentry": _points_entry,
    "loyalty.referral": _referral,
    "analytics.survey": _survey,
    "analytics.surveyresponse": _survey_response,
    "analytics.campaign": _campaign,
}
# A nested route's parent, by the name of its URL parameter.
PARENTS = {"vehicle_pk": "vehicles.vehicle"}


def _route_model(route, cls) -> tuple[str, str]:
    """(URL parameter, model label) of the object a detail route reads."""
    for parameter, label in PARENTS.items():
        if "{" + parameter + "}" in route:
            return parameter, label
    assert getattr(cls, "queryset", None) is not None, f"{route}: give the viewset a queryset (its model)"
    return "pk", cls.queryset.model._meta.label_lower


def _url(route, parameter, pk) -> str:
    return "/" + route.replace("{" + parameter + "}", str(pk))


def _request(client, method, url, **headers):
    if method == "get":
        return client.get(url, HTTP_ACCEPT_LANGUAGE="en", **headers)
    return getattr(client, method)(url, "{}", content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **headers)


@pytest.fixture
def store_a_clients(dealership):
    advisor_client, manager_client = Client(), Client()
    advisor_client.force_login(UserFactory(username="walk-advisor", dealership=dealership))
    manager_client.force_login(ManagerFactory(username="walk-manager", dealership=dealership))
    return {"advisor": advisor_client, "manager": manager_client}


@pytest.mark.parametrize(
    ("route", "cls", "actions", "initkwargs"), DETAIL_ROUTES, ids=[route_id(r) for r in DETAIL_ROUTES]
)
def test_another_stores_object_is_a_404_on_every_detail_route(
    route, cls, actions, initkwargs, store_a_clients, other_dealership
):
    if getattr(cls, "queryset", None) is not None and cls.queryset.model is VehicleModelFactory._meta.model:
        return  # the group's catalogue: the same for every store
    parameter, label = _route_model(route, cls)
    assert label in MAKERS, f"{route}: add a maker for {label} to MAKERS"
    theirs = MAKERS[label](other_dealership)
    missing = 10**9
    for role, client in store_a_clients.items():
        for method in list(actions):
            if method in ("head", "options"):
                continue
            status = _request(client, method, _url(route, parameter, theirs.pk)).status_code
            unknown = _request(client, method, _url(route, parameter, missing)).status_code
            if role == "manager":
                assert status == 404, f"{role} {method.upper()} {route}: {status}"
            else:
                # An advisor may be refused the route outright (403), but never told the object exists.
                assert status == unknown and status in (403, 404), f"{role} {method.upper()} {route}: {status}"
    assert type(theirs).objects.filter(pk=theirs.pk).exists()  # nothing deleted on the way


@pytest.fixture
def store_a_token(dealership, group_admin):
    from crm.services import api_token_issue

    _token, key = api_token_issue(name="DMS sync", dealership=dealership, can_write=True, by=group_admin)
    return key


@pytest.mark.parametrize(
    ("route", "cls", "actions", "initkwargs"), DETAIL_ROUTES, ids=[route_id(r) for r in DETAIL_ROUTES]
)
def test_another_stores_object_is_a_404_for_a_store_token(
    route, cls, actions, initkwargs, store_a_token, other_dealership
):
    if getattr(cls, "queryset", None) is not None and cls.queryset.model is VehicleModelFactory._meta.model:
        return
    parameter, label = _route_model(route, cls)
    assert label in MAKERS, f"{route}: add a maker for {label} to MAKERS"
    theirs = MAKERS[label](other_dealership)
    client = Client()
    for method in list(actions):
        if method in ("head", "options"):
            continue
        response = _request(
            client, method, _url(route, parameter, theirs.pk), HTTP_AUTHORIZATION=f"Bearer {store_a_token}"
        )
        assert response.status_code == 404, f"token {method.upper()} {route}: {response.status_code}"


def test_the_token_reads_its_own_store(store_a_token, dealership):
    mine = VehicleFactory(customer__dealership=dealership)
    VehicleModelFactory()
    response = Client().get(f"/api/v1/vehicles/{mine.pk}/", HTTP_AUTHORIZATION=f"Bearer {store_a_token}")
    assert response.status_code == 200 and response.json()["vin"] == mine.vin
