"""Every route of the higher apps: the ordering whitelists, unknown parameters
refused, the API root, and a token of another store answered 404 everywhere."""

import datetime

import pytest
from django.utils import timezone

from analytics.campaigns import campaign_create
from analytics.models import Survey, SurveyResponse
from care.models import Contact
from complaints.models import ComplaintCategory
from complaints.services import complaint_open
from crm.services import api_token_issue
from loyalty.models import PointsEntry, Referral
from loyalty.services import card_join
from tests.api_more.conftest import get, touch
from tests.customers.factories import CustomerFactory

LISTS = {
    "/api/v1/care-touches/": ["due_date", "priority", "created_on", "closed_at"],
    "/api/v1/contacts/": ["created_at"],
    "/api/v1/complaints/": ["received_at", "resolution_due", "severity"],
    "/api/v1/membership-cards/": ["valid_from", "valid_until", "created_at"],
    "/api/v1/points-entries/": ["created_at", "earned_on", "points"],
    "/api/v1/referrals/": ["created_at", "confirmed_at"],
    "/api/v1/surveys/": ["sent_at", "answered_at"],
    "/api/v1/survey-responses/": ["answered_at", "csat", "nps"],
    "/api/v1/campaigns/": ["starts_on", "ends_on", "created_at"],
}


@pytest.mark.parametrize("url", LISTS)
def test_each_whitelisted_ordering_works_both_ways(manager_api, url):
    for field in LISTS[url]:
        for ordering in (field, f"-{field}"):
            response = get(manager_api, url, {"ordering": ordering})
            assert response.status_code == 200, (url, ordering, response.content)


@pytest.mark.parametrize("url", LISTS)
def test_an_unknown_ordering_or_filter_is_a_400(manager_api, url):
    response = get(manager_api, url, {"ordering": "customer__phone"})
    assert response.status_code == 400
    assert "ordering" in response.json()
    response = get(manager_api, url, {"colour": "red"})
    assert response.status_code == 400
    assert "colour" in response.json()


def test_the_api_root_lists_every_resource_of_the_higher_apps(manager_api):
    body = get(manager_api, "/api/v1/").json()
    for name, url in {
        "care-touch": "care-touches/",
        "contact": "contacts/",
        "complaint": "complaints/",
        "membership-card": "membership-cards/",
        "points-entry": "points-entries/",
        "referral": "referrals/",
        "survey": "surveys/",
        "survey-response": "survey-responses/",
        "campaign": "campaigns/",
    }.items():
        assert body[name] == f"http://testserver/api/v1/{url}", name


def test_a_token_of_another_store_gets_a_404_on_every_detail_route(
    client, dealership, other_dealership, customer, advisor, manager, group_admin
):
    now, today = timezone.now(), timezone.localdate()
    task = touch(customer, advisor)
    contact = Contact.objects.create(dealership=dealership, customer=customer, advisor=advisor, notes="x")
    case = complaint_open(
        customer=customer,
        channel="hotline",
        category=ComplaintCategory.objects.first(),
        severity="normal",
        description="x",
        by=advisor,
    )
    card = card_join(customer=customer, level="ordinary", route="fee", by=advisor, day=today)
    points = PointsEntry.objects.create(card=card, points=5, kind="repair_spend", source="ro:x", earned_on=today)
    referral = Referral.objects.create(
        dealership=dealership, referrer=customer, referred=CustomerFactory(dealership=dealership)
    )
    survey = Survey.objects.create(
        dealership=dealership,
        customer=customer,
        kind="post_service",
        channel="sms",
        sent_at=now,
        expires_at=now + datetime.timedelta(days=7),
    )
    answer = SurveyResponse.objects.create(
        dealership=dealership, customer=customer, kind="post_service", channel="sms", nps=9, answered_at=now
    )
    campaign = campaign_create(
        dealership=dealership,
        name="x",
        kind="seasonal",
        starts_on=today,
        ends_on=today,
        cost=0,
        holdout_share="0.10",
        audience={},
        by=manager,
    )
    _token, key = api_token_issue(name="DMS", dealership=other_dealership, can_write=True, by=group_admin)
    headers = {"HTTP_AUTHORIZATION": f"Bearer {key}"}
    reads = [
        f"care-touches/{task.pk}/",
        f"contacts/{contact.pk}/",
        f"complaints/{case.pk}/",
        f"complaints/{case.pk}/events/",
        f"membership-cards/{card.pk}/",
        f"points-entries/{points.pk}/",
        f"referrals/{referral.pk}/",
        f"surveys/{survey.pk}/",
        f"survey-responses/{answer.pk}/",
        f"campaigns/{campaign.pk}/",
        f"campaigns/{campaign.pk}/results/",
    ]
    for route in reads:
        assert client.get(f"/api/v1/{route}", **headers).status_code == 404, route
    writes = {
        f"care-touches/{task.pk}/outcome/": {"code": "reached"},
        f"complaints/{case.pk}/transition/": {"to": "recorded"},
        f"membership-cards/{card.pk}/renew/": {},
        f"campaigns/{campaign.pk}/draw/": {},
    }
    for route, data in writes.items():
        response = client.post(f"/api/v1/{route}", data, content_type="application/json", **headers)
        assert response.status_code == 404, route
    # The same token reads its own store's rows.
    assert client.get("/api/v1/care-touches/", **headers).json()["results"] == []
