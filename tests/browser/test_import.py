"""A DMS export in a real browser: a manager uploads the sample workbook,
checks the guessed columns, the dry run's progress bar fills (htmx polling
the job while a real Celery worker runs it), then imports; the bar reaches
100 % and the report names the bad rows.

The worker is a subprocess on the broker this run is configured with
(tests/celery_worker.py), like in ``make run``: the task goes through the
broker with the job's id only."""

import re

import pytest
from playwright.sync_api import expect

from imports.models import ImportJob
from service.models import RepairOrder
from tests.browser.conftest import login
from tests.celery_worker import start_worker, stop_worker
from tests.crm.factories import DealershipFactory, ManagerFactory
from tests.customers.factories import CustomerFactory
from tests.imports.samples import EXISTING_PHONE, EXISTING_VIN, XLSX_PATH
from tests.vehicles.factories import VehicleFactory, VehicleModelFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.broker,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

PASSWORD = "Qianmen-2026"
# A run goes through the broker (about a second's latency on the filesystem transport).
RUN_TIMEOUT_MS = 60_000


@pytest.fixture
def worker():
    proc = start_worker()
    yield proc
    stop_worker(proc)


def test_a_manager_imports_repair_orders_and_sees_the_bad_rows(page, live_server, worker, screenshots):
    store = DealershipFactory(code="pudong", name="浦东4S店", city="上海")
    manager = ManagerFactory(username="qian.manager", dealership=store)
    manager.set_password(PASSWORD)
    manager.save()
    passat = VehicleModelFactory(brand="大众", name="帕萨特")
    VehicleModelFactory(brand="大众", name="途观L")
    li = CustomerFactory(dealership=store, name="李雷", phone=EXISTING_PHONE)
    VehicleFactory(customer=li, vin=EXISTING_VIN, plate_number="沪AD12345", model=passat)

    login(page, live_server, "qian.manager", PASSWORD)
    page.goto(f"{live_server.url}/imports/")
    upload = page.locator("#import-upload form")
    upload.locator("select[name=kind]").select_option("repair_orders")
    upload.locator("input[name=file]").set_input_files(str(XLSX_PATH))
    upload.locator("button[type=submit]").click()

    # The mapping step: the guess from the Chinese header is preselected.
    expect(page).to_have_url(re.compile(r"/imports/\d+/mapping/$"))
    expect(page.locator("select[name=vin]")).to_have_value("车架号")
    expect(page.locator("select[name=labor_amount]")).to_have_value("工时费")
    page.screenshot(path=screenshots / "import-mapping.png", full_page=True)
    page.locator("#import-mapping button[type=submit]").click()

    # The dry run: the bar fills, then the page reloads with the report.
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    job = ImportJob.objects.get()
    expect(page.locator("#import-job")).to_have_attribute("data-status", "checked", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#import-progress progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-counts td.refused")).to_have_text("3")
    assert not RepairOrder.objects.exists()

    page.locator("#import-run").click()
    expect(page.locator("#import-job")).to_have_attribute("data-status", "done", timeout=RUN_TIMEOUT_MS)
    expect(page.locator("#import-progress progress")).to_have_attribute("value", "100")
    expect(page.locator("#import-progress .percent")).to_have_text("100 %")
    expect(page.locator("#import-counts td.created")).to_have_text("4")
    for line in (5, 6, 7):
        expect(page.locator(f"#import-rows tr.outcome-refused[data-line='{line}']")).to_be_visible()
    expect(page.locator("#import-rows tr.outcome-refused[data-line='5']")).to_contain_text("1380000000")
    expect(page.locator("#import-refused-download")).to_be_visible()
    page.screenshot(path=screenshots / "import-report.png", full_page=True)

    assert RepairOrder.objects.filter(dealership=store).count() == 4
    job.refresh_from_db()
    assert (job.status, job.refused_count) == (ImportJob.Status.DONE, 3)
    job.file.delete(save=False)
