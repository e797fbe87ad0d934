"""The survey's pages: the customer's page from the SMS link (no login, nothing
personal shown, one answer per link, clear 4xx pages for a used, expired,
tampered or unknown link), and the managers' list of answers with its
one-click complaint."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core import signing
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from analytics.models import Survey, SurveyResponse
from analytics.survey_links import survey_path, survey_token
from care.models import CareRule
from complaints.models import Complaint
from service.models import RepairOrder
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def _no_rules(db):
    """No care rule: answers make no follow-up touch here (tests/analytics/test_surveys.py has those)."""
    CareRule.objects.all().delete()


@pytest.fixture
def visit(vehicle, advisor):
    opened = datetime.datetime(2026, 6, 9, 9, 30, tzinfo=SH)
    return RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number="RO-20260609-7",
        kind="repair",
        opened_at=opened,
        closed_at=opened + datetime.timedelta(hours=6),
        mileage=12000,
        advisor=advisor,
    )


def make_survey(customer, *, order=None, kind="post_service", sent=None, **extra) -> Survey:
    sent = sent or timezone.now() - datetime.timedelta(hours=1)
    return Survey.objects.create(
        dealership=customer.dealership,
        customer=customer,
        repair_order=order,
        kind=kind,
        channel="sms",
        sent_at=sent,
        expires_at=sent + datetime.timedelta(days=7),
        **extra,
    )


@pytest.fixture
def survey(customer, visit):
    return make_survey(customer, order=visit)


def url(survey: Survey) -> str:
    return survey_path(survey.pk)


def test_the_page_shows_the_store_and_the_visit_date_and_nothing_personal(client, survey, customer, vehicle):
    response = client.get(url(survey))
    assert response.status_code == 200
    page = response.content.decode()
    assert "浦东4S店" in page and "2026-06-09" in page
    for personal in (customer.name, customer.phone, vehicle.plate_number, "RO-20260609-7", vehicle.vin):
        assert personal not in page
    assert 'name="csat"' in page and 'name="nps"' in page and 'name="comment"' in page
    assert page.count('name="nps"') == 11 and page.count('name="csat"') == 5
    assert "csrfmiddlewaretoken" in page
    assert '<html lang="zh-hans">' in page  # Chinese unless the phone asks otherwise
    survey.refresh_from_db()
    assert survey.opened_at is not None and survey.answered_at is None


def test_the_lapsed_survey_asks_only_the_recommend_question(client, customer):
    page = client.get(url(make_survey(customer, kind="lapsed"))).content.decode()
    assert 'name="nps"' in page and 'name="csat"' not in page
    assert "浦东4S店" in page


def test_an_answer_is_kept_once_and_a_second_submit_is_thanked_with_a_410(client, survey, advisor):
    first = client.post(url(survey), {"csat": "4", "nps": "9", "comment": "师傅很专业"})
    assert first.status_code == 200
    assert "answered-thanks" in first.content.decode()
    response = SurveyResponse.objects.get()
    assert (response.survey, response.csat, response.nps, response.comment, response.advisor) == (
        survey,
        4,
        9,
        "师傅很专业",
        advisor,
    )
    again = client.post(url(survey), {"csat": "1", "nps": "0", "comment": "改主意了"})
    assert again.status_code == 410
    assert "closed-answered" in again.content.decode()
    assert client.get(url(survey)).status_code == 410
    assert SurveyResponse.objects.count() == 1


def test_an_expired_link_is_a_410_page(client, customer, visit):
    old = make_survey(customer, order=visit, sent=timezone.now() - datetime.timedelta(days=7, minutes=1))
    for response in (client.get(url(old)), client.post(url(old), {"csat": "5", "nps": "10"})):
        assert response.status_code == 410
        assert "closed-expired" in response.content.decode()
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    "token",
    [
        "garbage",
        "MTIz:1vXyZa:not-a-signature",
        signing.dumps(1, salt="complaints.status", compress=True),  # another app's signature
        signing.dumps("12", salt="analytics.survey", compress=True),  # ours, but not an id
    ],
    # Timestamped tokens differ per process: fixed ids keep xdist's workers agreeing.
    ids=["garbage", "bad-signature", "other-app", "not-an-id"],
)
def test_a_tampered_or_foreign_token_is_a_404_page(client, survey, token):
    for response in (client.get(f"/s/{token}/"), client.post(f"/s/{token}/", {"nps": "10"})):
        assert response.status_code == 404
        assert "link-invalid" in response.content.decode()
    assert not SurveyResponse.objects.exists()


def test_a_token_altered_by_one_character_is_a_404(client, survey):
    token = survey_token(survey.pk)
    flipped = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/s/{flipped}/").status_code == 404


def test_a_genuine_token_of_a_survey_that_does_not_exist_is_a_404(client, survey):
    assert client.get(f"/s/{survey_token(survey.pk + 1000)}/").status_code == 404


def test_a_call_surveys_token_opens_nothing(client, customer):
    sent = timezone.now()
    call = Survey.objects.create(
        dealership=customer.dealership,
        customer=customer,
        kind="lapsed",
        channel="call",
        sent_at=sent,
        expires_at=sent + datetime.timedelta(days=7),
        answered_at=sent,
    )
    assert client.get(url(call)).status_code == 404


@pytest.mark.parametrize(
    "data",
    [
        {"csat": "6", "nps": "9"},
        {"csat": "4", "nps": "11"},
        {"nps": "ten"},
        {"comment": "没打分"},
        {"comment": "x" * 1001},
    ],
)
def test_a_bad_answer_is_a_400_with_the_form_again(client, survey, data):
    response = client.post(url(survey), {"csat": "", "nps": "", "comment": "", **data})
    assert response.status_code == 400
    assert 'class="alert"' in response.content.decode()
    assert not SurveyResponse.objects.exists()
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_csrf_stays_on(survey):
    strict = Client(enforce_csrf_checks=True)
    assert strict.post(url(survey), {"csat": "5", "nps": "10"}).status_code == 403
    assert not SurveyResponse.objects.exists()


def test_only_get_and_post(client, survey):
    assert client.put(url(survey)).status_code == 405


# --- The managers' page ---------------------------------------------------------------------------


def answer(customer, *, csat=None, nps=None, comment="", channel="sms", when=None, **extra) -> SurveyResponse:
    return SurveyResponse.objects.create(
        dealership=customer.dealership,
        customer=customer,
        kind=extra.pop("kind", "post_service"),
        channel=channel,
        csat=csat,
        nps=nps,
        comment=comment,
        answered_at=when or timezone.now() - datetime.timedelta(days=1),
        **extra,
    )


def test_the_manager_sees_the_answers_with_scores_and_detractors(client, manager, customer, other_dealership):
    answer(customer, csat=5, nps=10, comment="很好")
    answer(customer, csat=2, nps=3, comment="太慢了")
    answer(customer, csat=4, nps=8)
    answer(CustomerFactory(dealership=other_dealership, name="别店客户"), csat=1, nps=0, comment="别的店")
    client.force_login(manager)
    response = client.get(reverse("analytics:surveys"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "太慢了" in page and "很好" in page and "别的店" not in page
    summary = response.context["summary"]
    # 3 answers: NPS 1 promoter (10), 1 passive (8), 1 detractor (3): (1 − 1) / 3 = 0.0;
    # CSAT 2 of 3 are 4 or 5: 66.7 %; one detractor.
    assert (summary.answers, str(summary.nps), str(summary.csat), summary.detractors) == (3, "0.0", "66.7", 1)
    assert page.count("raise-complaint") == 2  # the two answers with a comment

    only = client.get(reverse("analytics:surveys"), {"detractors": "on"})
    assert [r.comment for r, _case in only.context["rows"]] == ["太慢了"]


def test_filters_by_period_kind_and_channel(client, manager, customer):
    today = timezone.localdate()
    answer(customer, nps=9, when=timezone.now() - datetime.timedelta(days=40))
    answer(customer, nps=7, kind="lapsed", channel="call")
    answer(customer, nps=5)
    client.force_login(manager)
    default = client.get(reverse("analytics:surveys"))  # the last 30 days
    assert sorted(r.nps for r, _ in default.context["rows"]) == [5, 7]
    lapsed = client.get(reverse("analytics:surveys"), {"kind": "lapsed"})
    assert [r.nps for r, _ in lapsed.context["rows"]] == [7]
    sms = client.get(reverse("analytics:surveys"), {"channel": "sms"})
    assert [r.nps for r, _ in sms.context["rows"]] == [5]
    start = (today - datetime.timedelta(days=60)).isoformat()
    wide = client.get(reverse("analytics:surveys"), {"start": start, "end": today.isoformat()})
    assert sorted(r.nps for r, _ in wide.context["rows"]) == [5, 7, 9]


def test_bad_filters_are_reported_and_the_page_still_renders(client, manager, customer):
    client.force_login(manager)
    response = client.get(reverse("analytics:surveys"), {"start": "2026-13-01", "kind": "nope", "end": "x"})
    assert response.status_code == 200
    assert response.context["problems"]


def test_advisors_may_not_see_the_answers(client, advisor):
    client.force_login(advisor)
    assert client.get(reverse("analytics:surveys")).status_code == 403


@pytest.mark.parametrize("size", [3, 60])
@pytest.mark.parametrize(("role", "queries"), [("manager", 7), ("group_admin", 8)])
def test_the_page_costs_the_same_queries_at_any_size(
    request, client, customer, size, role, queries, django_assert_max_num_queries
):
    for n in range(size):
        answer(customer, csat=1 + n % 5, nps=n % 11, comment=f"意见{n}")
    client.force_login(request.getfixturevalue(role))
    # session, user, paginator count, the page's answers, their complaints, the summary,
    # the calendar banner (+ the stores to filter by, for group-level users).
    with django_assert_max_num_queries(queries):
        response = client.get(reverse("analytics:surveys"))
    assert len(response.context["rows"]) == min(size, 50)


def test_raise_as_a_complaint_opens_one_case_and_the_answer_then_links_to_it(client, manager, customer, visit):
    response = answer(customer, csat=2, nps=2, comment="漆面划伤", repair_order=visit)
    client.force_login(manager)
    raise_url = reverse("analytics:survey-complaint", args=[response.pk])
    assert client.post(raise_url, {"next": "detractors=on"}).url == reverse("analytics:surveys") + "?detractors=on"
    case = Complaint.objects.get()
    assert (case.channel, case.repair_order, case.customer) == ("online_form", visit, customer)
    client.post(raise_url)
    assert Complaint.objects.count() == 1
    page = client.get(reverse("analytics:surveys")).content.decode()
    assert reverse("complaints:detail", args=[case.pk]) in page and case.number in page
    assert "raise-complaint" not in page


def test_a_call_answer_is_raised_as_a_follow_up_call_case(client, manager, customer):
    response = answer(customer, nps=1, comment="电话里说很不满", channel="call")
    client.force_login(manager)
    client.post(reverse("analytics:survey-complaint", args=[response.pk]))
    assert Complaint.objects.get().channel == "follow_up_call"


def test_another_stores_answer_cannot_be_raised(client, customer, other_dealership):
    response = answer(customer, nps=1, comment="差")
    client.force_login(ManagerFactory(username="elsewhere", dealership=other_dealership))
    assert client.post(reverse("analytics:survey-complaint", args=[response.pk])).status_code == 404
    client.force_login(UserFactory(username="an_advisor", dealership=customer.dealership))
    assert client.post(reverse("analytics:survey-complaint", args=[response.pk])).status_code == 403
    assert not Complaint.objects.exists()
