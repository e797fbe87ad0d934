"""The analytics API: surveys and their answers, campaigns (create, draw, results). Managers only."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from analytics.models import Campaign, CampaignMember, Survey, SurveyResponse
from service.models import RepairOrder
from tests.api_more.conftest import get, ids, post
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

DAY = datetime.timedelta(days=1)


@pytest.fixture
def today():
    return timezone.localdate()


def noon(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(12, 0)))


def survey(customer, day, *, kind="post_service", channel="sms") -> Survey:
    sent = noon(day)
    return Survey.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        kind=kind,
        channel=channel,
        sent_at=sent,
        expires_at=sent + 7 * DAY,
    )


def answer(customer, day, *, csat=None, nps=None, kind="post_service", channel="sms", **extra) -> SurveyResponse:
    return SurveyResponse.objects.create(
        dealership_id=customer.dealership_id,
        customer=customer,
        kind=kind,
        channel=channel,
        csat=csat,
        nps=nps,
        answered_at=noon(day),
        **extra,
    )


def new_campaign(client, today, **changes):
    data = {
        "name": "春季保养",
        "kind": "seasonal",
        "starts_on": str(today),
        "ends_on": str(today + 30 * DAY),
        "cost": "1000.00",
        "holdout_share": "0.10",
        "audience": {"tiers": ["A", "B"]},
        **changes,
    }
    return post(client, "/api/v1/campaigns/", data)


def test_advisors_get_a_403_as_on_the_pages(api, customer, today):
    answer(customer, today, nps=9)
    for url in ("/api/v1/surveys/", "/api/v1/survey-responses/", "/api/v1/campaigns/"):
        assert get(api, url).status_code == 403, url
    assert new_campaign(api, today).status_code == 403
    assert not Campaign.objects.exists()


# --- Surveys ---------------------------------------------------------------------------------
def test_surveys_filter_by_kind_channel_sent_date_and_answered(manager_api, customer, today):
    sms = survey(customer, today - 2 * DAY)
    call = survey(customer, today - DAY, kind="lapsed", channel="call")
    Survey.objects.filter(pk=call.pk).update(answered_at=noon(today))  # setup: answered
    url = "/api/v1/surveys/"
    assert ids(get(manager_api, url)) == [call.pk, sms.pk]
    assert ids(get(manager_api, url, {"kind": "lapsed"})) == [call.pk]
    assert ids(get(manager_api, url, {"channel": "sms"})) == [sms.pk]
    assert ids(get(manager_api, url, {"sent_at_before": str(today - 2 * DAY)})) == [sms.pk]
    assert ids(get(manager_api, url, {"answered": "true"})) == [call.pk]
    assert get(manager_api, f"{url}{sms.pk}/").json()["customer"] == customer.pk


def test_responses_filter_by_kind_channel_date_range_and_detractors(manager_api, customer, today):
    promoter = answer(customer, today - 10 * DAY, csat=5, nps=10)
    low_nps = answer(customer, today - 5 * DAY, nps=6, kind="lapsed", channel="call")
    low_csat = answer(customer, today - DAY, csat=2)
    passive = answer(customer, today, csat=4, nps=8)
    url = "/api/v1/survey-responses/"
    assert ids(get(manager_api, url)) == [passive.pk, low_csat.pk, low_nps.pk, promoter.pk]
    assert ids(get(manager_api, url, {"detractors": "true"})) == [low_csat.pk, low_nps.pk]
    assert ids(get(manager_api, url, {"detractors": "false"})) == [passive.pk, promoter.pk]
    assert ids(get(manager_api, url, {"kind": "lapsed"})) == [low_nps.pk]
    assert ids(get(manager_api, url, {"channel": "call"})) == [low_nps.pk]
    window = {"answered_at_after": str(today - 5 * DAY), "answered_at_before": str(today - DAY)}
    assert ids(get(manager_api, url, window)) == [low_csat.pk, low_nps.pk]
    body = get(manager_api, f"{url}{low_nps.pk}/").json()
    assert (body["nps"], body["csat"], body["is_detractor"]) == (6, None, True)


def test_a_bad_filter_value_is_a_400(manager_api):
    response = get(manager_api, "/api/v1/survey-responses/", {"answered_at_after": "yesterday"})
    assert response.status_code == 400
    assert "answered_at_after" in response.json()


def test_another_stores_surveys_are_a_404(manager_api, other_customer, today):
    theirs = survey(other_customer, today)
    their_answer = answer(other_customer, today, nps=3)
    assert ids(get(manager_api, "/api/v1/surveys/")) == []
    assert ids(get(manager_api, "/api/v1/survey-responses/")) == []
    assert get(manager_api, f"/api/v1/surveys/{theirs.pk}/").status_code == 404
    assert get(manager_api, f"/api/v1/survey-responses/{their_answer.pk}/").status_code == 404


# --- Campaigns -------------------------------------------------------------------------------
def test_a_campaign_is_created_through_the_service(manager_api, manager, today):
    response = new_campaign(manager_api, today)
    assert response.status_code == 201, response.content
    campaign = Campaign.objects.get()
    body = response.json()
    assert body["id"] == campaign.pk
    assert (campaign.dealership, campaign.created_by, campaign.kind) == (manager.dealership, manager, "seasonal")
    assert campaign.audience == {"tiers": ["A", "B"], "churn_states": ["active"]}
    assert campaign.rule is not None and body["rule"] == campaign.rule_id
    assert (body["cost"], body["holdout_share"], body["drawn_at"]) == ("1000.00", "0.10", None)


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"ends_on": "2000-01-01"}, "ends_on", "cannot end before it starts"),
        ({"audience": {"tiers": ["Z"]}}, "tiers", "Unknown: Z"),
        ({"holdout_share": "0.60"}, "holdout_share", "less than or equal to 0.5"),
        ({"kind": "recall", "audience": {}}, "recall_campaign", "Choose a recall campaign"),
        ({"name": ""}, "name", "may not be blank"),
    ],
)
def test_a_bad_campaign_is_a_400_with_the_reason(manager_api, today, changes, field, reason):
    response = new_campaign(manager_api, today, **changes)
    assert response.status_code == 400
    assert reason in " ".join(response.json()[field])
    assert not Campaign.objects.exists()


def test_a_list_campaign_of_another_stores_customers_is_refused(manager_api, customer, other_customer, today):
    response = new_campaign(
        manager_api, today, kind="list", audience={"customer_ids": [customer.pk, other_customer.pk]}
    )
    assert response.status_code == 400
    assert "another store" in response.json()["audience"][0]
    response = new_campaign(manager_api, today, kind="list", audience={"customer_ids": [customer.pk]})
    assert response.status_code == 201


def test_drawing_puts_the_audience_in_the_campaign(manager_api, dealership, today):
    consenting = [CustomerFactory(dealership=dealership, marketing_consent=True, value_tier="B") for _ in range(3)]
    CustomerFactory(dealership=dealership, marketing_consent=False, value_tier="B")
    campaign_id = new_campaign(manager_api, today).json()["id"]
    response = post(manager_api, f"/api/v1/campaigns/{campaign_id}/draw/")
    assert response.status_code == 200, response.content
    assert response.json()["drawn_at"] is not None
    drawn = set(CampaignMember.objects.filter(campaign_id=campaign_id).values_list("customer_id", flat=True))
    assert drawn == {c.pk for c in consenting}
    results = get(manager_api, f"/api/v1/campaigns/{campaign_id}/results/").json()
    assert results["treated"]["members"] + results["holdout"]["members"] == 3


def test_results_compare_the_treated_with_the_holdout(manager_api, dealership, today):
    response = new_campaign(manager_api, today, starts_on=str(today - 10 * DAY), cost="1000.00")
    campaign = Campaign.objects.get(pk=response.json()["id"])
    came_back, stayed_away, holdout_a, holdout_b = (CustomerFactory(dealership=dealership) for _ in range(4))
    for person, holdout in ((came_back, False), (stayed_away, False), (holdout_a, True), (holdout_b, True)):
        CampaignMember.objects.create(campaign=campaign, customer=person, holdout=holdout)
    opened = noon(today - 3 * DAY)
    RepairOrder.objects.create(
        dealership=dealership,
        customer=came_back,
        vehicle=VehicleFactory(customer=came_back),
        number="RO-API-1",
        kind="maintenance",
        opened_at=opened,
        closed_at=opened + datetime.timedelta(hours=2),
        mileage=12000,
        labor_amount=Decimal("500"),
        parts_amount=Decimal("0"),
        total_amount=Decimal("500"),
    )
    body = get(manager_api, f"/api/v1/campaigns/{campaign.pk}/results/").json()
    assert body["treated"] == {
        "members": 2,
        "returned": 1,
        "revenue": "500.00",
        "touched": 0,
        "rate_percent": "50.0",
        "revenue_per_member_yuan": "250.00",
    }
    assert (body["holdout"]["members"], body["holdout"]["returned"], body["holdout"]["rate_percent"]) == (2, 0, "0.0")
    # Lift 50 − 0 points; incremental revenue (250 − 0) × 2 = 500; ROI (500 − 1000) / 1000 = −50 %.
    assert (body["lift_points"], body["incremental_revenue"], body["roi_percent"]) == ("50.0", "500.00", "-50.0")
    assert (body["verdict"], body["significant"], body["running"]) == ("too_small", False, True)


def test_another_stores_campaign_is_a_404_on_every_route(client, other_manager, manager, today):
    client.force_login(other_manager)
    theirs = new_campaign(client, today).json()["id"]
    client.force_login(manager)
    assert ids(get(client, "/api/v1/campaigns/")) == []
    assert get(client, f"/api/v1/campaigns/{theirs}/").status_code == 404
    assert get(client, f"/api/v1/campaigns/{theirs}/results/").status_code == 404
    assert post(client, f"/api/v1/campaigns/{theirs}/draw/").status_code == 404
    assert Campaign.objects.get().drawn_at is None


def test_the_lists_cost_the_same_queries_at_any_size(manager_api, customer, today, django_assert_max_num_queries):
    for n in (2, 10):
        while Survey.objects.count() < n:
            k = Survey.objects.count()
            survey(customer, today - k * DAY)
            answer(customer, today - k * DAY, nps=k)
            new_campaign(manager_api, today, name=f"活动{k}")
        for url in ("/api/v1/surveys/", "/api/v1/survey-responses/", "/api/v1/campaigns/"):
            with django_assert_max_num_queries(3):
                assert len(ids(get(manager_api, url))) == n, url


def test_a_group_admin_names_the_campaigns_dealership(client, group_admin, dealership, today):
    client.force_login(group_admin)
    response = new_campaign(client, today)
    assert response.status_code == 400
    assert "dealership" in response.json()
    response = new_campaign(client, today, dealership=dealership.pk)
    assert response.status_code == 201
    assert Campaign.objects.get().dealership == dealership
