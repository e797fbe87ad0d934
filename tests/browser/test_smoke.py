"""An advisor logs in through the form and starts the day on the care queue."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import login
from tests.crm.factories import DealershipFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Qianmen-2026"


def test_advisor_logs_in_and_lands_on_the_care_queue(page, live_server, screenshots):
    store = DealershipFactory(code="pudong", name="浦东4S店")
    advisor = UserFactory(username="wang.advisor", dealership=store)
    advisor.set_password(PASSWORD)
    advisor.save()

    login(page, live_server, "wang.advisor", PASSWORD)

    expect(page).to_have_url(re.compile(r"/care/queue/$"))
    expect(page.locator("h1")).to_contain_text("今日关怀任务")
    shot = screenshots / "smoke.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=shot, full_page=True)
    assert shot.stat().st_size > 0
