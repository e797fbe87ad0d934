"""The loop between care and complaints (issue 11, items 5 and 6): a closed
case gets its verification call, whose satisfaction score closes the loop or
reopens the case; a dissatisfied post-repair call opens a case by itself; the
advisor raises a case from any call; the call panel shows the open cases; a
case from the public form gets its acknowledgement SMS."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from care.engine.services import care_tasks_generate
from care.messaging.services import outbox_send
from care.models import CareOptOut, CareRule, CareTask, Contact, Outbox, OutcomeCode
from care.registry import spec_for
from care.workspace.services import CallOutcome, care_call_log
from complaints.models import Complaint, ComplaintCategory, ComplaintEvent
from complaints.services import complaint_open, complaint_transition
from service.models import RepairOrder
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
S = Complaint.Status
VERIFY = "complaint_verification"
RECEIPT = "complaint_receipt"

STEPS = [
    (S.RECORDED, {}),
    (S.INVESTIGATED, {"findings": "工单显示未紧固刹车片螺栓"}),
    (S.CAUSE_FOUND, {"cause": "技师漏做紧固，质检未发现"}),
    (S.REMEDY_DECIDED, {"remedy": "免费重新安装刹车片并赠送一次保养"}),
    (S.CUSTOMER_NOTIFIED, {"customer_agreed": True}),
    (S.CARRIED_OUT, {"action_taken": "已重新安装并试车"}),
    (S.FOLLOWED_UP, {"follow_up": "客户确认无异响"}),
]


def at(*args) -> datetime.datetime:
    return datetime.datetime(*args, tzinfo=SH)


@pytest.fixture
def clock(monkeypatch):
    """Set the time everything reads through ``timezone.now()``."""

    def set_to(moment: datetime.datetime) -> datetime.datetime:
        monkeypatch.setattr(timezone, "now", lambda: moment)
        return moment

    return set_to


@pytest.fixture
def loop_rules(db):
    """The default rules of the two complaint kinds only (the care tests start without rules)."""
    return {
        kind: CareRule.objects.create(dealership=None, kind=kind, **spec_for(kind).default_rules[0])
        for kind in (VERIFY, RECEIPT)
    }


@pytest.fixture
def category(db):
    return ComplaintCategory.objects.get(code="repair_quality")


@pytest.fixture
def handler(dealership):
    return UserFactory(username="handler", dealership=dealership, first_name="王经理")


def code(name: str) -> OutcomeCode:
    return OutcomeCode.objects.get(code=name)


def repair_order(vehicle, number: str, day: datetime.date) -> RepairOrder:
    return RepairOrder.objects.create(
        dealership=vehicle.customer.dealership,
        customer=vehicle.customer,
        vehicle=vehicle,
        number=number,
        kind=RepairOrder.Kind.REPAIR,
        opened_at=at(day.year, day.month, day.day, 9),
        closed_at=at(day.year, day.month, day.day, 17),
        mileage=20000,
    )


def open_case(customer, by, category, channel="hotline", **extra) -> Complaint:
    return complaint_open(
        customer=customer,
        channel=channel,
        category=category,
        severity="normal",
        description="刹车异响",
        demand="免费处理",
        by=by,
        **extra,
    )


def close(case: Complaint, by) -> Complaint:
    for to, data in STEPS:
        case = complaint_transition(complaint=case, to=to, by=by, **data)
    return complaint_transition(complaint=case, to=S.CLOSED, by=by)


def verifications(case=None):
    tasks = CareTask.objects.filter(kind=VERIFY)
    return list(tasks.filter(complaint=case) if case else tasks)


# --- The verification touch ----------------------------------------------------------------


def test_closing_a_case_on_friday_makes_one_call_for_monday_naming_case_and_remedy(
    clock, loop_rules, customer, vehicle, advisor, handler, category
):
    clock(at(2026, 6, 5, 15, 0))  # a Friday
    case = close(open_case(customer, handler, category, vehicle=vehicle, handler=handler), handler)
    [touch] = verifications()
    assert (touch.complaint_id, touch.customer_id, touch.vehicle_id) == (case.pk, customer.pk, vehicle.pk)
    # Monday 8 June 2026, the next working day; the customer's advisor calls.
    assert (touch.due_date, touch.event_date, touch.assigned_to) == (datetime.date(2026, 6, 8),) * 2 + (advisor,)
    assert (touch.channel, touch.status, touch.occasion, touch.subject) == (
        "call",
        "open",
        f"complaint:{case.pk}:0",
        case.number,
    )
    assert touch.expires_on == datetime.date(2026, 6, 15)  # seven days after the call day
    script = _panel_script(touch)
    assert f"关于您的投诉（编号{case.number}）" in script
    assert "我们的处理是：免费重新安装刹车片并赠送一次保养。" in script


def _panel_script(touch: CareTask) -> str:
    from care.workspace.selectors import call_panel
    from care.workspace.services import care_call_group

    return call_panel(task=touch, group=care_call_group(touch)).script


def test_a_case_closed_on_30_september_2026_is_called_on_8_october_after_national_day(
    clock, loop_rules, customer, handler, category
):
    clock(at(2026, 9, 30, 16, 0))
    close(open_case(customer, handler, category), handler)
    [touch] = verifications()
    assert touch.due_date == datetime.date(2026, 10, 8)  # 1–7 October off


def test_the_rules_days_are_working_days(clock, loop_rules, customer, handler, category):
    CareRule.objects.filter(kind=VERIFY).update(params={"days": 2})
    clock(at(2026, 6, 5, 15, 0))  # Friday: Monday is one, Tuesday two
    close(open_case(customer, handler, category), handler)
    assert verifications()[0].due_date == datetime.date(2026, 6, 9)


def test_the_handler_calls_when_the_advisor_is_the_staff_involved(clock, loop_rules, customer, advisor, category):
    manager_handler = UserFactory(username="h2", dealership=customer.dealership)
    clock(at(2026, 6, 5, 15, 0))
    case = open_case(customer, manager_handler, category, handler=manager_handler, staff_involved=advisor)
    close(case, manager_handler)
    assert verifications()[0].assigned_to == manager_handler


def test_the_morning_run_makes_no_second_call_and_catches_a_case_closed_while_the_rule_was_off(
    clock, loop_rules, customer, dealership, handler, category
):
    clock(at(2026, 6, 5, 15, 0))
    first = close(open_case(customer, handler, category), handler)
    report = care_tasks_generate(day=datetime.date(2026, 6, 8), kinds=[VERIFY])
    assert report.created.get(VERIFY, 0) == 0
    assert len(verifications(first)) == 1

    # Closed while the rule was disabled: no call at once …
    CareRule.objects.filter(kind=VERIFY).update(enabled=False)
    other = CustomerFactory(dealership=dealership, advisor=customer.advisor)
    second = close(open_case(other, handler, category), handler)
    assert verifications(second) == []
    # … the morning run of its call day makes it, once.
    CareRule.objects.filter(kind=VERIFY).update(enabled=True)
    clock(at(2026, 6, 8, 6, 0))
    assert care_tasks_generate(day=datetime.date(2026, 6, 8), kinds=[VERIFY]).created[VERIFY] == 1
    assert care_tasks_generate(day=datetime.date(2026, 6, 8), kinds=[VERIFY]).created[VERIFY] == 0
    [touch] = verifications(second)
    assert touch.due_date == datetime.date(2026, 6, 8) and len(verifications()) == 2


def test_a_case_reopened_before_the_call_cancels_it_and_closing_again_makes_a_new_one(
    clock, loop_rules, customer, handler, category
):
    clock(at(2026, 6, 5, 15, 0))
    case = close(open_case(customer, handler, category), handler)
    case = complaint_transition(complaint=case, to=S.REOPENED, by=handler, note="客户来电说又响了")
    [old] = verifications(case)
    assert (old.status, old.outcome) == ("cancelled", "inapplicable")
    case = complaint_transition(complaint=case, to=S.INVESTIGATED, by=handler, findings="复检")
    for to, data in STEPS[2:]:
        case = complaint_transition(complaint=case, to=to, by=handler, **data)
    complaint_transition(complaint=case, to=S.CLOSED, by=handler)
    new = CareTask.objects.get(kind=VERIFY, status="open")
    assert new.occasion == f"complaint:{case.pk}:1"


# --- Its outcome ------------------------------------------------------------------------------


@pytest.fixture
def verification(clock, loop_rules, customer, vehicle, handler, category):
    clock(at(2026, 6, 5, 15, 0))
    case = close(open_case(customer, handler, category, vehicle=vehicle, handler=handler), handler)
    clock(at(2026, 6, 8, 10, 0))
    return verifications(case)[0]


def test_a_satisfied_customer_closes_the_touch_and_the_case_stays_closed(verification, advisor):
    contact = care_call_log(
        task=verification, outcome=CallOutcome(code=code("satisfied"), details={"satisfaction": 5}), by=advisor
    )
    verification.refresh_from_db()
    assert (verification.status, verification.outcome) == ("done", "reached")
    assert contact.details == {"satisfaction": 5}
    case = verification.complaint
    case.refresh_from_db()
    assert (case.status, case.reopen_count) == (S.CLOSED, 0)


@pytest.mark.parametrize(("name", "score"), [("satisfied", 2), ("dissatisfied", 4), ("satisfied", 6)])
def test_a_score_that_contradicts_the_outcome_is_refused(verification, advisor, name, score):
    with pytest.raises(ValidationError) as exc:
        care_call_log(
            task=verification, outcome=CallOutcome(code=code(name), details={"satisfaction": score}), by=advisor
        )
    assert set(exc.value.message_dict) == {"satisfaction"}
    assert CareTask.objects.get(pk=verification.pk).status == "open"
    assert not Contact.objects.exists()


def test_the_verification_outcomes_ask_the_score(verification, advisor):
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=verification, outcome=CallOutcome(code=code("satisfied")), by=advisor)
    assert set(exc.value.message_dict) == {"satisfaction"}


def test_a_dissatisfied_customer_reopens_the_case(verification, advisor):
    contact = care_call_log(
        task=verification,
        outcome=CallOutcome(code=code("dissatisfied"), notes="刹车还是有异响", details={"satisfaction": 2}),
        by=advisor,
    )
    verification.refresh_from_db()
    assert verification.status == "done"
    case = Complaint.objects.get(pk=verification.complaint_id)
    assert (case.status, case.reopen_count, case.closed_at) == (S.REOPENED, 1, None)
    event = ComplaintEvent.objects.filter(complaint=case).last()
    assert (event.from_status, event.to_status, event.by) == (S.CLOSED, S.REOPENED, advisor)
    assert event.note.startswith("刹车还是有异响") and "2/5" in event.note
    assert contact.details == {"satisfaction": 2, "complaints": [case.number]}
    assert Complaint.objects.count() == 1


def test_after_30_days_a_dissatisfied_customer_gets_a_new_case_linked_to_the_old(verification, advisor):
    old = verification.complaint
    Complaint.objects.filter(pk=old.pk).update(closed_at=at(2026, 5, 8, 10, 0))  # 31 days before the call
    care_call_log(
        task=verification,
        outcome=CallOutcome(code=code("dissatisfied"), notes="还是响", details={"satisfaction": 1}),
        by=advisor,
    )
    old.refresh_from_db()
    assert (old.status, old.reopen_count) == (S.CLOSED, 0)
    new = Complaint.objects.exclude(pk=old.pk).get()
    assert (new.parent, new.channel, new.status, new.customer, new.vehicle) == (
        old,
        "follow_up_call",
        S.RECEIVED,
        old.customer,
        old.vehicle,
    )
    assert new.description.startswith("还是响")


def test_the_panel_form_logs_the_score_and_refuses_a_contradicting_one(verification, client, advisor):
    client.force_login(advisor)
    url = reverse("care:log", args=[verification.pk])
    fields = {"appointment_at": "", "follow_up_on": "", "reason": "", "notes": "已解决", "next": ""}
    refused = client.post(url, {**fields, "code": code("satisfied").pk, "satisfaction": "3"})
    assert refused.status_code == 400
    page = refused.content.decode()
    block = page[page.index('data-field="satisfaction"') :]
    assert 'class="errorlist' in block[: block.index("</div>")]
    assert "已解决</textarea>" in page  # what was typed stays
    assert not Contact.objects.exists()
    assert client.post(url, {**fields, "code": code("satisfied").pk, "satisfaction": "4"}).status_code == 302
    assert Contact.objects.get().details == {"satisfaction": 4}


# --- Dissatisfied after a repair ---------------------------------------------------------------


def call_touch(customer, advisor, kind: str, *, order=None, day=datetime.date(2026, 6, 8)) -> CareTask:
    rule = CareRuleFactory(kind=kind, call_script="{name}{title}您好")
    car = order.vehicle if order else VehicleFactory(customer=customer)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind=kind,
        channel="call",
        occasion=f"{kind}:{car.pk}",
        event_date=day,
        due_date=day,
        expires_on=day + datetime.timedelta(days=7),
        created_on=day,
        assigned_to=advisor,
        repair_order=order,
    )


def test_a_dissatisfied_post_repair_call_opens_a_case_by_itself(clock, customer, vehicle, advisor):
    clock(at(2026, 6, 8, 10, 0))
    order = repair_order(vehicle, "RO-0605", datetime.date(2026, 6, 5))
    touch = call_touch(customer, advisor, "post_repair_day3", order=order)
    contact = care_call_log(
        task=touch,
        outcome=CallOutcome(code=code("dissatisfied"), notes="修完后方向盘抖动", details={"satisfaction": 2}),
        by=advisor,
    )
    case = Complaint.objects.get()
    assert (case.channel, case.category.code, case.severity, case.status) == (
        "follow_up_call",
        "repair_quality",
        "normal",
        S.RECEIVED,
    )
    assert (case.description, case.customer, case.vehicle, case.repair_order, case.received_by) == (
        "修完后方向盘抖动",
        customer,
        vehicle,
        order,
        advisor,
    )
    assert contact.details["complaints"] == [case.number]
    assert CareTask.objects.get(pk=touch.pk).status == "done"


def test_a_dissatisfied_post_repair_call_needs_notes_for_its_case(clock, customer, vehicle, advisor):
    clock(at(2026, 6, 8, 10, 0))
    touch = call_touch(
        customer, advisor, "post_repair_day3", order=repair_order(vehicle, "RO-1", datetime.date(2026, 6, 5))
    )
    with pytest.raises(ValidationError) as exc:
        care_call_log(
            task=touch, outcome=CallOutcome(code=code("dissatisfied"), details={"satisfaction": 1}), by=advisor
        )
    assert set(exc.value.message_dict) == {"notes"}
    assert not Complaint.objects.exists() and not Contact.objects.exists()
    assert CareTask.objects.get(pk=touch.pk).status == "open"


def test_dissatisfied_on_another_kind_of_call_opens_no_case(clock, customer, advisor):
    clock(at(2026, 6, 8, 10, 0))
    touch = call_touch(customer, advisor, "maintenance")
    care_call_log(
        task=touch,
        outcome=CallOutcome(code=code("dissatisfied"), notes="嫌保养太贵", details={"satisfaction": 2}),
        by=advisor,
    )
    assert not Complaint.objects.exists()
    assert CareTask.objects.get(pk=touch.pk).status == "done"


# --- Raising a case from the call panel --------------------------------------------------------


@pytest.fixture
def call(customer, vehicle, advisor):
    """A maintenance call about a car with two repair orders: the later one is the case's."""
    repair_order(vehicle, "RO-OLD", datetime.date(2026, 3, 1))
    latest = repair_order(vehicle, "RO-NEW", datetime.date(2026, 5, 20))
    other_car = VehicleFactory(customer=customer)
    repair_order(other_car, "RO-OTHER-CAR", datetime.date(2026, 5, 30))
    touch = call_touch(customer, advisor, "maintenance", day=timezone.localdate())
    CareTask.objects.filter(pk=touch.pk).update(vehicle=vehicle)
    touch.refresh_from_db()
    return touch, latest


def raise_url(task) -> str:
    return reverse("care:complaint-raise", args=[task.pk])


def test_the_raise_form_opens_with_the_notes_typed_in_the_call(client, advisor, call):
    touch, _ = call
    client.force_login(advisor)
    data = {"prefill": "1", "notes": "客户说上次洗车划伤了车门", "code": ""}
    page = client.post(raise_url(touch), data, HTTP_HX_REQUEST="true").content.decode()
    assert "客户说上次洗车划伤了车门</textarea>" in page
    assert "<html" not in page
    assert not Complaint.objects.exists()  # opening the form changes nothing
    full = client.get(raise_url(touch))
    assert full.status_code == 200 and "<html" in full.content.decode()


@pytest.mark.parametrize("htmx", [False, True])
def test_raising_a_complaint_from_the_call_opens_the_case(client, advisor, customer, vehicle, call, category, htmx):
    touch, latest = call
    client.force_login(advisor)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = {"category": category.pk, "severity": "normal", "description": "洗车划伤车门", "demand": "补漆", "next": ""}
    response = client.post(raise_url(touch), data, **headers)
    case = Complaint.objects.get()
    assert (case.channel, case.customer, case.vehicle, case.repair_order, case.received_by) == (
        "follow_up_call",
        customer,
        vehicle,
        latest,
        advisor,
    )
    assert (case.description, case.demand, case.category, case.severity) == ("洗车划伤车门", "补漆", category, "normal")
    contact = Contact.objects.get()
    assert contact.details == {"complaint": case.number} and list(contact.tasks.all()) == [touch]
    if htmx:
        page = response.content.decode()
        assert response.status_code == 200 and case.number in page
        assert 'id="open-complaints" class="open-complaints" hx-swap-oob="true"' in page
    else:
        assert response.status_code == 302 and response["Location"] == reverse("care:panel", args=[touch.pk])
    assert CareTask.objects.get(pk=touch.pk).status == "open"  # the call itself is still to be logged


@pytest.mark.parametrize("htmx", [False, True])
def test_bad_input_on_the_raise_form_shows_on_it_and_keeps_what_was_typed(client, advisor, call, category, htmx):
    touch, _ = call
    client.force_login(advisor)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = {"category": category.pk, "severity": "huge", "description": "  ", "demand": "退还工时费"}
    response = client.post(raise_url(touch), data, **headers)
    assert response.status_code == (200 if htmx else 400)
    page = response.content.decode()
    assert page.count('class="errorlist') == 2  # severity and description
    assert "退还工时费</textarea>" in page
    assert not Complaint.objects.exists()


def test_the_raise_url_of_another_stores_call_is_404(client, advisor, other_dealership, category):
    stranger = CustomerFactory(dealership=other_dealership)
    foreign = call_touch(stranger, None, "maintenance")
    client.force_login(advisor)
    assert client.get(raise_url(foreign)).status_code == 404
    data = {"category": category.pk, "severity": "normal", "description": "x"}
    assert client.post(raise_url(foreign), data).status_code == 404
    assert not Complaint.objects.exists()


def test_a_raised_case_is_not_counted_as_a_second_call_today(client, advisor, call, category):
    touch, _ = call
    client.force_login(advisor)
    data = {"category": category.pk, "severity": "normal", "description": "洗车划伤车门"}
    client.post(raise_url(touch), data)
    assert client.get(reverse("care:queue")).context["view"].counts.done_today == 0


# --- The badge in the call panel -------------------------------------------------------------


@pytest.mark.parametrize("cases", [1, 6])
def test_the_panel_shows_each_open_complaint_at_a_fixed_cost(
    client, advisor, customer, call, category, cases, django_assert_max_num_queries
):
    touch, _ = call
    opened = [open_case(customer, advisor, category) for _ in range(cases)]
    client.force_login(advisor)
    with django_assert_max_num_queries(12):  # the panel's bound (tests/care/test_queue.py)
        page = client.get(reverse("care:panel", args=[touch.pk]), HTTP_HX_REQUEST="true").content.decode()
    for case in opened:
        assert f"未结投诉 {case.number}" in page or f"Open complaint {case.number}" in page
    assert 'raise-complaint"' in page and reverse("care:complaint-raise", args=[touch.pk]) in page


def test_a_closed_case_shows_no_badge(clock, loop_rules, client, advisor, customer, handler, category):
    clock(at(2026, 6, 5, 15, 0))
    case = close(open_case(customer, handler, category), handler)
    touch = verifications(case)[0]
    client.force_login(advisor)
    page = client.get(reverse("care:panel", args=[touch.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert case.number in page  # in the script …
    assert f"{case.number}</a>" not in page  # … not as an open complaint


# --- The acknowledgement SMS of the public form -------------------------------------------------


@pytest.fixture
def base_url(settings):
    settings.CRM_COMPLAINT_PUBLIC_BASE_URL = "https://crm.example.com/"
    return "https://crm.example.com"


def test_a_case_from_the_online_form_gets_its_acknowledgement_as_a_service_message(
    clock, loop_rules, customer, category, base_url, scripted
):
    from complaints.links import case_id_from_token

    assert customer.marketing_consent is False
    now = clock(at(2026, 6, 5, 10, 0))
    case = open_case(customer, None, category, channel="online_form")
    message = Outbox.objects.get()
    assert (message.kind, message.purpose, message.status, message.channel, message.recipient) == (
        RECEIPT,
        "service",
        "queued",
        "sms",
        "13912345678",
    )
    text, link = message.body.split("：http")
    link = "http" + link
    assert text == f"李雷先生您好，浦东4S店已受理您的投诉，编号{case.number}。我们会尽快与您联系，处理进度请查看"
    # The absolute link of the case's signed status page (the token carries a timestamp).
    prefix = "https://crm.example.com/c/s/"
    assert link.startswith(prefix) and link.endswith("/")
    assert case_id_from_token(link.removeprefix(prefix).removesuffix("/")) == case.pk
    assert message.params == [
        ["name", "李雷"],
        ["title", "先生"],
        ["dealership", "浦东4S店"],
        ["case_number", case.number],
        ["status_link", link],
    ]
    assert message.task.complaint == case
    # The outbox sends it (no marketing consent asked) and closes its touch.
    report = outbox_send(now=now)
    assert report.sent == 1 and [m.recipient for m in scripted.sent] == ["13912345678"]
    assert CareTask.objects.get(kind=RECEIPT).status == "done"


def test_no_acknowledgement_for_cases_from_other_channels(clock, loop_rules, customer, advisor, category, base_url):
    clock(at(2026, 6, 5, 10, 0))
    for channel in ("hotline", "in_person", "wechat", "follow_up_call"):
        open_case(customer, advisor, category, channel=channel)
    assert not Outbox.objects.exists() and not CareTask.objects.filter(kind=RECEIPT).exists()


def test_a_customer_who_turned_off_all_sms_gets_no_acknowledgement(clock, loop_rules, customer, category, base_url):
    CareOptOut.objects.create(customer=customer, kind="", channel="sms", reason="不要短信")
    clock(at(2026, 6, 5, 10, 0))
    open_case(customer, None, category, channel="online_form")
    assert not Outbox.objects.exists()
