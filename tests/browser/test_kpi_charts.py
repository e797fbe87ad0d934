"""A manager opens the KPI page: the vendored ECharts draws its charts from the pages' data
(no inline script), and a number of a table opens the customers behind it."""

import datetime
import re
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.analytics.kpi_rows import RepairOrderFactory, orders, store_day
from tests.browser.conftest import login
from tests.crm.factories import DealershipFactory, ManagerFactory
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, serialized_rollback=True)]

PASSWORD = "Kpi-charts-2026"
SH = ZoneInfo("Asia/Shanghai")


def test_the_kpi_page_draws_its_charts_and_drills_down_to_the_customers(page, live_server, screenshots):
    store = DealershipFactory(code="pudong", name="浦东4S店")
    manager = ManagerFactory(username="kpi.manager", dealership=store)
    manager.set_password(PASSWORD)
    manager.save()
    # The rollups as last night left them: April and May 2025, and May 2024.
    orders(store, datetime.date(2025, 4, 10), visits=9, revenue="4500.00")
    orders(store, datetime.date(2025, 5, 12), visits=1, revenue="500.00")
    orders(store, datetime.date(2024, 5, 12), visits=6, revenue="3000.00")
    store_day(store, datetime.date(2025, 5, 12), nps_count=10, nps_promoters=5, nps_detractors=2)
    # The repair order behind May's visit, which the drill-down reads live.
    customer = CustomerFactory(dealership=store, name="韩梅梅")
    RepairOrderFactory(
        vehicle=VehicleFactory(customer=customer), opened_at=datetime.datetime(2025, 5, 12, 9, tzinfo=SH)
    )

    login(page, live_server, "kpi.manager", PASSWORD)
    page.goto(f"{live_server.url}/analytics/?period=range&start=2025-04&end=2025-05")

    visits_chart = page.locator('.chart[data-chart="chart-visits-0"]')
    expect(visits_chart.locator("svg").first).to_be_visible()
    # Every chart of the page was drawn: each holds an SVG with its series' paths.
    charts = page.locator(".chart[data-chart]")
    assert charts.count() >= 10
    assert page.locator(".chart.chart-drawn").count() == charts.count()
    assert visits_chart.locator("svg path").count() > 0
    shot = screenshots / "kpi-overview.png"
    shot.unlink(missing_ok=True)
    page.screenshot(path=shot, full_page=False)

    # May's one visit opens the customer behind it.
    may_row = page.locator("#table-visits tbody tr", has_text="2025-05")
    may_row.locator("a.drill").first.click()
    expect(page).to_have_url(re.compile(r"/analytics/customers/\?metric=visits&start=2025-05&end=2025-05"))
    expect(page.locator("table.grid tbody")).to_contain_text("韩梅梅")
