"""Call outcomes: each default code's follow-up rule, contacts, reassignment,
and the in-place logging from the queue (htmx) and without JavaScript."""

import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from care.models import CareTask, Contact, OutcomeCode, TaskReassignment
from care.workspace.services import CallOutcome, care_call_log, care_contact_log, care_tasks_reassign
from customers.models import Customer
from service.models import Appointment
from tests.care.factories import CareRuleFactory
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory
from vehicles.models import Vehicle

SH = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime.date(2026, 6, 5)
NOW = datetime.datetime(2026, 6, 5, 10, 0, tzinfo=SH)


def code(name: str) -> OutcomeCode:
    return OutcomeCode.objects.get(code=name)


@pytest.fixture
def rule(db):
    return CareRuleFactory(kind="maintenance", call_script="{name}{title}您好")


def touch(customer, advisor, rule, *, due=FRIDAY, kind=None, vehicle=None, **extra) -> CareTask:
    kind = kind or rule.kind
    car = vehicle or VehicleFactory(customer=customer)
    return CareTask.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=car,
        rule=rule,
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


@pytest.fixture
def merged(customer, advisor, rule):
    """Two reasons for one call: maintenance today and insurance in three days."""
    insurance = CareRuleFactory(kind="insurance", call_script="车险")
    return [
        touch(customer, advisor, rule),
        touch(customer, advisor, insurance, due=FRIDAY + datetime.timedelta(days=3)),
    ]


def state(tasks):
    return [
        (t.status, t.outcome, t.due_date, t.attempts) for t in CareTask.objects.filter(pk__in=[t.pk for t in tasks])
    ]


def test_booking_creates_the_appointment_closes_every_reason_and_writes_a_contact(merged, advisor):
    at = datetime.datetime(2026, 6, 8, 9, 30, tzinfo=SH)
    contact = care_call_log(
        task=merged[0],
        outcome=CallOutcome(code=code("booked"), appointment_at=at, notes="周一上午"),
        by=advisor,
        now=NOW,
    )
    appointment = Appointment.objects.get()
    assert (appointment.scheduled_at, appointment.advisor, appointment.vehicle_id, appointment.status) == (
        at,
        advisor,
        merged[0].vehicle_id,
        "booked",
    )
    assert (appointment.kind, appointment.notes) == ("maintenance", "周一上午")
    assert state(merged) == [("done", "booked", t.due_date, 0) for t in merged]
    assert contact.appointment == appointment and contact.reached
    assert sorted(contact.tasks.values_list("pk", flat=True)) == sorted(t.pk for t in merged)
    with pytest.raises(ValidationError) as again:
        care_call_log(task=merged[0], outcome=CallOutcome(code=code("reached")), by=advisor, now=NOW)
    assert again.value.code == "already_logged"


def test_booking_needs_a_future_time(merged, advisor):
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=merged[0], outcome=CallOutcome(code=code("booked")), by=advisor, now=NOW)
    assert "appointment_at" in exc.value.message_dict
    past = NOW - datetime.timedelta(hours=1)
    with pytest.raises(ValidationError):
        care_call_log(
            task=merged[0], outcome=CallOutcome(code=code("booked"), appointment_at=past), by=advisor, now=NOW
        )
    assert not Contact.objects.exists() and not Appointment.objects.exists()


def test_will_come_later_snoozes_every_reason_to_the_day_named(merged, advisor):
    later = datetime.date(2026, 6, 20)
    care_call_log(task=merged[0], outcome=CallOutcome(code=code("later"), follow_up_on=later), by=advisor, now=NOW)
    tasks = list(CareTask.objects.filter(pk__in=[t.pk for t in merged]).order_by("pk"))
    assert [(t.status, t.due_date, t.expires_on) for t in tasks] == [("open", later, later), ("open", later, later)]
    assert Contact.objects.get().follow_up_on == later


def test_declined_needs_a_reason_and_cancels(merged, advisor):
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=merged[0], outcome=CallOutcome(code=code("declined")), by=advisor, now=NOW)
    assert "reason" in exc.value.message_dict
    care_call_log(
        task=merged[0], outcome=CallOutcome(code=code("declined"), details={"reason": "价格太贵"}), by=advisor, now=NOW
    )
    assert {s[:2] for s in state(merged)} == {("cancelled", "declined")}
    assert Contact.objects.get().details == {"reason": "价格太贵"}


def test_done_elsewhere_keeps_where_and_why_for_churn_analysis(merged, advisor):
    details = {"where": "路边快修店", "why": "离家近", "insurer": "ignored unless asked"}
    care_call_log(
        task=merged[0], outcome=CallOutcome(code=code("done_elsewhere"), details=details), by=advisor, now=NOW
    )
    assert {s[:2] for s in state(merged)} == {("done", "done_elsewhere")}
    # The known detail fields are kept as entered.
    assert Contact.objects.get().details == {"where": "路边快修店", "why": "离家近", "insurer": "ignored unless asked"}


def test_insured_elsewhere_asks_insurer_and_reason(customer, advisor):
    insurance = CareRuleFactory(kind="insurance")
    task = touch(customer, advisor, insurance)
    with pytest.raises(ValidationError) as exc:
        care_call_log(task=task, outcome=CallOutcome(code=code("insured_elsewhere")), by=advisor, now=NOW)
    assert set(exc.value.message_dict) == {"insurer", "reason"}
    details = {"insurer": "平安", "reason": "朋友介绍"}
    care_call_log(task=task, outcome=CallOutcome(code=code("insured_elsewhere"), details=details), by=advisor, now=NOW)
    assert state([task])[0][:2] == ("done", "insured_elsewhere")


def test_not_reached_comes_back_the_next_working_day_then_closes_as_unreachable(customer, advisor, rule):
    task = touch(customer, advisor, rule)
    # Friday → Monday (the weekend is off); Monday → Tuesday; the third miss closes it.
    care_call_log(task=task, outcome=CallOutcome(code=code("not_reached")), by=advisor, now=NOW)
    assert state([task]) == [("open", "", datetime.date(2026, 6, 8), 1)]
    task.refresh_from_db()
    assert task.expires_on == datetime.date(2026, 6, 8)  # kept alive until it comes back
    monday = datetime.datetime(2026, 6, 8, 10, tzinfo=SH)
    care_call_log(task=task, outcome=CallOutcome(code=code("not_reached")), by=advisor, now=monday)
    assert state([task]) == [("open", "", datetime.date(2026, 6, 9), 2)]
    tuesday = datetime.datetime(2026, 6, 9, 10, tzinfo=SH)
    care_call_log(task=task, outcome=CallOutcome(code=code("not_reached")), by=advisor, now=tuesday)
    assert state([task]) == [("cancelled", "unreachable", datetime.date(2026, 6, 9), 3)]
    assert Contact.objects.filter(reached=False).count() == 3


def test_not_reached_skips_the_official_holiday(customer, advisor, rule):
    # 2026-09-30 is a Wednesday; 10-01…10-07 is the National Day holiday (seeded from chinesecalendar).
    task = touch(customer, advisor, rule, due=datetime.date(2026, 9, 30))
    care_call_log(
        task=task,
        outcome=CallOutcome(code=code("not_reached")),
        by=advisor,
        now=datetime.datetime(2026, 9, 30, 10, tzinfo=SH),
    )
    assert state([task])[0][2] == datetime.date(2026, 10, 8)


def test_wrong_number_flags_the_phone(customer, advisor, rule):
    task = touch(customer, advisor, rule)
    care_call_log(task=task, outcome=CallOutcome(code=code("wrong_number")), by=advisor, now=NOW)
    assert Customer.objects.get(pk=customer.pk).phone_wrong
    assert state([task])[0][:2] == ("cancelled", "wrong_number")


def test_car_sold_and_moved_away_update_the_records(customer, advisor, rule):
    sold_car = VehicleFactory(customer=customer)
    task = touch(customer, advisor, rule, vehicle=sold_car)
    care_call_log(task=task, outcome=CallOutcome(code=code("car_sold")), by=advisor, now=NOW)
    assert Vehicle.objects.get(pk=sold_car.pk).status == "sold"
    other = touch(customer, advisor, rule, due=FRIDAY + datetime.timedelta(days=20))
    care_call_log(task=other, outcome=CallOutcome(code=code("moved")), by=advisor, now=NOW)
    assert Customer.objects.get(pk=customer.pk).status == "moved"


def test_an_ad_hoc_contact_needs_words_or_an_outcome(customer, advisor):
    with pytest.raises(ValidationError):
        care_contact_log(customer=customer, by=advisor, channel="visit", notes="  ")
    contact = care_contact_log(customer=customer, by=advisor, channel="visit", notes="来店咨询保险", now=NOW)
    assert (contact.channel, contact.notes, contact.created_at) == ("visit", "来店咨询保险", NOW)


# --- Reassignment -----------------------------------------------------------------------


def test_a_manager_reassigns_with_a_reason_kept(merged, manager, advisor, dealership):
    colleague = UserFactory(username="colleague", dealership=dealership)
    moved = care_tasks_reassign(
        tasks=CareTask.objects.filter(pk__in=[t.pk for t in merged]), to_user=colleague, by=manager, reason="休假"
    )
    assert moved == 2
    assert set(CareTask.objects.values_list("assigned_to", flat=True)) == {colleague.pk}
    assert set(TaskReassignment.objects.values_list("from_user", "to_user", "by", "reason")) == {
        (advisor.pk, colleague.pk, manager.pk, "休假")
    }


def test_reassignment_rules(merged, manager, advisor, other_dealership):
    tasks = CareTask.objects.filter(pk__in=[t.pk for t in merged])
    with pytest.raises(PermissionDenied):
        care_tasks_reassign(tasks=tasks, to_user=advisor, by=advisor, reason="x")
    stranger = UserFactory(username="stranger", dealership=other_dealership)
    with pytest.raises(ValidationError):
        care_tasks_reassign(tasks=tasks, to_user=stranger, by=manager, reason="x")
    with pytest.raises(ValidationError):
        care_tasks_reassign(tasks=tasks, to_user=stranger, by=manager, reason=" ")
    assert not TaskReassignment.objects.exists()


# --- Through the pages ----------------------------------------------------------------------


def today_touch(customer, advisor, rule, **extra):
    return touch(customer, advisor, rule, due=timezone.localdate(), **extra)


def test_logging_from_the_queue_with_htmx_rerenders_the_queue_without_the_row(client, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(advisor)
    response = client.post(
        reverse("care:log", args=[task.pk]),
        {"code": code("reached").pk, "notes": "客户已知晓", "next": ""},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response["HX-Retarget"] == "#workspace"
    assert response.context["rows"] == []
    assert "李雷" in response.content.decode()  # the success message names the customer
    assert Contact.objects.get().notes == "客户已知晓"
    assert response.context["view"].counts.done_today == 1


def test_an_invalid_outcome_comes_back_in_the_panel_with_its_error(client, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(advisor)
    response = client.post(reverse("care:log", args=[task.pk]), {"code": code("declined").pk}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Retarget"] == "#call-panel"
    assert response.context["outcome_form"].errors["reason"]
    assert CareTask.objects.get(pk=task.pk).status == "open"
    plain = client.post(reverse("care:log", args=[task.pk]), {"code": "999"})
    assert plain.status_code == 400  # no JavaScript: the page again, with the error


def test_without_javascript_logging_redirects_back_to_the_filtered_queue(client, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(advisor)
    response = client.post(reverse("care:log", args=[task.pk]), {"code": code("reached").pk, "next": "tier=B"})
    assert response.status_code == 302 and response["Location"] == reverse("care:queue") + "?tier=B"


def test_reassign_from_the_queue(client, manager, advisor, customer, rule, dealership):
    task = today_touch(customer, advisor, rule)
    colleague = UserFactory(username="colleague", dealership=dealership)
    client.force_login(advisor)
    assert client.post(reverse("care:reassign"), {"tasks": [str(task.pk)]}).status_code == 403
    client.force_login(manager)
    response = client.post(
        reverse("care:reassign"),
        {"tasks": [str(task.pk)], "to_user": colleague.pk, "reason": "顾问请假"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert CareTask.objects.get(pk=task.pk).assigned_to == colleague
    assert TaskReassignment.objects.get().reason == "顾问请假"
    missing_reason = client.post(reverse("care:reassign"), {"tasks": [str(task.pk)], "to_user": advisor.pk})
    assert missing_reason.status_code == 302
    assert CareTask.objects.get(pk=task.pk).assigned_to == colleague


def test_log_an_ad_hoc_contact_from_the_customer_page(client, advisor, customer, other_dealership):
    client.force_login(advisor)
    url = reverse("care:contact-new", args=[customer.pk])
    assert client.get(url).status_code == 200
    assert client.post(url, {"channel": "visit", "notes": ""}).status_code == 400
    response = client.post(url, {"channel": "visit", "notes": "到店看新车"})
    assert response.status_code == 302
    assert Contact.objects.get().notes == "到店看新车"
    stranger = CustomerFactory(dealership=other_dealership)
    assert client.get(reverse("care:contact-new", args=[stranger.pk])).status_code == 404


# --- Whose call it is -------------------------------------------------------------------------


@pytest.fixture
def colleague(dealership):
    return UserFactory(username="colleague", dealership=dealership)


def test_an_advisor_can_neither_open_nor_log_a_colleagues_call(client, advisor, colleague, customer, rule):
    theirs = today_touch(customer, colleague, rule)
    client.force_login(advisor)
    assert client.get(reverse("care:panel", args=[theirs.pk])).status_code == 404
    assert client.get(reverse("care:panel", args=[theirs.pk]), HTTP_HX_REQUEST="true").status_code == 404
    log = client.post(reverse("care:log", args=[theirs.pk]), {"code": code("reached").pk, "notes": "不是我的"})
    assert log.status_code == 404
    assert not Contact.objects.exists()
    assert CareTask.objects.get(pk=theirs.pk).status == "open"


def test_the_stores_manager_opens_and_logs_an_advisors_call(client, manager, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(manager)
    assert client.get(reverse("care:panel", args=[task.pk])).status_code == 200
    response = client.post(reverse("care:log", args=[task.pk]), {"code": code("reached").pk, "notes": "店长代打"})
    assert response.status_code == 302
    contact = Contact.objects.get()
    assert (contact.advisor, contact.notes) == (manager, "店长代打")
    assert CareTask.objects.get(pk=task.pk).status == "done"


def test_a_manager_of_another_store_cannot_open_or_log_the_call(client, other_manager, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(other_manager)
    assert client.get(reverse("care:panel", args=[task.pk])).status_code == 404
    assert client.post(reverse("care:log", args=[task.pk]), {"code": code("reached").pk}).status_code == 404
    assert not Contact.objects.exists()
    assert CareTask.objects.get(pk=task.pk).status == "open"


def test_a_group_admin_opens_any_stores_call(client, group_admin, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(group_admin)
    assert client.get(reverse("care:panel", args=[task.pk])).status_code == 200


@pytest.mark.parametrize("who", ["advisor", "colleague", "manager", "other_manager"])
def test_fetching_a_call_for_a_user_is_one_query_allowed_or_not(
    request, advisor, colleague, customer, rule, who, django_assert_num_queries
):
    from django.http import Http404

    from care.workspace.selectors import care_task_get_for_user

    task = today_touch(customer, advisor, rule)
    user = request.getfixturevalue(who)
    with django_assert_num_queries(1):
        if who in {"advisor", "manager"}:
            fetched = care_task_get_for_user(user=user, pk=task.pk)
            assert fetched == task and fetched.customer.name == "李雷"  # the customer came with it
        else:
            with pytest.raises(Http404):
                care_task_get_for_user(user=user, pk=task.pk)


# --- The fields an outcome needs --------------------------------------------------------------


def needed_block(page: str, field: str) -> str:
    """The panel's block for one of the fields only some outcomes need."""
    start = page.index(f'data-field="{field}"')
    return page[start : page.index("</div>", start)]


def test_the_panel_marks_each_field_with_the_outcomes_that_need_it(client, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(advisor)
    page = client.get(reverse("care:panel", args=[task.pk]), HTTP_HX_REQUEST="true").content.decode()
    # The options say what they need, for the script …
    assert f'value="{code("booked").pk}" data-needs="appointment_at"' in page
    assert f'value="{code("insured_elsewhere").pk}" data-needs="insurer reason"' in page
    assert f'value="{code("reached").pk}" data-needs=""' in page
    # … and the fields which outcomes need them, for the script and for a reader without it.
    assert 'data-field="appointment_at" data-needed-by="booked winback_returning"' in page
    assert 'data-field="follow_up_on" data-needed-by="later"' in page
    assert 'data-field="reason" data-needed-by="declined insured_elsewhere"' in page
    assert 'data-field="where" data-needed-by="done_elsewhere"' in page
    assert "（选“已预约到店 / 客户愿意回厂（已预约）”时填写）" in needed_block(page, "appointment_at")
    assert 'name="insurer"' in needed_block(page, "insurer")
    assert "（选“已在别处续保 / 续保成功（本店）”时填写）" in needed_block(page, "insurer")
    # Not hidden by the server: without JavaScript every field shows.
    assert " hidden" not in page.split('<form class="outcome"')[1].split("</form>")[0]
    assert "<script" not in page  # a fragment brings no script: the queue page has it already
    full = client.get(reverse("care:panel", args=[task.pk])).content.decode()
    assert '<script src="/static/crm/queue.js" defer></script>' in full  # the panel's own page loads it


def test_a_plain_form_post_with_every_field_logs_what_the_outcome_asks(client, advisor, customer, rule):
    task = today_touch(customer, advisor, rule)
    client.force_login(advisor)
    # What a browser without JavaScript sends: every field of the form, most of them empty.
    data = {
        "code": code("done_elsewhere").pk,
        "appointment_at": "",
        "follow_up_on": "",
        "reason": "",
        "where": "路边快修店",
        "why": "离家近",
        "insurer": "",
        "notes": "",
        "next": "",
    }
    response = client.post(reverse("care:log", args=[task.pk]), data)
    assert response.status_code == 302
    assert Contact.objects.get().details == {"where": "路边快修店", "why": "离家近"}
    assert CareTask.objects.get(pk=task.pk).outcome == "done_elsewhere"


@pytest.mark.parametrize("htmx", [False, True])
def test_what_an_outcome_needs_is_an_error_next_to_its_field(client, advisor, customer, rule, htmx):
    task = today_touch(customer, advisor, rule)
    client.force_login(advisor)
    headers = {"HTTP_HX_REQUEST": "true"} if htmx else {}
    data = {"code": code("booked").pk, "appointment_at": "2020-01-01T09:00", "reason": ""}
    page = client.post(reverse("care:log", args=[task.pk]), data, **headers).content.decode()
    assert "预约时间必须晚于现在。" in needed_block(page, "appointment_at")
    assert "errorlist" not in needed_block(page, "reason")
    data = {"code": code("declined").pk, "reason": "  "}
    response = client.post(reverse("care:log", args=[task.pk]), data, **headers)
    assert 'class="errorlist' in needed_block(response.content.decode(), "reason")
    assert response.status_code == (200 if htmx else 400)
    if htmx:  # into the panel, which stays for the next call
        assert (response["HX-Retarget"], response["HX-Reswap"]) == ("#call-panel", "innerHTML")
    assert not Contact.objects.exists()
