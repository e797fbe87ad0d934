"""The complaint loop in a real browser, end to end: a poor post-repair call
opens a case by itself, the manager walks it through its steps and closes it,
the verification call comes up in the advisor's queue and the customer is
satisfied."""

import datetime
import re

import pytest
from django.utils import timezone, translation
from playwright.sync_api import expect

from care.models import CareRule, CareTask, Contact
from complaints.models import Complaint
from service.models import RepairOrder
from tests.browser.conftest import login
from tests.crm.factories import DealershipFactory, ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Qianmen-2026"

# What the manager records at each step, in the order the case page offers them.
STEPS = [
    ("recorded", {}),
    ("investigated", {"findings": "工单显示刹车片螺栓未按扭矩紧固"}),
    ("cause_found", {"cause": "技师漏做紧固，质检未发现"}),
    ("remedy_decided", {"remedy": "免费重新安装刹车片并赠送一次保养", "goodwill_cost": "200"}),
    ("customer_notified", {"customer_agreed": "yes"}),
    ("carried_out", {"action_taken": "已重新安装并试车"}),
    ("followed_up", {"follow_up": "客户确认无异响"}),
    ("closed", {}),
]


def label(status: str) -> str:
    """The status as the Chinese page shows it."""
    with translation.override("zh-hans"):
        return str(Complaint.Status(status).label)


def person(factory, username, store):
    user = factory(username=username, dealership=store)
    user.set_password(PASSWORD)
    user.save()
    return user


def post_repair_call(store, advisor):
    """A repair closed three days ago and its day-3 call, due today."""
    customer = CustomerFactory(dealership=store, advisor=advisor, name="韩梅梅", phone="13800138000", value_tier="B")
    car = VehicleFactory(customer=customer, plate_number="沪A12345")
    today = timezone.localdate()
    closed = timezone.now() - datetime.timedelta(days=3)
    order = RepairOrder.objects.create(
        dealership=store,
        customer=customer,
        vehicle=car,
        number="RO-2026-0815",
        kind=RepairOrder.Kind.REPAIR,
        opened_at=closed - datetime.timedelta(hours=6),
        closed_at=closed,
        mileage=32000,
        advisor=advisor,
    )
    rule = CareRule.objects.filter(dealership=None, kind="post_repair_day3").first()
    task = CareTask.objects.create(
        dealership=store,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind="post_repair_day3",
        channel="call",
        occasion=f"post_repair:{order.number}",
        event_date=today,
        due_date=today,
        expires_on=today + datetime.timedelta(days=9),
        created_on=today,
        assigned_to=advisor,
        repair_order=order,
    )
    return customer, order, task


def open_call(page, customer):
    row = page.locator(f"#row-{customer.pk}")
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#call-panel form.outcome")).to_be_visible()
    return page.locator("#call-panel")


def test_a_poor_post_repair_call_runs_the_whole_complaint_loop(page, live_server, screenshots):
    store = DealershipFactory(code="pudong", name="浦东4S店", city="上海")
    advisor = person(UserFactory, "wang.advisor", store)
    person(ManagerFactory, "chen.manager", store)
    customer, order, _ = post_repair_call(store, advisor)

    # 1. The day-3 call: the customer is not happy.
    login(page, live_server, "wang.advisor", PASSWORD)
    expect(page).to_have_url(re.compile(r"/care/queue/"))
    panel = open_call(page, customer)
    panel.locator("select[name=code]").select_option(label="客户不满意")
    panel.locator("input[name=satisfaction]").fill("2")
    panel.locator("textarea[name=notes]").fill("换完刹车片后仍有异响")
    panel.locator("form.outcome button[type=submit]").click()
    expect(page.locator(f"#row-{customer.pk}")).to_have_count(0)

    case = Complaint.objects.get(customer=customer)
    assert (case.channel, case.repair_order, case.status) == ("follow_up_call", order, "received")
    assert "换完刹车片后仍有异响" in case.description

    # 2. The manager takes the case through every step and closes it.
    page.context.clear_cookies()
    login(page, live_server, "chen.manager", PASSWORD)
    page.goto(f"{live_server.url}/complaints/")
    page.locator(f"a[href='/complaints/{case.pk}/']").first.click()
    expect(page.locator(".case-status")).to_have_text(label(case.status))
    for to, fields in STEPS:
        form = page.locator("form.step-form")
        expect(form.locator("input[name=step-to]")).to_have_value(to)
        for name, value in fields.items():
            field = form.locator(f"[name=step-{name}]")
            if field.evaluate("el => el.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        form.locator("button[type=submit]").click()
        expect(page.locator(".case-status")).to_have_text(label(to))
    page.screenshot(path=screenshots / "complaint-closed.png", full_page=True)
    case.refresh_from_db()
    assert case.status == "closed" and case.remedy == "免费重新安装刹车片并赠送一次保养"
    assert list(case.events.filter(action="step").values_list("to_status", flat=True)) == [
        "received",
        *[to for to, _ in STEPS],
    ]

    # 3. Closing made the verification call; the next working day comes, it is in the advisor's queue.
    verification = CareTask.objects.get(kind="complaint_verification", complaint=case)
    assert verification.due_date > timezone.localdate()
    today = timezone.localdate()
    CareTask.objects.filter(pk=verification.pk).update(due_date=today, planned_for=today)
    page.context.clear_cookies()
    login(page, live_server, "wang.advisor", PASSWORD)
    panel = open_call(page, customer)
    expect(panel.locator(".script")).to_contain_text(case.number)
    expect(panel.locator(".script")).to_contain_text("免费重新安装刹车片")
    panel.locator("select[name=code]").select_option(label="客户满意（问题已解决）")
    panel.locator("input[name=satisfaction]").fill("5")
    panel.locator("textarea[name=notes]").fill("异响已消除，客户满意")
    panel.locator("form.outcome button[type=submit]").click()
    expect(page.locator(f"#row-{customer.pk}")).to_have_count(0)

    # 4. The loop is closed: the touch done, the case still closed, the score on the contact.
    verification.refresh_from_db()
    case.refresh_from_db()
    assert (verification.status, case.status, case.reopen_count) == ("done", "closed", 0)
    contact = Contact.objects.filter(customer=customer, tasks=verification).get()
    assert contact.details.get("satisfaction") in (5, "5")


def test_an_advisor_raises_a_complaint_from_a_call_without_losing_the_outcome_form(page, live_server):
    store = DealershipFactory(code="minhang", name="闵行4S店", city="上海")
    advisor = person(UserFactory, "li.advisor", store)
    customer, order, task = post_repair_call(store, advisor)
    login(page, live_server, "li.advisor", PASSWORD)
    panel = open_call(page, customer)
    panel.locator("textarea[name=notes]").fill("客户抱怨等待时间太长")
    panel.locator("button.raise-complaint").click()

    raise_form = panel.locator("#complaint-raise form.complaint-raise-form")
    expect(raise_form).to_be_visible()
    expect(raise_form.locator("textarea[name=description]")).to_have_value("客户抱怨等待时间太长")
    raise_form.locator("select[name=category]").select_option(label="等待时间")
    raise_form.locator("textarea[name=demand]").fill("下次优先安排")
    raise_form.locator("button[type=submit]").click()
    expect(panel.locator("#complaint-raise")).to_contain_text("TS-")

    case = Complaint.objects.get(customer=customer)
    assert (case.channel, case.category.code, case.repair_order, case.demand) == (
        "follow_up_call",
        "waiting_time",
        order,
        "下次优先安排",
    )
    # The call itself is still to be logged, with what was typed in it.
    expect(panel.locator("textarea[name=notes]")).to_have_value("客户抱怨等待时间太长")
    task.refresh_from_db()
    assert task.status == "open"
