"""Surveys (issue 13): the daily SMS invitations, answering a link, the
detractor's follow-up, raising an answer as a complaint, and the scores of
real answers. Every expected figure is worked out by hand."""

import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from analytics.models import Survey, SurveyResponse
from analytics.scores import csat, nps
from analytics.survey_links import survey_id_from_token
from analytics.surveys.services import (
    SurveyClosed,
    survey_answer,
    survey_invitations_send,
    survey_response_raise_complaint,
)
from analytics.tasks import send_survey_invitations_task
from care.messaging.models import Outbox
from care.models import CareOptOut, CareRule, CareTask
from care.registry import spec_for
from complaints.models import Complaint
from customers.models import Customer
from service.models import RepairOrder
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date
DAY = D(2026, 6, 10)  # the job's day: orders closed on 2026-06-09 are asked
NOW = datetime.datetime(2026, 6, 10, 10, 0, tzinfo=SH)


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


def install(*kinds: str) -> list[CareRule]:
    """Only the default rules of ``kinds`` (the others would make touches of their own)."""
    CareRule.objects.all().delete()
    return [
        CareRule.objects.create(dealership=None, kind=kind, **defaults)
        for kind in kinds
        for defaults in spec_for(kind).default_rules
    ]


@pytest.fixture
def survey_rules(db):
    return install("survey_invite", "detractor_followup")


def order(customer, number: str, *, closed: datetime.datetime | None, kind="repair", **extra) -> RepairOrder:
    car = extra.pop("vehicle", None) or VehicleFactory(customer=customer)
    return RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        number=number,
        kind=kind,
        opened_at=(closed or at(2026, 6, 9, 16)) - datetime.timedelta(hours=6),
        closed_at=closed,
        mileage=12000,
        **extra,
    )


def sms_surveys() -> list[tuple]:
    return list(Survey.objects.order_by("pk").values_list("customer_id", "repair_order__number", "kind", "channel"))


# --- The invitations after a visit -----------------------------------------------------------


def test_an_order_closed_yesterday_gets_one_survey_its_touch_and_its_sms(survey_rules, customer, advisor):
    ro = order(customer, "RO-1", closed=at(2026, 6, 9, 17, 30), advisor=advisor)
    report = survey_invitations_send(day=DAY, now=NOW)
    assert (report.post_service, report.lapsed, report.touches, report.queued) == (1, 0, 1, 1)
    survey = Survey.objects.get()
    assert (survey.customer, survey.repair_order, survey.kind, survey.channel, survey.dealership_id) == (
        customer,
        ro,
        "post_service",
        "sms",
        customer.dealership_id,
    )
    # Valid 7 days from the sending.
    assert (survey.sent_at, survey.expires_at) == (NOW, at(2026, 6, 17, 10, 0))
    touch = CareTask.objects.get(kind="survey_invite")
    assert (touch.occasion, touch.channel, touch.repair_order, touch.customer) == (
        f"survey:{survey.pk}",
        "sms",
        ro,
        customer,
    )
    message = Outbox.objects.get()
    # A service message: it goes without marketing consent (the customer gave none).
    assert (message.status, message.purpose, message.recipient) == ("queued", "service", "13912345678")
    assert not customer.marketing_consent
    link = message.body.split("：")[-1]
    assert link.startswith("/s/") and link == touch.subject
    assert survey_id_from_token(link.removeprefix("/s/").rstrip("/")) == survey.pk
    assert "李雷" in message.body and "浦东4S店" in message.body


def test_the_link_has_the_public_host_when_it_is_set(survey_rules, customer, settings):
    settings.CRM_COMPLAINT_PUBLIC_BASE_URL = "https://kefu.example.cn/"
    order(customer, "RO-1", closed=at(2026, 6, 9, 12))
    survey_invitations_send(day=DAY, now=NOW)
    assert Outbox.objects.get().body.split("：")[-1].startswith("https://kefu.example.cn/s/")


def test_running_the_invitations_twice_makes_nothing_more(survey_rules, customer):
    order(customer, "RO-1", closed=at(2026, 6, 9, 12))
    survey_invitations_send(day=DAY, now=NOW)
    again = survey_invitations_send(day=DAY, now=NOW + datetime.timedelta(hours=2))
    assert (again.post_service, again.lapsed, again.touches, again.queued) == (0, 0, 0, 0)
    assert (Survey.objects.count(), CareTask.objects.count(), Outbox.objects.count()) == (1, 1, 1)


def test_voided_open_internal_and_other_days_orders_get_no_survey(survey_rules, dealership):
    voided = CustomerFactory(dealership=dealership)
    order(voided, "RO-V", closed=at(2026, 6, 9, 12), voided_at=at(2026, 6, 9, 18))
    still_open = CustomerFactory(dealership=dealership)
    order(still_open, "RO-O", closed=None)
    internal = CustomerFactory(dealership=dealership)
    order(internal, "RO-I", closed=at(2026, 6, 9, 12), payer=RepairOrder.Payer.INTERNAL)
    earlier = CustomerFactory(dealership=dealership)
    order(earlier, "RO-E", closed=at(2026, 6, 8, 23, 59))
    # Closed at 00:30 on the 10th in Shanghai (the 9th in UTC): that is today's, asked tomorrow.
    today = CustomerFactory(dealership=dealership)
    order(today, "RO-T", closed=at(2026, 6, 10, 0, 30))
    assert survey_invitations_send(day=DAY, now=NOW).post_service == 0
    assert not Survey.objects.exists()


def test_at_most_one_survey_per_customer_in_30_days_whatever_its_channel(survey_rules, dealership):
    recent, old = CustomerFactory(dealership=dealership), CustomerFactory(dealership=dealership)
    # A call survey 29 days before (2026-05-12 10:00) blocks; one 30 days and a minute before does not.
    for who, sent in ((recent, at(2026, 5, 12, 10, 0)), (old, at(2026, 5, 11, 9, 59))):
        Survey.objects.create(
            dealership=dealership,
            customer=who,
            kind="lapsed",
            channel="call",
            sent_at=sent,
            expires_at=sent + datetime.timedelta(days=7),
        )
        order(who, f"RO-{who.pk}", closed=at(2026, 6, 9, 12))
    assert survey_invitations_send(day=DAY, now=NOW).post_service == 1
    assert Survey.objects.filter(kind="post_service").get().customer == old


def test_two_orders_of_a_customer_on_the_same_day_make_one_survey_about_the_last(survey_rules, customer):
    order(customer, "RO-1", closed=at(2026, 6, 9, 11))
    order(customer, "RO-2", closed=at(2026, 6, 9, 15))
    survey_invitations_send(day=DAY, now=NOW)
    assert sms_surveys() == [(customer.pk, "RO-2", "post_service", "sms")]


def test_a_customer_who_gets_the_day3_call_is_asked_on_the_call_not_by_sms(db, customer, dealership):
    install("survey_invite", "post_repair_day3")  # repair, warranty, accident, bodywork, maintenance
    order(customer, "RO-R", closed=at(2026, 6, 9, 12), kind="repair")
    fitted = CustomerFactory(dealership=dealership)
    order(fitted, "RO-A", closed=at(2026, 6, 9, 12), kind="accessory")  # no day-3 call for accessories
    survey_invitations_send(day=DAY, now=NOW)
    assert sms_surveys() == [(fitted.pk, "RO-A", "post_service", "sms")]


def test_no_survey_without_a_usable_mobile_or_for_an_opted_out_or_inactive_customer(survey_rules, dealership):
    wrong = CustomerFactory(dealership=dealership, phone_wrong=True)
    opted = CustomerFactory(dealership=dealership)
    CareOptOut.objects.create(customer=opted, kind="", channel="sms", reason="不要短信")
    moved = CustomerFactory(dealership=dealership, status=Customer.Status.MOVED)
    asked = CustomerFactory(dealership=dealership)
    for who in (wrong, opted, moved, asked):
        order(who, f"RO-{who.pk}", closed=at(2026, 6, 9, 12))
    survey_invitations_send(day=DAY, now=NOW)
    assert [row[0] for row in sms_surveys()] == [asked.pk]


def test_a_store_with_its_own_disabled_rule_sends_no_surveys(survey_rules, customer, other_dealership):
    CareRule.objects.create(
        dealership=customer.dealership,
        kind="survey_invite",
        **{**spec_for("survey_invite").default_rules[0], "enabled": False},
    )
    order(customer, "RO-1", closed=at(2026, 6, 9, 12))
    elsewhere = CustomerFactory(dealership=other_dealership)
    order(elsewhere, "RO-2", closed=at(2026, 6, 9, 12))
    survey_invitations_send(day=DAY, now=NOW)
    assert [row[0] for row in sms_surveys()] == [elsewhere.pk]


# --- The lapsed customers --------------------------------------------------------------------


def lapsed(dealership, last_visit: datetime.date, state=Customer.ChurnState.AT_RISK) -> Customer:
    return CustomerFactory(dealership=dealership, churn_state=state, last_visit_date=last_visit)


def test_lapsed_customers_are_asked_up_to_the_store_cap_most_recently_lapsed_first(
    survey_rules, dealership, other_dealership, settings
):
    settings.CRM_SURVEY_LAPSED_PER_DAY = 2
    a = lapsed(dealership, D(2025, 11, 1))
    b = lapsed(dealership, D(2025, 6, 1), Customer.ChurnState.LOST)
    lapsed(dealership, D(2025, 3, 1), Customer.ChurnState.LOST)  # third: over the cap
    CustomerFactory(dealership=dealership, last_visit_date=D(2026, 5, 1))  # active: not asked
    there = lapsed(other_dealership, D(2025, 1, 1))  # the cap is per store
    report = survey_invitations_send(day=DAY, now=NOW)
    assert (report.lapsed, report.touches, report.queued) == (3, 3, 3)
    assert sorted(Survey.objects.values_list("customer_id", "kind", "repair_order")) == sorted(
        [(a.pk, "lapsed", None), (b.pk, "lapsed", None), (there.pk, "lapsed", None)]
    )
    # The lapsed survey's own words.
    assert all("推荐我们" in body for body in Outbox.objects.values_list("body", flat=True))
    # Later the same day the cap is spent: nothing more.
    assert survey_invitations_send(day=DAY, now=NOW + datetime.timedelta(hours=3)).lapsed == 0


def test_a_lapsed_customer_is_never_asked_twice_within_180_days(survey_rules, dealership):
    customer = lapsed(dealership, D(2025, 11, 1))
    # Asked 179 days before (2025-12-13 10:00): not again; 181 days before: again (the 30-day rule holds too).
    sent = at(2025, 12, 13, 10, 0)
    Survey.objects.create(
        dealership=dealership,
        customer=customer,
        kind="lapsed",
        channel="sms",
        sent_at=sent,
        expires_at=sent + datetime.timedelta(days=7),
    )
    assert survey_invitations_send(day=DAY, now=NOW).lapsed == 0
    Survey.objects.update(sent_at=at(2025, 12, 11, 10, 0), expires_at=at(2025, 12, 18, 10, 0))
    assert survey_invitations_send(day=DAY, now=NOW).lapsed == 1


def test_a_lapsed_customer_with_an_open_winback_call_is_asked_on_the_call(survey_rules, dealership):
    customer = lapsed(dealership, D(2025, 11, 1))
    rule = CareRule.objects.create(dealership=None, kind="winback", **spec_for("winback").default_rules[0])
    CareTask.objects.create(
        dealership=dealership,
        customer=customer,
        rule=rule,
        kind="winback",
        channel="call",
        occasion="winback:x",
        event_date=DAY,
        due_date=DAY,
        expires_on=DAY + datetime.timedelta(days=7),
        created_on=DAY,
    )
    assert survey_invitations_send(day=DAY, now=NOW).lapsed == 0


# --- Answering -------------------------------------------------------------------------------


@pytest.fixture
def survey(survey_rules, customer, advisor):
    ro = order(customer, "RO-1", closed=at(2026, 6, 9, 12), advisor=advisor)
    return Survey.objects.create(
        dealership=customer.dealership,
        customer=customer,
        repair_order=ro,
        kind="post_service",
        channel="sms",
        sent_at=NOW,
        expires_at=NOW + datetime.timedelta(days=7),
    )


def test_an_answer_is_one_response_and_uses_the_link_up(survey, advisor):
    when = at(2026, 6, 11, 9, 0)
    response = survey_answer(survey=survey, csat=5, nps=9, comment=" 服务很好 ", now=when)
    assert (response.csat, response.nps, response.comment, response.channel, response.kind) == (
        5,
        9,
        "服务很好",
        "sms",
        "post_service",
    )
    assert (response.advisor, response.repair_order, response.answered_at) == (advisor, survey.repair_order, when)
    survey.refresh_from_db()
    assert survey.answered_at == when
    with pytest.raises(SurveyClosed) as closed:
        survey_answer(survey=survey, csat=1, nps=0, comment="", now=when + datetime.timedelta(minutes=1))
    assert closed.value.reason == "answered"
    assert SurveyResponse.objects.count() == 1


def test_an_answer_after_the_seven_days_is_refused(survey):
    with pytest.raises(SurveyClosed) as closed:
        survey_answer(survey=survey, csat=4, nps=8, comment="", now=at(2026, 6, 17, 10, 0))
    assert closed.value.reason == "expired"
    assert not SurveyResponse.objects.exists()


@pytest.mark.parametrize(
    ("csat", "nps", "field"), [(0, 5, "csat"), (6, 5, "csat"), (3, 11, "nps"), (3, -1, "nps"), (None, None, "__all__")]
)
def test_bad_scores_are_refused_by_field(survey, csat, nps, field):
    with pytest.raises(ValidationError) as exc:
        survey_answer(survey=survey, csat=csat, nps=nps, comment="", now=at(2026, 6, 11, 9, 0))
    assert set(exc.value.message_dict) == {field}
    assert not SurveyResponse.objects.exists()


def test_a_detractor_with_a_comment_makes_exactly_one_touch_for_the_manager(survey, manager, customer):
    ManagerFactory(username="second_manager", dealership=customer.dealership)  # the first (lowest id) calls
    survey_answer(survey=survey, csat=4, nps=6, comment="等了两个小时", now=at(2026, 6, 11, 9, 0))
    [touch] = CareTask.objects.filter(kind="detractor_followup")
    assert (touch.assigned_to, touch.customer, touch.subject, touch.channel, touch.due_date) == (
        manager,
        customer,
        "等了两个小时",
        "call",
        D(2026, 6, 11),
    )
    assert (touch.repair_order, touch.vehicle) == (survey.repair_order, survey.repair_order.vehicle)


@pytest.mark.parametrize(("csat", "nps"), [(2, 9), (1, None), (None, 0)])
def test_csat_of_two_or_nps_of_six_or_less_is_a_detractor(survey, manager, csat, nps):
    survey_answer(survey=survey, csat=csat, nps=nps, comment="不满意", now=at(2026, 6, 11, 9, 0))
    assert CareTask.objects.filter(kind="detractor_followup").count() == 1


@pytest.mark.parametrize(("csat", "nps", "comment"), [(1, 0, ""), (1, 0, "   "), (3, 7, "一般"), (5, 10, "很好")])
def test_no_follow_up_without_a_comment_or_for_a_passive_or_promoter(survey, manager, csat, nps, comment):
    survey_answer(survey=survey, csat=csat, nps=nps, comment=comment, now=at(2026, 6, 11, 9, 0))
    assert not CareTask.objects.filter(kind="detractor_followup").exists()


# --- Raising an answer as a complaint ---------------------------------------------------------


def test_an_answer_is_raised_as_a_complaint_once(survey, manager, customer):
    response = survey_answer(survey=survey, csat=2, nps=3, comment="漆面有划痕", now=at(2026, 6, 11, 9, 0))
    case, opened = survey_response_raise_complaint(response=response, by=manager)
    assert opened
    assert (case.channel, case.customer, case.repair_order, case.received_by, case.category.code) == (
        "online_form",
        customer,
        survey.repair_order,
        manager,
        "other",
    )
    assert case.description.startswith("漆面有划痕\n\n")
    again, opened_again = survey_response_raise_complaint(response=response, by=manager)
    assert (again, opened_again) == (case, False)
    assert Complaint.objects.count() == 1


def test_an_answer_without_a_comment_cannot_be_raised(survey, manager):
    response = survey_answer(survey=survey, csat=1, nps=0, comment="", now=at(2026, 6, 11, 9, 0))
    with pytest.raises(ValidationError):
        survey_response_raise_complaint(response=response, by=manager)
    assert not Complaint.objects.exists()


# --- The scores of real answers ----------------------------------------------------------------


def answers(customer, scores: list[tuple[int | None, int | None]]) -> None:
    for n, (c, p) in enumerate(scores):
        SurveyResponse.objects.create(
            dealership=customer.dealership,
            customer=customer,
            kind="post_service",
            channel="sms",
            csat=c,
            nps=p,
            answered_at=at(2026, 6, 1, 9) + datetime.timedelta(minutes=n),
        )


def test_ten_recommend_answers_of_five_promoters_three_passives_two_detractors_are_nps_plus_30(customer):
    # 5 promoters (9, 10), 3 passives (7, 8), 2 detractors (0–6): 50 % − 20 % = +30.
    answers(customer, [(None, 10), (None, 9), (None, 9), (None, 10), (None, 9), (None, 8), (None, 7), (None, 7)])
    answers(customer, [(None, 6), (None, 0)])
    assert nps(SurveyResponse.objects.all()) == Decimal("30.0")


def test_csat_is_the_share_of_answers_of_four_or_five(customer):
    # 7 CSAT answers, 4 of them 4 or 5 (5, 4, 4, 5): 4 / 7 = 57.142… % → 57.1; the NPS-only answer is not counted.
    answers(customer, [(5, None), (4, None), (3, None), (4, None), (2, None), (1, None), (5, None), (None, 9)])
    assert csat(SurveyResponse.objects.all()) == Decimal("57.1")


def test_a_store_manager_is_the_first_active_manager_by_id(survey, customer):
    first = ManagerFactory(username="first_manager", dealership=customer.dealership, is_active=False)
    second = ManagerFactory(username="second_manager", dealership=customer.dealership)
    UserFactory(username="an_advisor", dealership=customer.dealership)
    survey_answer(survey=survey, csat=1, nps=1, comment="差", now=at(2026, 6, 11, 9, 0))
    assert CareTask.objects.get(kind="detractor_followup").assigned_to == second
    assert first.pk < second.pk


def test_the_daily_task_sends_yesterdays_invitations(survey_rules, customer):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    order(customer, "RO-1", closed=datetime.datetime.combine(yesterday, datetime.time(15), tzinfo=SH))
    result = send_survey_invitations_task()
    assert (result["day"], result["post_service"], result["touches"], result["queued"]) == (
        timezone.localdate().isoformat(),
        "1",
        "1",
        "1",
    )
    assert send_survey_invitations_task(day=timezone.localdate().isoformat())["post_service"] == "0"
