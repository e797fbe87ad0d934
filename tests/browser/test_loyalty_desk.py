"""The service desk in a real browser: an advisor finds a customer by plate,
opens the card, redeems a wash, and the "left" counter drops by one in place
(htmx, no page load); the database holds the use."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from loyalty.models import BenefitUse
from loyalty.services import card_join
from tests.browser.conftest import login
from tests.crm.factories import DealershipFactory, UserFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Qianmen-2026"


def test_the_desk_finds_a_customer_by_plate_and_redeems_a_wash(page, live_server, screenshots):
    store = DealershipFactory(code="pudong", name="浦东4S店", city="上海")
    advisor = UserFactory(username="zhao.advisor", dealership=store)
    advisor.set_password(PASSWORD)
    advisor.save()
    customer = CustomerFactory(dealership=store, advisor=advisor, name="韩梅梅", phone="13800138000")
    VehicleFactory(customer=customer, plate_number="沪AD54321")
    # An ordinary card from ten days ago: 10 washes this card year, none used.
    card = card_join(
        customer=customer,
        level="ordinary",
        route="fee",
        by=advisor,
        day=timezone.localdate() - datetime.timedelta(days=10),
    )

    login(page, live_server, "zhao.advisor", PASSWORD)
    page.goto(f"{live_server.url}/loyalty/desk/")
    search = page.locator("form.desk-search")
    search.locator("input[name=q]").fill("沪ad 54321")
    search.locator("button[type=submit]").click()
    hit = page.locator(f"#desk-results tr.desk-hit[data-customer='{customer.pk}']")
    expect(hit).to_contain_text(card.number)
    hit.locator("a.open-card").click()
    expect(page).to_have_url(re.compile(rf"/loyalty/desk/cards/{card.pk}/$"))

    wash = page.locator("tr.benefit-wash")
    expect(wash.locator("td.left")).to_have_text("10")
    # A marker on the window survives an htmx swap, not a page load.
    page.evaluate("window.__deskMarker = 'still here'")
    expect(wash.locator("input[name=wash-quantity]")).to_have_value("1")
    wash.locator("button[type=submit]").click()
    expect(page.locator("tr.benefit-wash td.left")).to_have_text("9")
    expect(page.locator("tr.benefit-wash td.used")).to_have_text("1")
    assert page.evaluate("window.__deskMarker") == "still here"
    expect(page.locator("#card-work .messages")).to_contain_text(card.number)
    page.screenshot(path=screenshots / "loyalty-desk-redeemed.png", full_page=True)

    use = BenefitUse.objects.get(card=card)
    assert (use.benefit, use.quantity, use.by_id) == ("wash", 1, advisor.pk)
