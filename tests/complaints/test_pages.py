"""The complaint pages: the SLA board, the case with its step actions (plain
POST and htmx), a complaint received by staff, the lessons library, and the
customer 360's complaints panel."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent, ComplaintLesson
from complaints.services import (
    complaint_open,
    complaint_pause,
    complaint_transition,
)
from crm.models import Notification
from service.models import RepairOrder, Technician
from tests.crm.factories import UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

S = Complaint.Status
HTMX = {"HX-Request": "true"}

# Every step after "received" with the data the page's step form posts for it.
WALK = [
    (S.RECORDED, {}),
    (S.INVESTIGATED, {"findings": "工单显示未更换机油滤芯"}),
    (S.CAUSE_FOUND, {"cause": "技师漏做项目，质检未发现"}),
    (S.REMEDY_DECIDED, {"remedy": "免费补做并赠送一次洗车", "goodwill_cost": "88.5"}),
    (S.CUSTOMER_NOTIFIED, {"customer_agreed": True, "customer_answer": "同意周六来店"}),
    (S.CARRIED_OUT, {"action_taken": "已补换滤芯"}),
    (S.FOLLOWED_UP, {"follow_up": "三日后电话回访，客户满意"}),
]


@pytest.fixture
def category(db):
    return ComplaintCategory.objects.get(code="repair_quality")


def open_case(customer, by, category=None, **extra):
    values = {"channel": "hotline", "severity": "normal", "description": "保养后机油灯亮", "demand": "免费处理"}
    category = category or ComplaintCategory.objects.get(code="repair_quality")
    return complaint_open(customer=customer, category=category, by=by, **{**values, **extra})


def walk(case, by, until=S.FOLLOWED_UP):
    for to, data in WALK:
        case = complaint_transition(complaint=case, to=to, by=by, **data)
        if to == until:
            break
    return case


def close(case, by, **extra):
    return complaint_transition(complaint=walk(case, by), to=S.CLOSED, by=by, **extra)


def step_post(to, **fields) -> dict:
    return {"step-to": to, **{f"step-{k}": v for k, v in fields.items()}}


# --- The board ----------------------------------------------------------------------
def test_the_board_groups_open_cases_by_sla_state_breached_first(client, manager, customer, category):
    on_track = open_case(customer, manager)
    due_soon = open_case(customer, manager)
    breached = open_case(customer, manager)
    paused = open_case(customer, manager)
    closed = close(open_case(customer, manager), manager)
    # The sweep keeps sla_state; here it is set by hand for each state.
    Complaint.objects.filter(pk=due_soon.pk).update(sla_state="due_soon")
    Complaint.objects.filter(pk=breached.pk).update(sla_state="breached")
    complaint_pause(complaint=paused, by=manager, waiting_on="parts", reason="等配件到货")
    client.force_login(manager)
    response = client.get(reverse("complaints:board"))
    assert response.status_code == 200
    board = response.context["board"]
    assert board.counts == {"breached": 1, "due_soon": 1, "on_track": 1, "paused": 1}
    assert [c.pk for c in board.page.object_list] == [breached.pk, due_soon.pk, on_track.pk, paused.pk]
    page = response.content.decode()
    assert closed.number not in page
    assert page.count('<tr class="group">') == 4
    assert 'class="case-row state-paused"' in page
    # One state at a time; the counts stay those of every state.
    response = client.get(reverse("complaints:board"), {"state": "paused"})
    assert [c.pk for c in response.context["board"].page.object_list] == [paused.pk]
    assert response.context["board"].counts["on_track"] == 1


def test_the_board_shows_the_age_and_the_next_due_time(client, manager, customer):
    received = timezone.now() - datetime.timedelta(days=3, hours=1)
    case = open_case(customer, manager, received_at=received)
    client.force_login(manager)
    row = client.get(reverse("complaints:board")).context["board"].page.object_list[0]
    assert row.pk == case.pk
    assert row.age_days == 3
    # Nothing is met yet: first contact (1 working day, 9.5 h) falls due before
    # the acknowledgement (24 business hours), and three days on it is past.
    assert case.first_contact_due < case.acknowledge_due
    assert row.next_due == case.first_contact_due
    assert row.next_due_late is True


@pytest.fixture
def mixed_cases(manager, advisor, dealership, category):
    """Four cases that differ by one attribute each from a plain one."""
    other_advisor = UserFactory(username="advisor2", dealership=dealership)
    mine = CustomerFactory(dealership=dealership, advisor=advisor)
    theirs = CustomerFactory(dealership=dealership, advisor=other_advisor)
    vehicle = VehicleFactory(customer=theirs)
    technician = Technician.objects.create(dealership=dealership, name="赵师傅")
    order = RepairOrder.objects.create(
        dealership=dealership,
        customer=theirs,
        vehicle=vehicle,
        number="RO-1",
        kind="repair",
        opened_at=timezone.now(),
        mileage=100,
        advisor=advisor,  # the advisor who wrote the order, not the customer's own
        technician=technician,
    )
    return {
        "plain": open_case(mine, manager),
        "major": open_case(mine, manager, severity="major"),
        "wechat": open_case(mine, manager, channel="wechat", category=ComplaintCategory.objects.get(code="price")),
        "handled": open_case(theirs, manager, handler=manager),
        "order": open_case(theirs, manager, repair_order=order),
        "technician": technician,
        "other_advisor": other_advisor,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": "major"}, {"major"}),
        ({"channel": "wechat"}, {"wechat"}),
        ({"category": "price"}, {"wechat"}),
        ({"handler": "manager"}, {"handled"}),
        ({"advisor": "advisor"}, {"plain", "major", "wechat", "order"}),  # customer's advisor or the order's
        ({"advisor": "other_advisor"}, {"handled", "order"}),
        ({"technician": "technician"}, {"order"}),
        ({"status": "recorded"}, {"plain"}),
        ({"status": "received", "severity": "normal", "channel": "hotline"}, {"handled", "order"}),
    ],
)
def test_the_board_filters(client, manager, advisor, mixed_cases, params, expected):
    complaint_transition(complaint=mixed_cases["plain"], to=S.RECORDED, by=manager)
    ids = {
        "manager": manager.pk,
        "advisor": advisor.pk,
        "other_advisor": mixed_cases["other_advisor"].pk,
        "technician": mixed_cases["technician"].pk,
        "price": ComplaintCategory.objects.get(code="price").pk,
    }
    query = {key: ids.get(value, value) for key, value in params.items()}
    client.force_login(manager)
    response = client.get(reverse("complaints:board"), query)
    assert response.status_code == 200
    shown = {c.pk for c in response.context["board"].page.object_list}
    assert shown == {mixed_cases[name].pk for name in expected}


def test_a_bad_filter_value_is_dropped_not_a_500(client, manager, mixed_cases):
    client.force_login(manager)
    response = client.get(reverse("complaints:board"), {"handler": "abc", "severity": "huge"})
    assert response.status_code == 200
    assert len(response.context["board"].page.object_list) == 5
    assert response.context["form"].errors


def test_an_advisor_sees_only_their_own_customers_cases(client, advisor, manager, mixed_cases):
    client.force_login(advisor)
    response = client.get(reverse("complaints:board"))
    shown = {c.pk for c in response.context["board"].page.object_list}
    assert shown == {mixed_cases[name].pk for name in ("plain", "major", "wechat")}
    # The colleague's customer's case, even with the order this advisor wrote: a 404.
    assert client.get(reverse("complaints:detail", args=[mixed_cases["order"].pk])).status_code == 404
    # Unless they handle it.
    Complaint.objects.filter(pk=mixed_cases["order"].pk).update(handler=advisor)
    assert client.get(reverse("complaints:detail", args=[mixed_cases["order"].pk])).status_code == 200


def test_the_board_is_paginated(client, manager, customer):
    for _ in range(52):
        open_case(customer, manager)
    client.force_login(manager)
    first = client.get(reverse("complaints:board"))
    second = client.get(reverse("complaints:board"), {"page": 2})
    assert len(first.context["board"].page.object_list) == 50
    assert len(second.context["board"].page.object_list) == 2
    assert first.context["board"].counts["on_track"] == 52


def test_the_board_answers_htmx_with_its_partial(client, manager, customer):
    case = open_case(customer, manager)
    client.force_login(manager)
    response = client.get(reverse("complaints:board"), headers={**HTMX, "HX-Target": "board"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="board"') and "<html" not in page
    assert case.number in page


@pytest.mark.parametrize("size", [3, 30])
def test_the_board_costs_the_same_queries_at_any_size(client, manager, dealership, django_assert_max_num_queries, size):
    technician = Technician.objects.create(dealership=dealership, name="钱师傅")
    for i in range(size):
        customer = CustomerFactory(dealership=dealership, advisor=manager)
        vehicle = VehicleFactory(customer=customer)
        order = RepairOrder.objects.create(
            dealership=dealership,
            customer=customer,
            vehicle=vehicle,
            number=f"RO{i}",
            kind="repair",
            opened_at=timezone.now(),
            mileage=10,
            advisor=manager,
            technician=technician,
        )
        open_case(customer, manager, repair_order=order, handler=manager)
    Notification.objects.create(user=manager, dealership=dealership, title="响应超时: TS-2026-000001", url="/x/")
    client.force_login(manager)
    # session, user; staff, technicians, categories (filters); the counts per
    # state (also the paginator's total), the page; unread notifications; the
    # layout's user's dealership and calendar check.
    with django_assert_max_num_queries(10):
        response = client.get(reverse("complaints:board"))
    assert response.status_code == 200
    assert response.content.decode().count('class="case-row') == size


# --- Notifications on the board -----------------------------------------------------------
def test_the_board_shows_unread_notifications_and_marks_them_read(client, manager, advisor, dealership):
    mine = Notification.objects.create(user=manager, dealership=dealership, title="响应超时: TS-2026-000007")
    read = Notification.objects.create(
        user=manager, dealership=dealership, title="旧通知", read_at=timezone.now() - datetime.timedelta(days=1)
    )
    theirs = Notification.objects.create(user=advisor, dealership=dealership, title="别人的通知")
    client.force_login(manager)
    page = client.get(reverse("complaints:board")).content.decode()
    assert "响应超时: TS-2026-000007" in page and "旧通知" not in page and "别人的通知" not in page
    # Someone else's id in the post is left alone.
    response = client.post(reverse("complaints:notifications-read"), {"ids": [mine.pk, theirs.pk, "x"]})
    assert response.status_code == 302
    mine.refresh_from_db(), theirs.refresh_from_db(), read.refresh_from_db()
    assert mine.read_at is not None
    assert theirs.read_at is None
    assert read.read_at < timezone.now() - datetime.timedelta(hours=23)  # kept its time
    assert "响应超时" not in client.get(reverse("complaints:board")).content.decode()


def test_mark_all_read_marks_only_the_users_own(client, manager, advisor, dealership):
    for i in range(3):
        Notification.objects.create(user=manager, dealership=dealership, title=f"n{i}")
    theirs = Notification.objects.create(user=advisor, dealership=dealership, title="别人的通知")
    client.force_login(manager)
    client.post(reverse("complaints:notifications-read"), {"all": "1"})
    assert Notification.objects.filter(user=manager, read_at__isnull=True).count() == 0
    theirs.refresh_from_db()
    assert theirs.read_at is None


# --- The case page ----------------------------------------------------------------------
def test_the_case_page_shows_header_clocks_record_and_timeline(client, manager, advisor, customer, vehicle):
    technician = Technician.objects.create(dealership=customer.dealership, name="孙师傅")
    order = RepairOrder.objects.create(
        dealership=customer.dealership,
        customer=customer,
        vehicle=vehicle,
        number="RO-778",
        kind="maintenance",
        opened_at=timezone.now(),
        mileage=5000,
        advisor=advisor,
        technician=technician,
    )
    # Wednesday 2026-06-10 10:00 (Asia/Shanghai), a store open every day 08:30–18:00:
    # acknowledge within 24 business hours: 06-10 gives 8 h (to 18:00), 06-11
    # 9.5 h (17.5 h), and 6.5 h more on 06-12: 08:30 + 6:30 = 15:00.
    received = timezone.make_aware(datetime.datetime(2026, 6, 10, 10, 0))
    case = open_case(customer, manager, repair_order=order, received_at=received)
    case = walk(case, manager, until=S.CAUSE_FOUND)
    client.force_login(manager)
    response = client.get(reverse("complaints:detail", args=[case.pk]))
    assert response.status_code == 200
    page = response.content.decode()
    assert case.number in page
    assert reverse("customers:detail", args=[customer.pk]) in page
    assert "RO-778" in page and "孙师傅" in page and advisor.display_name in page
    assert "沪AD12345" in page
    clocks = {c.name: c for c in response.context["clocks"]}
    assert clocks["acknowledge"].due == timezone.make_aware(datetime.datetime(2026, 6, 12, 15, 0))
    assert "2026-06-12 15:00" in page
    # Recorded (acknowledged) only now, long after that: met, but late.
    assert clocks["acknowledge"].met_at is not None and clocks["acknowledge"].late is True
    # The resolution clock runs: not met, no pause.
    assert clocks["resolution"].met_at is None and clocks["resolution"].paused_at is None
    # The timeline: received, then each step, with who.
    events = response.context["events"]
    assert [(e.from_status, e.to_status) for e in events] == [
        ("", S.RECEIVED),
        (S.RECEIVED, S.RECORDED),
        (S.RECORDED, S.INVESTIGATED),
        (S.INVESTIGATED, S.CAUSE_FOUND),
    ]
    assert page.count('class="event event-step"') == 4
    assert "工单显示未更换机油滤芯" in page and "技师漏做项目，质检未发现" in page
    # The next step is "remedy decided", with its fields.
    assert response.context["step_form"].target == S.REMEDY_DECIDED
    assert 'name="step-remedy"' in page and 'name="step-goodwill_cost"' in page
    assert 'name="step-findings"' not in page


def test_a_paused_case_shows_what_it_waits_on(client, manager, customer):
    case = open_case(customer, manager)
    complaint_pause(complaint=case, by=manager, waiting_on="customer", reason="客户出差下周回来")
    client.force_login(manager)
    response = client.get(reverse("complaints:detail", args=[case.pk]))
    resolution = response.context["clocks"][2]
    assert resolution.paused_at is not None and resolution.pause_reason == "客户出差下周回来"
    page = response.content.decode()
    assert "客户出差下周回来" in page
    assert 'action="' + reverse("complaints:resume", args=[case.pk]) in page
    assert 'action="' + reverse("complaints:pause", args=[case.pk]) not in page


@pytest.mark.parametrize("events", [3, 30])
def test_the_case_page_costs_the_same_queries_at_any_size(
    client, manager, customer, vehicle, django_assert_max_num_queries, events
):
    case = walk(open_case(customer, manager, vehicle=vehicle, handler=manager), manager, until=S.INVESTIGATED)
    for i in range(events - 3):
        ComplaintEvent.objects.create(
            complaint=case,
            from_status=case.status,
            to_status=case.status,
            action="contacted",
            by=manager,
            note=f"第{i}次",
        )
    client.force_login(manager)
    # session, user; the case with its joins, its follow-up cases; the store's
    # staff (assign form); the events; the layout's user's dealership and
    # calendar check.
    with django_assert_max_num_queries(8):
        response = client.get(reverse("complaints:detail", args=[case.pk]))
    assert response.status_code == 200
    assert response.content.decode().count('<li class="event') == events


# --- The actions --------------------------------------------------------------------------
def _action_setup(name, case, manager, colleague):
    """The case as the action needs it, the form posted, and a check of its effect."""
    if name == "step":
        return case, step_post(S.RECORDED, note="已登记"), lambda c: c.status == S.RECORDED
    if name == "contacted":
        return case, {"contacted-note": "电话联系客户"}, lambda c: c.first_contacted_at is not None
    if name == "pause":
        data = {"pause-waiting_on": "parts", "pause-pause_reason": "等配件"}
        return case, data, lambda c: c.paused_at is not None and c.waiting_on == "parts"
    if name == "resume":
        complaint_pause(complaint=case, by=manager, waiting_on="parts", reason="等配件")
        return case, {"resume-note": "配件到了"}, lambda c: c.paused_at is None
    if name == "assign":
        return case, {"assign-handler": colleague.pk, "assign-note": "交给王"}, lambda c: c.handler_id == colleague.pk
    if name == "reopen":
        case = close(case, manager)
        return (
            case,
            {"reopen-note": "回访时客户表示故障灯又亮"},
            lambda c: (c.status, c.reopen_count) == (S.REOPENED, 1),
        )
    raise AssertionError(name)


ACTIONS = ["step", "contacted", "pause", "resume", "assign", "reopen"]


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_each_action_works_by_plain_post_and_by_htmx(client, manager, advisor, customer, name, htmx):
    case, data, effect = _action_setup(name, open_case(customer, manager), manager, advisor)
    events = ComplaintEvent.objects.filter(complaint=case).count()
    client.force_login(manager)
    url = reverse(f"complaints:{name}", args=[case.pk])
    response = client.post(url, data, headers=HTMX if htmx else {})
    case.refresh_from_db()
    assert effect(case)
    assert ComplaintEvent.objects.filter(complaint=case).count() == events + 1
    if htmx:
        page = response.content.decode()
        assert response.status_code == 200
        assert page.lstrip().startswith('<div id="case-work"') and "<html" not in page
        assert 'class="messages"' in page  # the confirmation, in place
        assert page.count('<li class="event') == events + 1
    else:
        assert response.status_code == 302
        assert response["Location"] == reverse("complaints:detail", args=[case.pk])


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_a_skipped_step_is_refused_with_its_message_and_nothing_saved(client, manager, customer, htmx):
    case = walk(open_case(customer, manager), manager, until=S.RECORDED)
    events = ComplaintEvent.objects.filter(complaint=case).count()
    client.force_login(manager)
    # Straight to "cause analysed", skipping the investigation.
    response = client.post(
        reverse("complaints:step", args=[case.pk]),
        step_post(S.CAUSE_FOUND, note="直接写原因"),
        headers=HTMX if htmx else {},
    )
    assert response.status_code == (200 if htmx else 400)
    page = response.content.decode()
    # The service's message, naming where the case is and the step refused, on the form.
    (error,) = response.context["step_form"].non_field_errors()
    assert str(S.RECORDED.label) in error and str(S.CAUSE_FOUND.label) in error
    assert escape(error) in page
    assert "直接写原因" in page  # what was typed stays
    # The form offers the real next step again, not the one refused.
    assert f'name="step-to" value="{S.INVESTIGATED}"' in page
    case.refresh_from_db()
    assert case.status == S.RECORDED
    assert ComplaintEvent.objects.filter(complaint=case).count() == events


def test_a_step_without_its_data_is_refused_on_the_field(client, manager, customer):
    case = walk(open_case(customer, manager), manager, until=S.CAUSE_FOUND)
    client.force_login(manager)
    response = client.post(
        reverse("complaints:step", args=[case.pk]),
        step_post(S.REMEDY_DECIDED, remedy="赠送保养一次", goodwill_cost="八十八"),
    )
    assert response.status_code == 400
    form = response.context["step_form"]
    assert form.errors["goodwill_cost"]
    page = response.content.decode()
    assert "赠送保养一次" in page and "八十八" in page
    case.refresh_from_db()
    assert (case.status, case.remedy) == (S.CAUSE_FOUND, "")
    response = client.post(reverse("complaints:step", args=[case.pk]), step_post(S.REMEDY_DECIDED, remedy=" "))
    assert response.context["step_form"].errors["remedy"]


def test_a_forged_target_outside_the_loop_is_a_form_error(client, manager, customer):
    case = open_case(customer, manager)
    client.force_login(manager)
    for to in ("reopened", "nonsense"):
        response = client.post(reverse("complaints:step", args=[case.pk]), step_post(to))
        assert response.status_code == 400
        assert response.context["step_form"].errors["to"]
    case.refresh_from_db()
    assert case.status == S.RECEIVED


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_closing_a_major_case_without_a_lesson_is_refused_on_the_form(client, manager, customer, htmx):
    case = walk(open_case(customer, manager, severity="major"), manager)
    client.force_login(manager)
    url = reverse("complaints:step", args=[case.pk])
    page = client.get(reverse("complaints:detail", args=[case.pk])).content.decode()
    assert 'name="step-lesson"' in page
    response = client.post(url, step_post(S.CLOSED, lesson="  ", note="客户满意"), headers=HTMX if htmx else {})
    assert response.status_code == (200 if htmx else 400)
    assert response.context["step_form"].errors["lesson"]
    assert "客户满意" in response.content.decode()
    case.refresh_from_db()
    assert case.status == S.FOLLOWED_UP and not ComplaintLesson.objects.exists()
    response = client.post(url, step_post(S.CLOSED, lesson="交车前核对滤芯更换"), headers=HTMX if htmx else {})
    case.refresh_from_db()
    assert case.status == S.CLOSED
    assert ComplaintLesson.objects.get(complaint=case).what_changes == "交车前核对滤芯更换"


def test_a_normal_case_closes_without_a_lesson_field(client, manager, customer):
    case = walk(open_case(customer, manager), manager)
    client.force_login(manager)
    assert 'name="step-lesson"' not in client.get(reverse("complaints:detail", args=[case.pk])).content.decode()
    response = client.post(reverse("complaints:step", args=[case.pk]), step_post(S.CLOSED))
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.status == S.CLOSED


@pytest.mark.parametrize(
    ("name", "data", "field"),
    [
        ("pause", {"pause-waiting_on": "", "pause-pause_reason": "等配件"}, "waiting_on"),
        ("pause", {"pause-waiting_on": "parts", "pause-pause_reason": " "}, "pause_reason"),
        ("assign", {"assign-handler": ""}, "handler"),
        ("reopen", {"reopen-note": ""}, None),
    ],
)
def test_refused_actions_keep_what_was_typed(client, manager, customer, name, data, field):
    case = open_case(customer, manager)
    client.force_login(manager)
    response = client.post(reverse(f"complaints:{name}", args=[case.pk]), data)
    assert response.status_code == 400
    form = response.context[f"{name}_form"]
    assert form.errors
    if field:
        assert form.errors[field]
    page = response.content.decode()
    for value in data.values():
        if value.strip():
            assert value in page
    assert ComplaintEvent.objects.filter(complaint=case).count() == 1


def test_the_staff_member_involved_cannot_be_assigned(client, manager, advisor, customer):
    case = open_case(customer, manager, staff_involved=advisor)
    client.force_login(manager)
    response = client.post(reverse("complaints:assign", args=[case.pk]), {"assign-handler": advisor.pk}, headers=HTMX)
    assert response.status_code == 200
    assert response.context["assign_form"].errors["handler"]
    case.refresh_from_db()
    assert case.handler is None


@pytest.mark.parametrize("htmx", [False, True], ids=["plain", "htmx"])
def test_reopening_after_30_days_opens_a_linked_case_and_goes_there(client, manager, customer, htmx):
    case = close(open_case(customer, manager), manager)
    Complaint.objects.filter(pk=case.pk).update(closed_at=timezone.now() - datetime.timedelta(days=31))
    client.force_login(manager)
    response = client.post(
        reverse("complaints:reopen", args=[case.pk]), {"reopen-note": "同样的问题又出现"}, headers=HTMX if htmx else {}
    )
    new = Complaint.objects.get(parent=case)
    url = reverse("complaints:detail", args=[new.pk])
    if htmx:
        assert (response.status_code, response["HX-Redirect"]) == (200, url)
    else:
        assert (response.status_code, response["Location"]) == (302, url)
    assert new.description == "同样的问题又出现" and new.status == S.RECEIVED
    case.refresh_from_db()
    assert (case.status, case.reopen_count) == (S.CLOSED, 0)
    page = client.get(url).content.decode()
    assert reverse("complaints:detail", args=[case.pk]) in page  # "follows" the old case


# --- Out of scope: a 404 everywhere ---------------------------------------------------------
@pytest.fixture
def foreign_case(other_dealership):
    them = UserFactory(username="them", dealership=other_dealership)
    return open_case(CustomerFactory(dealership=other_dealership, advisor=them), them)


def test_another_stores_case_is_not_on_the_board(client, manager, foreign_case):
    client.force_login(manager)
    response = client.get(reverse("complaints:board"))
    assert foreign_case.number not in response.content.decode()
    assert response.context["board"].counts == {"breached": 0, "due_soon": 0, "on_track": 0, "paused": 0}


@pytest.mark.parametrize("who", ["manager", "colleague"])
def test_the_case_page_of_a_case_out_of_scope_is_a_404(client, manager, advisor, dealership, foreign_case, who):
    if who == "manager":
        client.force_login(manager)
        case = foreign_case
    else:
        # An advisor on a colleague's customer in their own store.
        colleague = UserFactory(username="colleague", dealership=dealership)
        case = open_case(CustomerFactory(dealership=dealership, advisor=colleague), colleague)
        client.force_login(advisor)
    assert client.get(reverse("complaints:detail", args=[case.pk])).status_code == 404


@pytest.mark.parametrize("name", ACTIONS)
@pytest.mark.parametrize("who", ["manager", "colleague"])
def test_every_action_on_a_case_out_of_scope_is_a_404(client, manager, advisor, dealership, foreign_case, name, who):
    if who == "manager":
        client.force_login(manager)
        case = foreign_case
        by = None
    else:
        colleague = UserFactory(username="colleague", dealership=dealership)
        case = open_case(CustomerFactory(dealership=dealership, advisor=colleague), colleague)
        by = colleague
        client.force_login(advisor)
    case, data, _effect = _action_setup(name, case, by or foreign_case.received_by, advisor)
    case.refresh_from_db()
    before = (case.status, case.handler_id, case.paused_at, case.first_contacted_at)
    events = ComplaintEvent.objects.filter(complaint=case).count()
    for headers in ({}, HTMX):
        response = client.post(reverse(f"complaints:{name}", args=[case.pk]), data, headers=headers)
        assert response.status_code == 404
    case.refresh_from_db()
    assert (case.status, case.handler_id, case.paused_at, case.first_contacted_at) == before
    assert ComplaintEvent.objects.filter(complaint=case).count() == events


def test_a_group_admin_sees_every_store(client, group_admin, customer, foreign_case):
    mine = open_case(customer, None)
    client.force_login(group_admin)
    shown = {c.pk for c in client.get(reverse("complaints:board")).context["board"].page.object_list}
    assert shown == {mine.pk, foreign_case.pk}


def test_actions_need_a_post(client, manager, customer):
    case = open_case(customer, manager)
    client.force_login(manager)
    assert client.get(reverse("complaints:step", args=[case.pk])).status_code == 405


# --- A new complaint ------------------------------------------------------------------------
def test_a_new_complaint_for_the_customer_opens_the_case(client, manager, advisor, customer, vehicle, category):
    client.force_login(manager)
    url = reverse("complaints:new") + f"?customer={customer.pk}"
    page = client.get(url).content.decode()
    assert customer.name in page and "沪AD12345" in page
    response = client.post(
        url,
        {
            "vehicle": vehicle.pk,
            "channel": "in_person",
            "category": category.pk,
            "severity": "escalated",
            "description": "交车时发现漆面划痕",
            "demand": "免费补漆",
            "handler": manager.pk,
            "staff_involved": advisor.pk,
        },
    )
    case = Complaint.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("complaints:detail", args=[case.pk])
    assert (case.customer, case.vehicle, case.channel, case.severity) == (customer, vehicle, "in_person", "escalated")
    assert (case.handler, case.staff_involved, case.received_by) == (manager, advisor, manager)
    assert case.description == "交车时发现漆面划痕"


@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        ({"description": " "}, {"description"}),
        ({"channel": "carmaker_hotline"}, {"carmaker_reference"}),
        ({"handler": "advisor", "staff_involved": "advisor"}, {"handler"}),
        ({"channel": ""}, {"channel"}),
        ({"category": ""}, {"category"}),
    ],
)
def test_a_new_complaint_with_bad_input_keeps_what_was_typed(
    client, manager, advisor, customer, category, changes, fields
):
    data = {
        "channel": "hotline",
        "category": category.pk,
        "severity": "normal",
        "description": "等了三个小时",
        "demand": "希望店长给个说法",
    }
    data.update({k: advisor.pk if v == "advisor" else v for k, v in changes.items()})
    client.force_login(manager)
    response = client.post(reverse("complaints:new") + f"?customer={customer.pk}", data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == fields
    page = response.content.decode()
    assert "希望店长给个说法" in page
    if data["description"].strip():
        assert data["description"] in page
    assert not Complaint.objects.exists()


def test_a_new_complaint_for_another_stores_customer_is_a_404(client, manager, other_dealership):
    stranger = CustomerFactory(dealership=other_dealership)
    client.force_login(manager)
    assert client.get(reverse("complaints:new") + f"?customer={stranger.pk}").status_code == 404
    assert client.get(reverse("complaints:new") + "?customer=abc").status_code == 404


def test_a_new_complaint_without_a_customer_asks_for_one(client, manager):
    client.force_login(manager)
    response = client.get(reverse("complaints:new"))
    assert response.status_code == 200
    assert reverse("customers:search") in response.content.decode()


def test_an_advisor_taking_a_complaint_on_a_colleagues_customer_goes_back_to_the_customer(
    client, advisor, dealership, category
):
    colleague = UserFactory(username="colleague", dealership=dealership)
    theirs = CustomerFactory(dealership=dealership, advisor=colleague)
    client.force_login(advisor)
    response = client.post(
        reverse("complaints:new") + f"?customer={theirs.pk}",
        {"channel": "hotline", "category": category.pk, "severity": "normal", "description": "电话投诉"},
    )
    assert Complaint.objects.get().customer == theirs
    assert response["Location"] == reverse("customers:detail", args=[theirs.pk])


# --- Lessons learned -------------------------------------------------------------------------
def test_the_lessons_library_is_searchable_and_scoped(client, manager, advisor, customer, foreign_case):
    price = ComplaintCategory.objects.get(code="price")
    close(open_case(customer, manager, severity="major"), manager, lesson="交车前核对滤芯更换")
    close(open_case(customer, manager, severity="major", category=price), manager, lesson="报价单须客户签字")
    close(foreign_case, foreign_case.received_by, lesson="别店的教训")
    client.force_login(manager)
    url = reverse("complaints:lessons")
    page = client.get(url).content.decode()
    assert "交车前核对滤芯更换" in page and "报价单须客户签字" in page and "别店的教训" not in page
    found = client.get(url, {"q": "滤芯"}).context["page"].object_list
    assert [lesson.what_changes for lesson in found] == ["交车前核对滤芯更换"]
    found = client.get(url, {"q": price.label}).context["page"].object_list
    assert [lesson.what_changes for lesson in found] == ["报价单须客户签字"]
    client.force_login(advisor)
    assert client.get(url).status_code == 404


# --- The customer 360 --------------------------------------------------------------------------
def test_the_360_shows_the_open_complaint_badge_and_past_cases(client, advisor, manager, customer):
    past = [close(open_case(customer, manager), manager) for _ in range(6)]
    open_one = open_case(customer, manager)
    client.force_login(advisor)
    response = client.get(reverse("customers:detail", args=[customer.pk]))
    page = response.content.decode()
    assert 'id="complaints"' in page
    # The panel's own section (the care touches may name cases too).
    page = page[page.index('<section class="panel-section" id="complaints">') :]
    page = page[: page.index("</section>")]
    assert page.count('class="badge warn open-complaint"') == 1
    assert f'<a href="{reverse("complaints:detail", args=[open_one.pk])}">{open_one.number}</a>' in page
    assert reverse("complaints:new") + f"?customer={customer.pk}" in page
    # The last five closed, newest first; the first one closed is not shown.
    assert page.count('<tr class="past">') == 5
    assert past[0].number not in page and past[5].number in page


def test_the_360_shows_no_badge_without_an_open_case(client, advisor, manager, customer):
    close(open_case(customer, manager), manager)
    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert "open-complaint" not in page and '<tr class="past">' in page


def test_the_360_of_a_colleagues_customer_names_the_case_without_a_link(client, advisor, dealership):
    colleague = UserFactory(username="colleague", dealership=dealership)
    theirs = CustomerFactory(dealership=dealership, advisor=colleague)
    case = open_case(theirs, colleague)
    client.force_login(advisor)
    page = client.get(reverse("customers:detail", args=[theirs.pk])).content.decode()
    assert case.number in page
    assert reverse("complaints:detail", args=[case.pk]) not in page


@pytest.mark.parametrize("size", [1, 12])
def test_the_360_complaints_panel_is_one_query(client, advisor, manager, customer, django_assert_num_queries, size):
    from complaints.panels import complaints_context

    for _ in range(size):
        open_case(customer, manager)
    with django_assert_num_queries(1):
        context = complaints_context(customer=customer, user=advisor)
    assert len(context["open_complaints"]) == size
