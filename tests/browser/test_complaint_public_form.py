"""The store's public complaint form in a real browser: a customer who scanned
the QR code fills it in and sends it, and the case is opened. (Chromium sends
``Origin: null`` with a POST from a page whose referrer policy is
"no-referrer", which Django's CSRF check refuses: only a browser shows it.)"""

import pytest
from playwright.sync_api import expect

from complaints.models import Complaint
from tests.crm.factories import DealershipFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def test_a_customer_sends_the_public_complaint_form_from_a_phone(page, live_server, screenshots):
    DealershipFactory(code="pudong", name="浦东4S店", city="上海")

    page.set_viewport_size(PHONE)
    page.goto("/c/f/pudong/")
    page.locator("input[name=name]").fill("李雷")
    page.locator("input[name=mobile]").fill("13912345678")
    page.locator("textarea[name=description]").fill("保养后第二天机油灯亮了，打电话没人回复")
    page.locator("textarea[name=demand]").fill("免费检查并给个说法")
    page.screenshot(path=screenshots / "complaint-form-phone.png", full_page=True)
    page.locator("button[type=submit]").click()
    expect(page.locator(".alert.ok")).to_be_visible()

    case = Complaint.objects.get()
    expect(page.locator("p.number")).to_have_text(case.number)
    assert case.channel == Complaint.Channel.ONLINE_FORM
    assert (case.description, case.demand) == ("保养后第二天机油灯亮了，打电话没人回复", "免费检查并给个说法")
