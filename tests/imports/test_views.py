"""The import pages, full stack: upload → mapping → dry run → import → report;
advisors get a 403, another store's job is a 404, and the job page costs a
fixed number of queries whatever the size of the report."""

import re

import pytest
from django.urls import reverse

from crm.models import User
from imports.models import ImportJob, ImportKind, ImportRow
from imports.services import import_job_create
from service.models import RepairOrder
from tests.crm.factories import ManagerFactory
from tests.imports.conftest import upload_of
from tests.imports.samples import CSV_PATH, XLSX_PATH


def test_a_manager_uploads_maps_dry_runs_and_imports(
    client, dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    client.force_login(manager)

    response = client.post(reverse("imports:list"), {"kind": ImportKind.REPAIR_ORDERS, "file": upload_of(XLSX_PATH)})

    job = ImportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("imports:mapping", args=[job.pk])
    page = client.get(reverse("imports:mapping", args=[job.pk]))
    assert page.status_code == 200
    # The guess is preselected: the VIN field's select has 车架号 chosen.
    assert '<option value="车架号" selected>车架号</option>' in page.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:mapping", args=[job.pk]), job.mapping)
    assert response.status_code == 302 and response["Location"] == reverse("imports:job", args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.created_count, job.refused_count) == (ImportJob.Status.CHECKED, 4, 3)
    assert not RepairOrder.objects.exists()

    report = client.get(reverse("imports:job", args=[job.pk])).content.decode()
    assert 'value="100"' in report
    for line in (5, 6, 7):
        assert f'<tr class="outcome-refused" data-line="{line}">' in report
    assert "1380000000" in report

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:start", args=[job.pk]), {"action": "import"})
    assert response.status_code == 302
    job.refresh_from_db()
    assert (job.status, job.dry_run, job.created_count) == (ImportJob.Status.DONE, False, 4)
    assert RepairOrder.objects.filter(dealership=dealership).count() == 4

    download = client.get(reverse("imports:refused", args=[job.pk]))
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    text = b"".join(download.streaming_content).decode("utf-8-sig")
    assert len(text.strip().splitlines()) == 4  # the header and three refused rows
    assert "RO2025004" in text and "RO2025001" not in text


def test_a_file_that_is_neither_xlsx_nor_csv_is_refused_on_the_form(client, manager):
    client.force_login(manager)

    response = client.post(
        reverse("imports:list"), {"kind": ImportKind.CUSTOMERS, "file": upload_of(CSV_PATH, name="list.txt")}
    )

    assert response.status_code == 400
    assert "errors" in response.content.decode()
    assert not ImportJob.objects.exists()


def test_a_mapping_missing_a_required_column_stays_on_the_form(client, dealership, manager, catalogue):
    job = import_job_create(dealership=dealership, kind=ImportKind.VEHICLES, upload=upload_of(CSV_PATH), by=manager)
    client.force_login(manager)

    response = client.post(reverse("imports:mapping", args=[job.pk]), {**job.mapping, "vin": ""})

    assert response.status_code == 400
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


@pytest.fixture
def job(dealership, manager, catalogue):
    return import_job_create(dealership=dealership, kind=ImportKind.VEHICLES, upload=upload_of(CSV_PATH), by=manager)


PAGES = ["imports:job", "imports:mapping", "imports:progress", "imports:refused"]


@pytest.mark.parametrize("name", PAGES)
def test_advisors_get_a_403_on_every_import_page(client, advisor, job, name):
    client.force_login(advisor)
    assert client.get(reverse(name, args=[job.pk])).status_code == 403
    assert client.get(reverse("imports:list")).status_code == 403
    assert client.post(reverse("imports:start", args=[job.pk]), {"action": "import"}).status_code == 403


@pytest.mark.parametrize("name", PAGES)
def test_another_stores_job_is_a_404(client, other_manager, job, name):
    client.force_login(other_manager)
    assert client.get(reverse(name, args=[job.pk])).status_code == 404
    assert client.post(reverse("imports:start", args=[job.pk]), {"action": "import"}).status_code == 404
    job.refresh_from_db()
    assert job.status == ImportJob.Status.UPLOADED


def test_a_group_admin_sees_every_stores_jobs(client, group_admin, job):
    client.force_login(group_admin)
    page = client.get(reverse("imports:list")).content.decode()
    assert f'id="import-{job.pk}"' in page and job.dealership.name in page
    assert client.get(reverse("imports:job", args=[job.pk])).status_code == 200


def test_the_progress_bar_asks_htmx_to_reload_once_the_run_is_over(client, manager, job):
    client.force_login(manager)
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKING, rows_total=8, rows_done=4)

    running = client.get(reverse("imports:progress", args=[job.pk]), headers={"HX-Request": "true"})

    assert "HX-Refresh" not in running
    assert 'value="50"' in running.content.decode() and 'hx-trigger="every 1s"' in running.content.decode()
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKED, rows_done=8)
    done = client.get(reverse("imports:progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert done["HX-Refresh"] == "true" and 'value="100"' in done.content.decode()


def _report_of(job: ImportJob, refused: int) -> None:
    ImportRow.objects.bulk_create(
        ImportRow(job=job, line=n + 2, outcome=ImportRow.Outcome.REFUSED, reason="bad", values=["x"])
        for n in range(refused)
    )
    ImportRow.objects.bulk_create(
        ImportRow(job=job, line=1000 + n, outcome=ImportRow.Outcome.CREATED, detail="new") for n in range(refused)
    )
    ImportJob.objects.filter(pk=job.pk).update(status=ImportJob.Status.CHECKED, refused_count=refused)


@pytest.mark.parametrize("size", [2, 40])
def test_the_job_page_costs_a_fixed_number_of_queries(client, manager, job, size, django_assert_max_num_queries):
    _report_of(job, size)
    client.force_login(manager)
    # Session, user, the job with its store and uploader, refused rows, other rows, the calendar banner.
    with django_assert_max_num_queries(6):
        response = client.get(reverse("imports:job", args=[job.pk]))
    assert response.content.decode().count('class="outcome-refused"') == size


@pytest.mark.parametrize("size", [1, 30])
def test_the_job_list_costs_a_fixed_number_of_queries(
    client, dealership, manager, catalogue, size, django_assert_max_num_queries
):
    for _n in range(size):
        import_job_create(dealership=dealership, kind=ImportKind.VEHICLES, upload=upload_of(CSV_PATH), by=manager)
    client.force_login(manager)
    # Session, user, the jobs with their stores and uploaders, the calendar banner.
    with django_assert_max_num_queries(4):
        response = client.get(reverse("imports:list"))
    assert len(re.findall(r'id="import-\d+"', response.content.decode())) == size


def test_the_admin_lists_jobs_and_links_to_the_import_page(client, dealership, job):
    manager = ManagerFactory(username="admin-manager", dealership=dealership, role=User.Role.MANAGER)
    client.force_login(manager)

    page = client.get(reverse("admin:imports_importjob_changelist")).content.decode()

    assert reverse("imports:list") in page and job.original_name in page
    assert reverse("imports:job", args=[job.pk]) in page
