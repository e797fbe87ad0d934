"""Win-back and early-warning touches, win-back campaigns, the win-back survey
on the call panel, and the default rules and outcomes of migration 0012."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from care.kinds.winback import clean_campaign_segment, clean_params
from care.models import CareOptOut, CareTask, Contact, OutcomeCode, WinbackCampaign, WinbackSurvey
from care.workspace.surveys import winback_survey_record
from customers.models import TierPolicy
from service.models import Appointment
from tests.care.factories import CareRuleFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory
from vehicles.models import Vehicle

D = datetime.date
SH = ZoneInfo("Asia/Shanghai")
DAY = D(2026, 6, 1)  # a Monday
OFFER = "保养套餐八折"
LAST_VISIT = D(2025, 11, 20)
CAMPAIGN_END = D(2026, 6, 30)


def winback_rule(**kwargs):
    defaults = {"lead_days": 0, "expiry_days": 21, "message_template": "", "call_script": "{name}{title}您好"}
    return CareRuleFactory(kind="winback", **{**defaults, **kwargs})


def campaigns_only_rule(**kwargs):
    """A win-back rule without lapse touches: only the campaigns call."""
    return winback_rule(params={"states": []}, **kwargs)


def lapsed(dealership, state="at_risk", last_visit=LAST_VISIT, **kwargs):
    return CustomerFactory(dealership=dealership, churn_state=state, last_visit_date=last_visit, **kwargs)


def campaign(dealership, segment=None, start=DAY, end=CAMPAIGN_END, **kwargs):
    fields = {"name": "夏季回厂礼", "offer": OFFER, **kwargs}
    return WinbackCampaign.objects.create(
        dealership=dealership, segment={} if segment is None else segment, start_date=start, end_date=end, **fields
    )


def rows(tasks):
    return sorted((t.customer_id, t.occasion, t.event_date, t.due_date, t.expires_on, t.subject) for t in tasks)


# --- Lapse touches -------------------------------------------------------------------


def test_one_call_for_each_at_risk_and_lost_customer_none_for_the_active(dealership, generate):
    rule = winback_rule()
    at_risk = lapsed(dealership)
    lost = lapsed(dealership, state="lost", last_visit=None)
    lapsed(dealership, state="active", last_visit=D(2026, 5, 1))
    tasks = generate(DAY)
    # Event = the run day; lead 0 → due the same day; expires 2026-06-01 + 21 = 2026-06-22.
    # The group tier policy (migration customers 0005): at risk after 6 months, lost after 12.
    assert rows(tasks) == sorted(
        [
            (at_risk.pk, "winback:at_risk:2025-11-20", DAY, DAY, D(2026, 6, 22), "6个月未回厂"),
            (lost.pk, "winback:lost:never", DAY, DAY, D(2026, 6, 22), "12个月以上未回厂"),
        ]
    )
    assert {(t.rule_id, t.kind, t.channel, t.vehicle_id) for t in tasks} == {(rule.pk, "winback", "call", None)}


def test_one_call_per_lapse_and_one_more_on_becoming_lost(dealership, generate):
    winback_rule()
    customer = lapsed(dealership)
    [first] = generate(DAY)
    assert generate(DAY + datetime.timedelta(days=1)) == [first]  # rerun: nothing new

    # Worked (or expired): the same lapse never comes back.
    CareTask.objects.update(status=CareTask.Status.DONE, outcome=CareTask.Outcome.REACHED)
    assert generate(DAY + datetime.timedelta(days=30)) == []

    customer.churn_state = "lost"
    customer.save(update_fields=["churn_state"])
    [second] = generate(D(2026, 11, 21))
    assert (second.occasion, second.subject) == ("winback:lost:2025-11-20", "12个月以上未回厂")
    assert generate(D(2026, 11, 22)) == [second]
    assert CareTask.objects.count() == 2


def test_a_lapse_to_confirm_by_call_says_so(dealership, generate):
    winback_rule()
    lapsed(dealership, churn_confirm_by_call=True)
    [task] = generate(DAY)
    assert task.subject == "6个月未回厂（里程未到，电话确认）"


def test_the_months_come_from_the_stores_tier_policy(dealership, other_dealership, generate):
    winback_rule()
    TierPolicy.objects.create(dealership=dealership, at_risk_months=4, lost_months=9)
    ours = lapsed(dealership, state="lost")
    theirs = lapsed(other_dealership, state="lost")
    subjects = {t.customer_id: t.subject for t in generate(DAY)}
    assert subjects == {ours.pk: "9个月以上未回厂", theirs.pk: "12个月以上未回厂"}


def test_states_param_and_eligibility(dealership, generate):
    winback_rule(params={"states": ["lost"]})
    lapsed(dealership)  # at risk: not called by this rule
    lost = lapsed(dealership, state="lost")
    lapsed(dealership, state="lost", status="moved")
    opted_out = lapsed(dealership, state="lost")
    CareOptOut.objects.create(customer=opted_out, kind="winback", reason="不要再打电话")
    assert [t.customer_id for t in generate(DAY)] == [lost.pk]


@pytest.mark.parametrize("params", [{"states": ["active"]}, {"states": "lost"}, {"state": ["lost"]}, "lost"])
def test_bad_params_create_nothing(dealership, generate, params, caplog):
    winback_rule(params=params)
    lapsed(dealership)
    campaign(dealership)
    with pytest.raises(ValidationError):
        clean_params(params)
    with caplog.at_level("WARNING", logger="care.kinds.winback"):
        assert generate(DAY) == []
    assert "invalid win-back parameters" in caplog.text


# --- Campaigns -------------------------------------------------------------------------


def test_a_campaign_calls_its_lapsed_customers_with_the_offer(dealership, generate):
    rule = winback_rule()
    offer = campaign(dealership)
    customer = lapsed(dealership, state="lost")
    lapsed(dealership, state="active")
    # The campaign ends 2026-06-30, after the touch's expiry (06-01 + 21 = 06-22): the event is the run day.
    # Both reasons are touches of one call (the merge window joins them in the queue).
    assert rows(generate(DAY)) == [
        (customer.pk, f"winback-campaign:{offer.pk}", DAY, DAY, D(2026, 6, 22), OFFER),
        (customer.pk, "winback:lost:2025-11-20", DAY, DAY, D(2026, 6, 22), "12个月以上未回厂"),
    ]
    assert {t.rule_id for t in CareTask.objects.all()} == {rule.pk}
    assert len(generate(D(2026, 6, 2))) == 2  # rerun: nothing new


def test_a_campaign_touch_never_outlives_the_offer(dealership, generate):
    campaigns_only_rule()
    offer = campaign(dealership, end=D(2026, 6, 10))
    lapsed(dealership)
    # Event clamped to 2026-06-10 - 21 days = 2026-05-20, so the touch expires on the last day, 06-10.
    [task] = generate(D(2026, 6, 5))
    assert (task.occasion, task.event_date, task.expires_on) == (
        f"winback-campaign:{offer.pk}",
        D(2026, 5, 20),
        D(2026, 6, 10),
    )
    assert generate(D(2026, 6, 11)) == []
    assert CareTask.objects.get().outcome == "expired"


def test_the_subject_is_the_offer_as_typed_without_spaces_around(dealership, generate):
    campaigns_only_rule()
    campaign(dealership, offer=" 工时费八折，送免费洗车 ")
    lapsed(dealership)
    [task] = generate(DAY)
    assert task.subject == "工时费八折，送免费洗车"


def test_a_campaign_outside_its_dates_creates_nothing(dealership, generate):
    campaigns_only_rule()
    campaign(dealership, start=D(2026, 6, 2), end=D(2026, 6, 30))
    campaign(dealership, start=D(2026, 5, 1), end=D(2026, 5, 31))
    lapsed(dealership)
    assert generate(DAY) == []


def test_a_campaign_calls_only_its_own_stores_customers(dealership, other_dealership, generate):
    campaigns_only_rule()  # group default: governs both stores
    campaign(other_dealership)
    lapsed(dealership)
    theirs = lapsed(other_dealership)
    assert [t.customer_id for t in generate(DAY)] == [theirs.pk]


def test_segment_by_model_and_brand(dealership, generate):
    campaigns_only_rule()
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    lavida = VehicleModelFactory(brand="大众", name="朗逸")
    camry = VehicleModelFactory(brand="丰田", name="凯美瑞")
    by_model = campaign(dealership, {"models": ["帕萨特"]})
    by_brand = campaign(dealership, {"brands": ["丰田"]})
    passat_owner, lavida_owner, camry_owner, sold_passat = (lapsed(dealership) for _ in range(4))
    VehicleFactory(customer=passat_owner, model=passat)
    VehicleFactory(customer=lavida_owner, model=lavida)
    VehicleFactory(customer=camry_owner, model=camry)
    VehicleFactory(customer=sold_passat, model=passat, status=Vehicle.Status.SOLD)
    called = sorted((t.occasion, t.customer_id) for t in generate(DAY))
    assert called == sorted(
        [(f"winback-campaign:{by_model.pk}", passat_owner.pk), (f"winback-campaign:{by_brand.pk}", camry_owner.pk)]
    )


def test_segment_by_vehicle_age_at_the_campaign_start(dealership, generate):
    campaigns_only_rule()
    campaign(dealership, {"min_age_years": 3, "max_age_years": 5}, start=DAY)

    def owner(bought: datetime.date):
        customer = lapsed(dealership)
        VehicleFactory(customer=customer, purchase_date=bought)
        return customer

    # Ages on 2026-06-01: bought 2023-06-01 is 3 years (in), 2023-06-02 is 2 (out);
    # 2020-06-02 is 5 years and 364 days (in), 2020-06-01 is 6 (out).
    wanted = [owner(D(2023, 6, 1)), owner(D(2020, 6, 2))]
    owner(D(2023, 6, 2))
    owner(D(2020, 6, 1))
    lapsed(dealership)  # no car at all
    assert sorted(t.customer_id for t in generate(D(2026, 6, 3))) == sorted(c.pk for c in wanted)


def test_segment_model_and_age_must_hold_for_the_same_car(dealership, generate):
    campaigns_only_rule()
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    campaign(dealership, {"models": ["帕萨特"], "min_age_years": 3})
    customer = lapsed(dealership)
    VehicleFactory(customer=customer, model=passat, purchase_date=D(2025, 1, 1))  # a new Passat
    VehicleFactory(customer=customer, purchase_date=D(2020, 1, 1))  # an old car of another model
    assert generate(DAY) == []


def test_segment_by_tier_city_and_churn_state(dealership, generate):
    campaigns_only_rule()
    by_tier = campaign(dealership, {"tiers": "CD"})
    by_city = campaign(dealership, {"cities": ["苏州"]})
    by_state = campaign(dealership, {"churn_states": ["lost"]})
    tier_c = lapsed(dealership, value_tier="C")
    tier_d_lost = lapsed(dealership, value_tier="D", state="lost")
    suzhou = lapsed(dealership, city="苏州")
    lapsed(dealership, state="active", value_tier="D", city="苏州")  # active: in no win-back campaign
    called = sorted((t.occasion, t.customer_id) for t in generate(DAY))
    assert called == sorted(
        [
            (f"winback-campaign:{by_tier.pk}", tier_c.pk),
            (f"winback-campaign:{by_tier.pk}", tier_d_lost.pk),
            (f"winback-campaign:{by_city.pk}", suzhou.pk),
            (f"winback-campaign:{by_state.pk}", tier_d_lost.pk),
        ]
    )


@pytest.mark.parametrize(
    "segment",
    [
        {"citys": ["上海"]},  # a typo must not widen the campaign to everyone
        {"tiers": "XY"},
        {"tiers": ["C"]},
        {"churn_states": ["active"]},
        {"models": "帕萨特"},
        {"brands": []},
        {"min_age_years": 5, "max_age_years": 2},
        {"max_age_years": -1},
        {"min_age_years": True},
        ["tiers"],
    ],
)
def test_a_bad_segment_is_refused_and_creates_nothing(dealership, generate, segment, caplog):
    campaigns_only_rule()
    bad = campaign(dealership, segment)
    lapsed(dealership)
    with pytest.raises(ValidationError):
        clean_campaign_segment(segment)
    with pytest.raises(ValidationError) as exc:
        bad.full_clean()
    assert set(exc.value.message_dict) == {"segment"}
    with caplog.at_level("WARNING", logger="care.kinds.winback"):
        assert generate(DAY) == []
    assert "invalid segment" in caplog.text


def test_a_good_segment_passes_the_models_clean(dealership):
    segment = {"models": ["帕萨特"], "brands": ["大众"], "min_age_years": 0, "max_age_years": 99, "tiers": "CD"}
    segment |= {"cities": ["上海"], "churn_states": ["at_risk", "lost"]}
    campaign(dealership, segment).full_clean()
    assert clean_campaign_segment(segment) == segment


def test_campaign_admin_shows_segment_errors_and_records_the_creator(client, manager, dealership):
    client.force_login(manager)
    url = reverse("admin:care_winbackcampaign_add")
    data = {
        "dealership": dealership.pk,
        "name": "冬季回厂",
        "offer": OFFER,
        "segment": '{"citys": ["上海"]}',
        "start_date": "2026-12-01",
        "end_date": "2026-12-31",
    }
    response = client.post(url, data)
    assert response.status_code == 200
    assert "citys" in response.content.decode()
    assert not WinbackCampaign.objects.exists()
    response = client.post(url, {**data, "segment": '{"cities": ["上海"]}'})
    assert response.status_code == 302
    assert WinbackCampaign.objects.get().created_by == manager


# --- Early warning ---------------------------------------------------------------------


def test_one_early_warning_call_per_watch_with_the_reasons_words(dealership, generate):
    CareRuleFactory(kind="early_warning", lead_days=0, expiry_days=7, call_script="{name}{title}您好")

    def watched(reason: str, since: datetime.date | None):
        return CustomerFactory(dealership=dealership, watch_reason=reason, watch_since=since)

    tier_down = watched("tier_down", D(2026, 5, 30))
    visit_rate = watched("visit_rate", DAY)
    complaint = watched("complaint", D(2026, 5, 25))  # 7 days before: the last day it is called
    other = watched("no_renewal", D(2026, 5, 31))
    watched("tier_down", D(2026, 5, 24))  # 8 days before: expired unworked
    watched("tier_down", D(2026, 6, 2))  # tomorrow's watch (a recompute dated ahead): not yet
    watched("", None)
    CustomerFactory(dealership=dealership)
    # Event = the watch day; lead 0 → due that day; expires 7 days later.
    assert rows(generate(DAY)) == sorted(
        [
            (
                tier_down.pk,
                "early-warning:tier_down:2026-05-30",
                D(2026, 5, 30),
                D(2026, 5, 30),
                D(2026, 6, 6),
                "价值等级下降（如A→B），请关怀回访",
            ),
            (visit_rate.pk, "early-warning:visit_rate:2026-06-01", DAY, DAY, D(2026, 6, 8), "来店频次下降，请关怀回访"),
            (
                complaint.pk,
                "early-warning:complaint:2026-05-25",
                D(2026, 5, 25),
                D(2026, 5, 25),
                DAY,
                "A类客户有投诉，请优先回访",
            ),
            (
                other.pk,
                "early-warning:no_renewal:2026-05-31",
                D(2026, 5, 31),
                D(2026, 5, 31),
                D(2026, 6, 7),
                "no_renewal",
            ),
        ]
    )


def test_an_early_warning_call_states_the_figures_of_its_watch(dealership, generate):
    CareRuleFactory(kind="early_warning", lead_days=0, expiry_days=7)
    slowed = CustomerFactory(
        dealership=dealership,
        watch_reason="visit_rate",
        watch_since=DAY,
        watch_usual_days=118,
        watch_days_since=205,
        watch_last_visit=D(2025, 11, 8),
    )
    fell = CustomerFactory(
        dealership=dealership, watch_reason="tier_down", watch_since=DAY, watch_from_tier="A", watch_to_tier="B"
    )
    subjects = {t.customer_id: t.subject for t in generate(DAY)}
    assert subjects[slowed.pk] == "来店频次下降：通常每118天来一次，已205天未到店（上次2025-11-08），请关怀回访"
    assert subjects[fell.pk] == "价值等级下降：A→B（2026-06-01），请关怀回访"


def test_an_early_warning_is_called_once_and_a_new_watch_again(customer, generate):
    CareRuleFactory(kind="early_warning", lead_days=0, expiry_days=7)
    customer.watch_reason, customer.watch_since = "tier_down", D(2026, 5, 30)
    customer.save(update_fields=["watch_reason", "watch_since"])
    [first] = generate(DAY)
    CareTask.objects.update(status=CareTask.Status.DONE, outcome=CareTask.Outcome.REACHED)
    assert generate(D(2026, 6, 2)) == []  # the same watch: never twice

    customer.watch_since = D(2026, 6, 20)  # watched again later for the same reason
    customer.save(update_fields=["watch_since"])
    [second] = generate(D(2026, 6, 20))
    assert second.occasion == "early-warning:tier_down:2026-06-20" != first.occasion


# --- The survey on the call ----------------------------------------------------------------


def code(name: str) -> OutcomeCode:
    return OutcomeCode.objects.get(code=name)


@pytest.fixture
def winback_call(customer, generate):
    """Today's win-back call to 李雷 (at risk since a visit on 2025-11-20), in the advisor's queue."""
    winback_rule()
    customer.churn_state, customer.last_visit_date = "at_risk", D(2025, 11, 20)
    customer.save(update_fields=["churn_state", "last_visit_date"])
    [task] = generate(timezone.localdate())
    return task


ANSWERS = {
    "survey-reasons": ["price", "distance"],
    "survey-repaired_elsewhere": "yes",
    "survey-what": "小保养",
    "survey-where": "小区门口快修店",
    "survey-why_there": "离家近，价格便宜",
}


def test_the_panel_asks_the_survey_only_on_a_winback_call(client, advisor, customer, winback_call):
    client.force_login(advisor)
    page = client.get(reverse("care:panel", args=[winback_call.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'name="survey-reasons"' in page and 'value="assigned_shop"' in page
    assert 'name="survey-repaired_elsewhere"' in page

    other = CareTask.objects.create(
        dealership=customer.dealership,
        customer=VehicleFactory(customer__dealership=customer.dealership, customer__advisor=advisor).customer,
        rule=CareRuleFactory(kind="insurance"),
        kind="insurance",
        channel="call",
        occasion="insurance:x",
        event_date=winback_call.due_date,
        due_date=winback_call.due_date,
        expires_on=winback_call.expires_on,
        created_on=winback_call.due_date,
        assigned_to=advisor,
    )
    page = client.get(reverse("care:panel", args=[other.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert "survey-reasons" not in page


def test_logging_a_winback_call_stores_the_survey(client, advisor, customer, winback_call):
    client.force_login(advisor)
    response = client.post(
        reverse("care:log", args=[winback_call.pk]), {"code": code("winback_surveyed").pk, "notes": "", **ANSWERS}
    )
    assert response.status_code == 302
    contact = Contact.objects.get()
    survey = WinbackSurvey.objects.get()
    assert (survey.contact, survey.customer, survey.dealership_id) == (contact, customer, customer.dealership_id)
    assert (survey.reasons, survey.repaired_elsewhere) == (["price", "distance"], True)
    assert (survey.what, survey.where, survey.why_there, survey.other) == (
        "小保养",
        "小区门口快修店",
        "离家近，价格便宜",
        "",
    )
    assert survey.created_at == contact.created_at
    task = CareTask.objects.get(pk=winback_call.pk)
    assert (task.status, task.outcome) == ("done", "reached")


def test_a_returning_customer_is_booked_and_a_blank_survey_is_not_stored(client, advisor, winback_call):
    client.force_login(advisor)
    at = timezone.localtime() + datetime.timedelta(days=2)
    response = client.post(
        reverse("care:log", args=[winback_call.pk]),
        {"code": code("winback_returning").pk, "appointment_at": at.strftime("%Y-%m-%dT%H:%M")},
    )
    assert response.status_code == 302
    assert Appointment.objects.get().customer_id == winback_call.customer_id
    assert CareTask.objects.get(pk=winback_call.pk).outcome == "booked"
    assert not WinbackSurvey.objects.exists()


def test_a_not_repaired_answer_needs_no_reason(client, advisor, winback_call):
    client.force_login(advisor)
    data = {"code": code("winback_surveyed").pk, "survey-repaired_elsewhere": "no"}
    assert client.post(reverse("care:log", args=[winback_call.pk]), data).status_code == 302
    survey = WinbackSurvey.objects.get()
    assert (survey.reasons, survey.repaired_elsewhere) == ([], False)


@pytest.mark.parametrize(
    ("outcome", "answers", "field"),
    [
        ("winback_surveyed", {**ANSWERS, "survey-reasons": ["price", "cheaper"]}, "reasons"),  # unknown code
        ("winback_surveyed", {**ANSWERS, "survey-repaired_elsewhere": "maybe"}, "repaired_elsewhere"),
        ("winback_surveyed", {**ANSWERS, "survey-where": "店" * 101}, "where"),
        ("winback_surveyed", {}, "reasons"),  # the survey outcome with no answers
        ("winback_surveyed", {"survey-what": "换机油"}, "reasons"),  # no reason, nothing about elsewhere
        ("winback_surveyed", {"survey-reasons": ["other"]}, "other"),  # "other" without saying what
        ("not_reached", ANSWERS, "__all__"),  # answers from a customer never reached
    ],
)
def test_a_bad_survey_is_an_error_on_the_form_and_saves_nothing(client, advisor, winback_call, outcome, answers, field):
    client.force_login(advisor)
    url = reverse("care:log", args=[winback_call.pk])
    response = client.post(url, {"code": code(outcome).pk, **answers}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Retarget"] == "#call-panel"
    errors = response.context["survey_form"].errors
    assert errors[field], errors
    assert 'class="errors"' in response.content.decode() or "errorlist" in response.content.decode()
    assert not Contact.objects.exists() and not WinbackSurvey.objects.exists()
    task = CareTask.objects.get(pk=winback_call.pk)
    assert (task.status, task.attempts) == ("open", 0)
    assert client.post(url, {"code": code(outcome).pk, **answers}).status_code == 400  # without JavaScript


def test_the_survey_service_checks_the_codes(advisor, winback_call):
    contact = Contact.objects.create(
        dealership_id=winback_call.dealership_id, customer_id=winback_call.customer_id, advisor=advisor
    )
    with pytest.raises(ValidationError) as exc:
        winback_survey_record(contact=contact, data={"reasons": ["price", "too_far"]})
    assert "too_far" in exc.value.message_dict["reasons"][0]
    with pytest.raises(ValidationError):
        winback_survey_record(contact=contact, data={"reasons": "price"})
    with pytest.raises(ValidationError):
        winback_survey_record(contact=contact, data={"reasons": [], "repaired_elsewhere": None})
    survey = winback_survey_record(
        contact=contact, data={"reasons": ["distance", "price", "price"], "where": " 快修店 "}
    )
    assert (survey.reasons, survey.where) == (["price", "distance"], "快修店")  # the survey's order, once each


# --- Defaults ----------------------------------------------------------------------------


def test_the_default_rules_and_outcomes_are_valid(default_rules):
    by_kind = {r.kind: r for r in default_rules if r.kind in ("winback", "early_warning")}
    winback, early = by_kind["winback"], by_kind["early_warning"]
    assert (winback.name, winback.channel, winback.lead_days, winback.expiry_days, winback.priority) == (
        "流失客户回访",
        "call",
        0,
        21,
        60,
    )
    assert (early.name, early.channel, early.lead_days, early.expiry_days, early.priority) == (
        "预警关怀回访",
        "call",
        0,
        7,
        75,
    )
    assert winback.dealership_id is None and early.dealership_id is None
    for reason in (
        "价格",
        "一次修复",
        "服务态度",
        "承诺未兑现",
        "保险公司或交警指定维修",
        "车已卖",
        "在哪里",
        "为什么",
    ):
        assert reason in winback.call_script
    for rule in (winback, early):
        rule.full_clean()
    clean_params(winback.params)
    surveyed, returning = code("winback_surveyed"), code("winback_returning")
    assert (surveyed.label, surveyed.reached, surveyed.action, surveyed.task_outcome) == (
        "已完成流失调查",
        True,
        "close",
        "reached",
    )
    assert (returning.label, returning.reached, returning.action, returning.task_outcome) == (
        "客户愿意回厂（已预约）",
        True,
        "book",
        "booked",
    )
    for outcome in (surveyed, returning):
        outcome.full_clean()


def test_the_default_winback_rule_calls_the_lapsed(dealership, default_rules, generate):
    customer = lapsed(dealership, state="lost")
    tasks = [t for t in generate(DAY) if t.kind == "winback"]
    assert [(t.customer_id, t.subject, t.priority) for t in tasks] == [(customer.pk, "12个月以上未回厂", 80)]


def test_the_survey_admin_lists_the_answers_read_only(client, manager, advisor, winback_call):
    client.force_login(advisor)
    client.post(reverse("care:log", args=[winback_call.pk]), {"code": code("winback_surveyed").pk, **ANSWERS})
    survey = WinbackSurvey.objects.get()
    client.force_login(manager)
    page = client.get(reverse("admin:care_winbacksurvey_changelist")).content.decode()
    assert "小区门口快修店" in page
    assert client.get(reverse("admin:care_winbacksurvey_change", args=[survey.pk])).status_code == 200
    assert client.get(reverse("admin:care_winbacksurvey_add")).status_code == 403


def test_a_winback_rule_with_bad_params_is_refused_on_save(db):
    from django.core.exceptions import ValidationError as _ValidationError

    rule = CareRuleFactory.build(kind="winback", params={"state": ["lost"]})
    with pytest.raises(_ValidationError) as exc:
        rule.full_clean()
    assert "params" in exc.value.message_dict
