"""The survey asked on a call (issue 13): the post-repair day-3 call asks the
satisfaction (CSAT) and how likely the customer is to recommend us (NPS)
with their comment, the win-back call the recommend question; analytics
records them from care's signal. And a store that wants it has its day-3
calls made by another advisor than the customer's own."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analytics.models import Survey, SurveyResponse
from care.models import AdvisorAbsence, CareRule, CareTask, Contact, OutcomeCode, TaskReassignment
from care.registry import spec_for
from care.workspace.planning import care_plan_day
from care.workspace.services import CallOutcome, care_call_log
from complaints.models import Complaint
from service.models import RepairOrder
from tests.care.conftest import add_visit
from tests.care.factories import CareRuleFactory
from tests.crm.factories import ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
D = datetime.date


def code(name: str) -> OutcomeCode:
    return OutcomeCode.objects.get(code=name)


def call_touch(customer, advisor, kind: str, *, order=None) -> CareTask:
    """Today's call of ``kind`` for ``customer``, in ``advisor``'s queue."""
    today = timezone.localdate()
    rule = CareRule.objects.filter(kind=kind).first() or CareRuleFactory(kind=kind, call_script="{name}{title}您好")
    car = order.vehicle if order else VehicleFactory(customer=customer)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind=kind,
        channel="call",
        occasion=f"{kind}:{car.pk}",
        event_date=today,
        due_date=today,
        expires_on=today + datetime.timedelta(days=7),
        created_on=today,
        assigned_to=advisor,
        repair_order=order,
    )


def closed_order(vehicle, number: str, *, advisor=None) -> RepairOrder:
    closed = timezone.now() - datetime.timedelta(days=3)
    return RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=number,
        kind=RepairOrder.Kind.REPAIR,
        opened_at=closed - datetime.timedelta(hours=5),
        closed_at=closed,
        mileage=20000,
        advisor=advisor,
    )


@pytest.fixture
def followup_rule(db):
    spec = spec_for("detractor_followup")
    return CareRule.objects.create(dealership=None, kind=spec.kind, **spec.default_rules[0])


@pytest.fixture
def workshop(dealership):
    """The advisor who took the car in (the order's), not the customer's own."""
    return UserFactory(username="workshop", dealership=dealership)


@pytest.fixture
def day3(customer, vehicle, advisor, workshop) -> CareTask:
    return call_touch(customer, advisor, "post_repair_day3", order=closed_order(vehicle, "RO-0601", advisor=workshop))


# --- The post-repair call ----------------------------------------------------------------------


def test_a_day3_call_records_a_survey_and_its_response(day3, customer, advisor, workshop):
    contact = care_call_log(
        task=day3,
        outcome=CallOutcome(code=code("reached"), details={"satisfaction": 5, "nps": 9, "comment": " 修得很好 "}),
        by=advisor,
    )
    assert contact.details == {"satisfaction": 5, "nps": 9, "comment": "修得很好"}
    response = SurveyResponse.objects.get()
    assert (response.kind, response.channel, response.csat, response.nps, response.comment) == (
        "post_service",
        "call",
        5,
        9,
        "修得很好",
    )
    # The order's advisor is whose customer answered; the caller asked.
    assert (response.contact, response.asked_by, response.advisor, response.repair_order) == (
        contact,
        advisor,
        workshop,
        day3.repair_order,
    )
    survey = Survey.objects.get()
    assert (survey.channel, survey.kind, survey.repair_order, survey.answered_at, survey.response) == (
        "call",
        "post_service",
        day3.repair_order,
        contact.created_at,
        response,
    )


def test_a_call_answers_the_unanswered_sms_survey_of_its_order(day3, advisor):
    sent = timezone.now() - datetime.timedelta(days=2)
    sms = Survey.objects.create(
        dealership=day3.dealership,
        customer=day3.customer,
        repair_order=day3.repair_order,
        kind="post_service",
        channel="sms",
        sent_at=sent,
        expires_at=sent + datetime.timedelta(days=7),
    )
    care_call_log(task=day3, outcome=CallOutcome(code=code("reached"), details={"nps": 10}), by=advisor)
    sms.refresh_from_db()
    assert Survey.objects.count() == 1 and sms.answered_at is not None
    assert SurveyResponse.objects.get().survey == sms


def test_a_dissatisfied_day3_call_opens_its_case_and_the_managers_follow_up(day3, advisor, manager, followup_rule):
    care_call_log(
        task=day3,
        outcome=CallOutcome(
            code=code("dissatisfied"),
            notes="方向盘抖动",
            details={"satisfaction": 2, "nps": 3, "comment": "修完方向盘还抖"},
        ),
        by=advisor,
    )
    assert Complaint.objects.get().repair_order == day3.repair_order  # issue 11's loop, as before
    response = SurveyResponse.objects.get()
    assert (response.csat, response.nps, response.is_detractor) == (2, 3, True)
    [follow_up] = CareTask.objects.filter(kind="detractor_followup")
    assert (follow_up.assigned_to, follow_up.subject, follow_up.repair_order) == (
        manager,
        "修完方向盘还抖",
        day3.repair_order,
    )


def test_a_detractor_without_a_comment_makes_no_follow_up(day3, advisor, manager, followup_rule):
    care_call_log(task=day3, outcome=CallOutcome(code=code("reached"), details={"nps": 2}), by=advisor)
    assert SurveyResponse.objects.get().nps == 2
    assert not CareTask.objects.filter(kind="detractor_followup").exists()


def test_no_response_without_a_score_or_when_the_customer_was_not_reached(day3, advisor):
    care_call_log(task=day3, outcome=CallOutcome(code=code("reached"), details={"comment": "还行"}), by=advisor)
    assert not SurveyResponse.objects.exists() and not Survey.objects.exists()


def test_a_survey_answer_on_a_call_that_did_not_reach_the_customer_is_refused(day3, advisor):
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=day3, outcome=CallOutcome(code=code("not_reached"), details={"nps": 8}), by=advisor)
    assert set(exc.value.message_dict) == {"nps"}
    assert not Contact.objects.exists() and not SurveyResponse.objects.exists()


@pytest.mark.parametrize("nps", [11, -1, "x"])
def test_a_recommend_score_outside_0_to_10_is_refused(day3, advisor, nps):
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=day3, outcome=CallOutcome(code=code("reached"), details={"nps": nps}), by=advisor)
    assert set(exc.value.message_dict) == {"nps"}


def test_another_kind_of_call_records_no_survey(customer, advisor):
    touch = call_touch(customer, advisor, "maintenance")
    care_call_log(task=touch, outcome=CallOutcome(code=code("reached"), details={"nps": 9}), by=advisor)
    assert not SurveyResponse.objects.exists()


def test_the_panel_form_logs_the_survey_and_shows_a_bad_score_on_its_field(client, day3, advisor):
    client.force_login(advisor)
    url = reverse("care:log", args=[day3.pk])
    fields = {"code": code("reached").pk, "satisfaction": "4", "comment": "不错", "notes": "", "next": ""}
    refused = client.post(url, {**fields, "nps": "11"})
    assert refused.status_code == 400
    page = refused.content.decode()
    block = page[page.index('class="call-survey"') :]
    assert 'class="errorlist' in block[: block.index("</fieldset>")]
    assert "不错</textarea>" in page  # what was typed stays
    assert not Contact.objects.exists()
    assert client.post(url, {**fields, "nps": "8"}).status_code == 302
    assert SurveyResponse.objects.values_list("csat", "nps", "comment").get() == (4, 8, "不错")


# --- The win-back call ---------------------------------------------------------------------------


def test_a_winback_call_records_the_lapsed_customers_recommend_answer(customer, advisor, manager, followup_rule):
    touch = call_touch(customer, advisor, "winback")
    care_call_log(
        task=touch,
        outcome=CallOutcome(code=code("reached"), details={"satisfaction": 5, "nps": 4, "comment": "太远了"}),
        by=advisor,
    )
    response = SurveyResponse.objects.get()
    # The lapsed survey asks the recommend question only: no CSAT.
    assert (response.kind, response.channel, response.csat, response.nps, response.repair_order) == (
        "lapsed",
        "call",
        None,
        4,
        None,
    )
    assert response.advisor == advisor  # the customer's (no order)
    assert CareTask.objects.filter(kind="detractor_followup").get().assigned_to == manager


# --- The panel ---------------------------------------------------------------------------------


def panel(client, task) -> str:
    return client.get(reverse("care:panel", args=[task.pk]), HTTP_HX_REQUEST="true").content.decode()


def test_the_day3_panel_asks_both_questions_once_and_the_winback_panel_the_recommend_one(client, day3, advisor):
    client.force_login(advisor)
    page = panel(client, day3)
    block = page[page.index('class="call-survey"') : page.index("</fieldset>")]
    assert 'name="satisfaction"' in block and 'name="nps"' in block and 'name="comment"' in block
    assert page.count('name="satisfaction"') == 1 and page.count('name="nps"') == 1

    winback = call_touch(CustomerFactory(dealership=advisor.dealership, advisor=advisor), advisor, "winback")
    page = panel(client, winback)
    block = page[page.index('class="call-survey"') : page.index("</fieldset>")]
    assert 'name="nps"' in block and 'name="satisfaction"' not in block

    other = call_touch(CustomerFactory(dealership=advisor.dealership, advisor=advisor), advisor, "maintenance")
    page = panel(client, other)
    assert "call-survey" not in page and 'name="nps"' not in page


@pytest.mark.parametrize("history", [1, 20])
def test_the_day3_panel_costs_the_panels_queries_whatever_the_history(
    client, day3, advisor, customer, history, django_assert_max_num_queries
):
    for n in range(history):
        Contact.objects.create(dealership=customer.dealership, customer=customer, advisor=advisor, notes=f"n{n}")
        closed_order(day3.vehicle, f"RO-H{n}")
    client.force_login(advisor)
    with django_assert_max_num_queries(12):  # the panel's bound (tests/care/test_queue.py)
        assert client.get(reverse("care:panel", args=[day3.pk]), HTTP_HX_REQUEST="true").status_code == 200


def test_the_survey_adds_no_query_to_the_panel(client, day3, advisor, customer):
    plain = call_touch(CustomerFactory(dealership=advisor.dealership, advisor=advisor), advisor, "maintenance")
    client.force_login(advisor)
    counts = []
    for task in (plain, day3):
        panel(client, task)  # the session is warm for both
        with CaptureQueriesContext(connection) as queries:
            panel(client, task)
        counts.append(len(queries))
    assert counts[0] == counts[1]


# --- Another advisor makes the day-3 call --------------------------------------------------------


def post_repair_rule():
    return CareRuleFactory(kind="post_repair_day3", lead_days=0, expiry_days=12, params={"days": 3})


@pytest.fixture
def colleagues(dealership, advisor):
    """The store's other active advisors, by id; an inactive one and a manager are never chosen."""
    UserFactory(username="gone", dealership=dealership, is_active=False)
    ManagerFactory(username="boss", dealership=dealership)
    return [
        UserFactory(username="b.advisor", dealership=dealership),
        UserFactory(username="c.advisor", dealership=dealership),
    ]


def test_the_day3_calls_go_round_the_other_advisors_of_a_store_that_asks_it(dealership, advisor, colleagues, generate):
    dealership.surveys_by_other_advisor = True
    dealership.save(update_fields=["surveys_by_other_advisor"])
    post_repair_rule()
    orders = []
    for n in range(4):
        car = VehicleFactory(customer=CustomerFactory(dealership=dealership, advisor=advisor))
        order = add_visit(car, f"R-{n}", "repair", D(2026, 5, 1), 1000)
        RepairOrder.objects.filter(pk=order.pk).update(advisor=advisor)
        orders.append(order)
    tasks = {t.repair_order_id: t.assigned_to_id for t in generate(D(2026, 5, 4))}
    # Neither the order's nor the customer's advisor: of [b, c] (by id), the one at order id mod 2.
    assert tasks == {o.pk: colleagues[o.pk % 2].pk for o in orders}
    assert set(tasks.values()) == {c.pk for c in colleagues}


def test_neither_the_orders_nor_the_customers_advisor_makes_the_call(dealership, advisor, colleagues, generate):
    dealership.surveys_by_other_advisor = True
    dealership.save(update_fields=["surveys_by_other_advisor"])
    post_repair_rule()
    b, c = colleagues
    car = VehicleFactory(customer=CustomerFactory(dealership=dealership, advisor=advisor))
    order = add_visit(car, "R-1", "repair", D(2026, 5, 1), 1000)
    RepairOrder.objects.filter(pk=order.pk).update(advisor=b)
    [task] = generate(D(2026, 5, 4))
    assert task.assigned_to == c


def test_a_store_with_one_advisor_or_without_the_setting_keeps_the_visits_advisor(
    dealership, other_dealership, advisor, generate
):
    post_repair_rule()
    alone = UserFactory(username="alone", dealership=other_dealership)
    other_dealership.surveys_by_other_advisor = True
    other_dealership.save(update_fields=["surveys_by_other_advisor"])
    UserFactory(username="b.advisor", dealership=dealership)  # a colleague, but the store does not ask for it
    mine = add_visit(
        VehicleFactory(customer=CustomerFactory(dealership=dealership, advisor=advisor)),
        "R-1",
        "repair",
        D(2026, 5, 1),
        1,
    )
    theirs = add_visit(
        VehicleFactory(customer=CustomerFactory(dealership=other_dealership, advisor=alone)),
        "R-2",
        "repair",
        D(2026, 5, 1),
        1,
    )
    tasks = {t.repair_order_id: t.assigned_to_id for t in generate(D(2026, 5, 4))}
    assert tasks == {mine.pk: advisor.pk, theirs.pk: alone.pk}


def test_the_morning_plan_keeps_a_day3_call_off_the_customers_own_advisor(dealership, advisor, colleagues):
    dealership.surveys_by_other_advisor = True
    dealership.save(update_fields=["surveys_by_other_advisor"])
    b, c = colleagues
    today = timezone.localdate()
    customer = CustomerFactory(dealership=dealership, advisor=advisor)
    car = VehicleFactory(customer=customer)
    # b is off today: covering b's calls would give this one to the least-loaded advisor, the
    # customer's own (no calls, lowest id); the plan gives it to c, the one other advisor who is in.
    touch = call_touch(customer, b, "post_repair_day3", order=closed_order(car, "RO-1", advisor=advisor))
    AdvisorAbsence.objects.create(user=b, date=today, reason="年假")
    report = care_plan_day(day=today)
    touch.refresh_from_db()
    assert touch.assigned_to == c and report.surveys_moved == 1
    assert TaskReassignment.objects.filter(task=touch).order_by("pk").last().to_user == c

    # A store without the setting leaves a call with the customer's own advisor.
    dealership.surveys_by_other_advisor = False
    dealership.save(update_fields=["surveys_by_other_advisor"])
    CareTask.objects.filter(pk=touch.pk).update(assigned_to=advisor)
    assert care_plan_day(day=today).surveys_moved == 0
    touch.refresh_from_db()
    assert touch.assigned_to == advisor
