"""The call panel in a real browser shows only the fields the chosen outcome
needs (static/crm/queue.js), in the queue and on the panel's own page; the
server's errors come back next to the field, still shown."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect

from care.models import CareTask, Contact
from tests.browser.conftest import login
from tests.care.factories import CareRuleFactory
from tests.crm.factories import DealershipFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Qianmen-2026"


@pytest.fixture
def call(db):
    """A store, its advisor (who can log in) and one call due today."""
    store = DealershipFactory(code="pudong", name="浦东4S店", city="上海")
    advisor = UserFactory(username="wang.advisor", dealership=store)
    advisor.set_password(PASSWORD)
    advisor.save()
    customer = CustomerFactory(dealership=store, advisor=advisor, name="韩梅梅", phone="13800138000")
    car = VehicleFactory(customer=customer, plate_number="沪A12345")
    rule = CareRuleFactory(kind="maintenance", call_script="{name}{title}您好")
    today = timezone.localdate()
    return CareTask.objects.create(
        dealership=store,
        customer=customer,
        vehicle=car,
        rule=rule,
        kind="maintenance",
        channel="call",
        occasion=f"maintenance:{today}",
        event_date=today + datetime.timedelta(days=7),
        due_date=today,
        expires_on=today + datetime.timedelta(days=14),
        created_on=today,
        assigned_to=advisor,
    )


def blocks(panel):
    return {name: panel.locator(f'[data-field="{name}"]') for name in ("appointment_at", "follow_up_on", "reason")}


def test_the_panel_shows_the_fields_of_the_chosen_outcome(page, live_server, call):
    login(page, live_server, "wang.advisor", PASSWORD)
    expect(page).to_have_url(re.compile(r"/care/queue/"))
    page.locator(f"#row-{call.customer_id}").click()
    panel = page.locator("#call-panel")
    expect(panel.locator("form.outcome")).to_be_visible()
    field = blocks(panel)
    for block in field.values():
        expect(block).to_be_hidden()  # no outcome chosen yet

    code = panel.locator("select[name=code]")
    code.select_option(label="已预约到店")
    expect(field["appointment_at"]).to_be_visible()
    expect(field["reason"]).to_be_hidden()
    expect(panel.locator(".needs-hint").first).to_be_hidden()  # the script shows the right fields instead

    code.select_option(label="暂不需要")
    expect(field["reason"]).to_be_visible()
    expect(field["appointment_at"]).to_be_hidden()

    # Without a reason the server refuses: the panel comes back with the error by the field, still shown.
    panel.locator("form.outcome button[type=submit]").click()
    expect(field["reason"].locator(".errorlist")).to_be_visible()
    expect(field["appointment_at"]).to_be_hidden()
    field["reason"].locator("input[name=reason]").fill("价格太贵")
    panel.locator("form.outcome button[type=submit]").click()
    expect(page.locator(f"#row-{call.customer_id}")).to_have_count(0)
    assert Contact.objects.get().details == {"reason": "价格太贵"}


def test_the_panels_own_page_hides_the_fields_too(page, live_server, call):
    login(page, live_server, "wang.advisor", PASSWORD)
    page.goto(f"{live_server.url}{reverse('care:panel', args=[call.pk])}")
    field = blocks(page.locator("#call-panel"))
    expect(field["follow_up_on"]).to_be_hidden()
    page.locator("select[name=code]").select_option(label="稍后再来（约定回访日）")
    expect(field["follow_up_on"]).to_be_visible()
    expect(field["appointment_at"]).to_be_hidden()
