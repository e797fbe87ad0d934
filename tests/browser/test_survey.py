"""The survey link on a phone: the customer opens the SMS link without logging
in, taps a satisfaction and a recommend score, writes a comment and sends;
the answer is kept, and the link then says it was answered."""

import datetime

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from analytics.models import Survey, SurveyResponse
from analytics.survey_links import survey_path
from service.models import RepairOrder
from tests.crm.factories import DealershipFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PHONE = {"width": 390, "height": 844}


def test_a_customer_answers_the_survey_on_a_phone(page, live_server, screenshots):
    store = DealershipFactory(code="pudong", name="浦东4S店", city="上海")
    customer = CustomerFactory(dealership=store, name="韩梅梅", phone="13800138000")
    car = VehicleFactory(customer=customer, plate_number="沪AD54321")
    opened = timezone.now() - datetime.timedelta(days=1, hours=6)
    order = RepairOrder.objects.create(
        dealership=store,
        customer=customer,
        vehicle=car,
        number="RO-1",
        kind="maintenance",
        opened_at=opened,
        closed_at=opened + datetime.timedelta(hours=3),
        mileage=15000,
    )
    sent = timezone.now()
    survey = Survey.objects.create(
        dealership=store,
        customer=customer,
        repair_order=order,
        kind="post_service",
        channel="sms",
        sent_at=sent,
        expires_at=sent + datetime.timedelta(days=7),
    )

    page.set_viewport_size(PHONE)
    page.goto(survey_path(survey.pk))
    expect(page.locator("header.store h1")).to_have_text("浦东4S店")
    body = page.locator("body").inner_text()
    assert "韩梅梅" not in body and "13800138000" not in body and "沪AD54321" not in body
    # The scores are big tappable boxes: the whole width of the phone, no sideways scrolling.
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    page.locator(".question-csat label").filter(has_text="4").click()
    page.locator(".question-nps label").filter(has_text="9").first.click()
    page.locator("textarea[name=comment]").fill("师傅很专业，就是等得有点久")
    page.screenshot(path=screenshots / "survey-phone.png", full_page=True)
    page.locator("button[type=submit]").click()
    expect(page.locator(".answered-thanks")).to_be_visible()

    answer = SurveyResponse.objects.get()
    assert (answer.csat, answer.nps, answer.comment) == (4, 9, "师傅很专业，就是等得有点久")
    page.goto(survey_path(survey.pk))
    expect(page.locator(".closed-answered")).to_be_visible()
