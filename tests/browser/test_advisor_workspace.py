"""The advisor's day in a real browser: book an appointment for a merged call,
log "not reached", and a manager handing a call to another advisor."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from care.models import CareTask, Contact, TaskReassignment
from crm.models import Holiday
from service.models import Appointment
from tests.browser.conftest import login
from tests.care.factories import CareRuleFactory
from tests.crm.factories import DealershipFactory, ManagerFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Qianmen-2026"


def person(factory, username, store):
    user = factory(username=username, dealership=store)
    user.set_password(PASSWORD)
    user.save()
    return user


@pytest.fixture
def store(db):
    return DealershipFactory(code="pudong", name="浦东4S店", city="上海")


@pytest.fixture
def advisor(store):
    return person(UserFactory, "wang.advisor", store)


def merged_call(store, advisor, name="韩梅梅"):
    """Maintenance due today and insurance in two days: one call, two reasons."""
    customer = CustomerFactory(dealership=store, advisor=advisor, name=name, phone="13800138000")
    car = VehicleFactory(customer=customer, plate_number="沪A12345")
    today = timezone.localdate()
    tasks = []
    for kind, days in (("maintenance", 0), ("insurance", 2)):
        rule = CareRuleFactory(kind=kind, name=f"{kind} rule", call_script="{name}{title}您好，关于您的爱车{plate}")
        when = today + datetime.timedelta(days=days)
        tasks.append(
            CareTask.objects.create(
                dealership=store,
                customer=customer,
                vehicle=car,
                rule=rule,
                kind=kind,
                channel="call",
                occasion=f"{kind}:{when}",
                event_date=when + datetime.timedelta(days=7),
                due_date=when,
                expires_on=when + datetime.timedelta(days=14),
                created_on=today,
                assigned_to=advisor,
            )
        )
    return customer, tasks


def open_call(page, customer):
    row = page.locator(f"#row-{customer.pk}")
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#call-panel form.outcome")).to_be_visible()
    return row


def test_advisor_books_an_appointment_for_a_merged_call(page, live_server, store, advisor, screenshots):
    customer, tasks = merged_call(store, advisor)
    login(page, live_server, "wang.advisor", PASSWORD)
    expect(page).to_have_url(re.compile(r"/care/queue/"))
    row = open_call(page, customer)
    expect(row).to_contain_text("韩梅梅")
    panel = page.locator("#call-panel")
    expect(panel.locator(".script")).to_contain_text(f"韩梅梅{customer.title}您好，关于您的爱车沪A12345")
    expect(panel.locator(".reasons li")).to_have_count(2)

    when = timezone.localtime() + datetime.timedelta(days=1)
    slot = when.replace(hour=10, minute=30, second=0, microsecond=0)
    panel.locator("select[name=code]").select_option(label="已预约到店")
    panel.locator("input[name=appointment_at]").fill(slot.strftime("%Y-%m-%dT%H:%M"))
    panel.locator("textarea[name=notes]").fill("客户要求上午")
    panel.locator("form.outcome button[type=submit]").click()

    expect(page.locator(f"#row-{customer.pk}")).to_have_count(0)
    expect(page.locator(".count-done strong")).to_have_text("1")
    page.screenshot(path=screenshots / "booked.png", full_page=True)

    appointment = Appointment.objects.get(customer=customer)
    assert (timezone.localtime(appointment.scheduled_at).replace(tzinfo=None), appointment.advisor) == (
        slot.replace(tzinfo=None),
        advisor,
    )
    contact = Contact.objects.get(customer=customer)
    assert contact.appointment == appointment and contact.notes == "客户要求上午"
    assert sorted(contact.tasks.values_list("pk", flat=True)) == sorted(t.pk for t in tasks)
    assert set(CareTask.objects.values_list("status", "outcome")) == {("done", "booked")}

    page.goto(f"{live_server.url}/appointments/?day={slot.date().isoformat()}")
    expect(page.locator("body")).to_contain_text("韩梅梅")


def next_working_day_by_hand(after: datetime.date) -> datetime.date:
    """The day after ``after`` that is not off: weekends are off unless the
    official table makes them working days (调休), and the table's holidays are off."""
    table = dict(Holiday.objects.values_list("date", "is_day_off"))
    day = after + datetime.timedelta(days=1)
    while table.get(day, day.weekday() >= 5):
        day += datetime.timedelta(days=1)
    return day


def test_not_reached_comes_back_the_next_working_day(page, live_server, store, advisor):
    customer, _ = merged_call(store, advisor, name="李雷")
    login(page, live_server, "wang.advisor", PASSWORD)
    open_call(page, customer)
    panel = page.locator("#call-panel")
    panel.locator("select[name=code]").select_option(label="未接通")
    panel.locator("form.outcome button[type=submit]").click()

    expect(page.locator(f"#row-{customer.pk}")).to_have_count(0)
    expected = next_working_day_by_hand(timezone.localdate())
    assert sorted(CareTask.objects.values_list("status", "due_date", "attempts")) == [
        ("open", expected, 1),
        ("open", expected, 1),
    ]
    assert Contact.objects.get(customer=customer).reached is False


def test_manager_reassigns_a_call_and_the_other_advisor_sees_it(page, live_server, store, advisor):
    customer, _ = merged_call(store, advisor, name="赵敏")
    person(ManagerFactory, "chen.manager", store)
    colleague = person(UserFactory, "liu.advisor", store)
    colleague.first_name = "刘"
    colleague.save()

    login(page, live_server, "chen.manager", PASSWORD)
    page.goto(f"{live_server.url}/care/queue/")  # managers land on the customer list
    row = page.locator(f"#row-{customer.pk}")
    expect(row).to_be_visible()
    row.locator("input[name=tasks]").check()
    form = page.locator("#reassign")
    form.locator("select[name=to_user]").select_option(value=str(colleague.pk))
    form.locator("input[name=reason]").fill("王顾问今天培训")
    form.locator(".reassign button[type=submit]").click()
    expect(page.locator("#workspace .messages")).to_be_visible()  # not the calendar banner

    assert set(CareTask.objects.values_list("assigned_to", flat=True)) == {colleague.pk}
    assert set(TaskReassignment.objects.values_list("reason", flat=True)) == {"王顾问今天培训"}

    page.context.clear_cookies()
    login(page, live_server, "liu.advisor", PASSWORD)
    expect(page.locator(f"#row-{customer.pk}")).to_contain_text("赵敏")
    page.context.clear_cookies()
    login(page, live_server, "wang.advisor", PASSWORD)
    expect(page.locator(f"#row-{customer.pk}")).to_have_count(0)
