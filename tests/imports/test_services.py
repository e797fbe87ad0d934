"""Import jobs through their services, on the committed sample files: the dry
run writes nothing, the report names each bad row, the import writes the good
rows through the same rules as the pages, and a rerun changes nothing."""

import csv
import datetime
import io
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone, translation

from customers.models import ConsentChange, Customer
from imports.models import ImportJob, ImportKind, ImportProfile, ImportRow
from imports.services import (
    import_job_create,
    import_job_run,
    import_job_start,
    import_mapping_save,
    refused_rows_csv,
)
from service.models import RepairLine, RepairOrder
from tests.imports.conftest import upload_of
from tests.imports.samples import (
    BAD_VIN,
    CSV_PATH,
    EXISTING_PHONE,
    EXISTING_VIN,
    VEHICLE_HEADER,
    VIN_1,
    VIN_2,
    VIN_3,
    XLSX_PATH,
)
from tests.vehicles.factories import VehicleFactory
from vehicles.models import MileageReading, Vehicle

S = ImportJob.Status


def tables() -> dict[str, int]:
    return {
        "customers": Customer.objects.count(),
        "vehicles": Vehicle.objects.count(),
        "readings": MileageReading.objects.count(),
        "consents": ConsentChange.objects.count(),
        "orders": RepairOrder.objects.count(),
        "lines": RepairLine.objects.count(),
    }


def uploaded(store, user, path, kind) -> ImportJob:
    # Reasons in the English source: the catalogue does not have this strings yet.
    job = import_job_create(dealership=store, kind=kind, upload=upload_of(path), by=user, language="en")
    return import_mapping_save(job=job, mapping=job.mapping, by=user)


def run(job: ImportJob, capture, *, dry_run: bool) -> ImportJob:
    with capture(execute=True):
        import_job_start(job=job, dry_run=dry_run, by=job.created_by)
    job.refresh_from_db()
    return job


def counts(job: ImportJob) -> tuple[int, int, int, int]:
    return job.created_count, job.updated_count, job.unchanged_count, job.refused_count


def outcomes(job: ImportJob) -> dict[int, str]:
    return dict(job.rows.values_list("line", "outcome"))


def reasons(job: ImportJob) -> dict[int, str]:
    return dict(job.rows.filter(outcome=ImportRow.Outcome.REFUSED).values_list("line", "reason"))


# --- the GBK CSV: owners and cars ------------------------------------------------------


def test_the_dry_run_of_the_csv_writes_nothing_and_reports_every_row(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    job = uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES)
    before = tables()

    job = run(job, django_capture_on_commit_callbacks, dry_run=True)

    assert tables() == before
    assert (job.status, job.dry_run, job.rows_total, job.rows_done, job.progress) == (S.CHECKED, True, 7, 7, 100)
    # Lines 2–4 new, 5–7 refused, 8 李雷 moved to 北京 (her car is known).
    assert counts(job) == (3, 1, 0, 3)
    assert outcomes(job) == {
        2: "created",
        3: "created",
        4: "created",
        5: "refused",
        6: "refused",
        7: "refused",
        8: "updated",
    }
    existing_car.customer.refresh_from_db()
    assert existing_car.customer.city == "上海"


def test_the_report_names_each_bad_row_with_its_reason(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    job = run(
        uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=True
    )

    why = reasons(job)
    assert sorted(why) == [5, 6, 7]
    assert "1380000000" in why[5] and "mobile" in why[5]
    assert BAD_VIN in why[6] and "check digit" in why[6]
    assert VIN_1 in why[7] and "line 2" in why[7]
    detail = dict(job.rows.values_list("line", "detail"))
    assert "王芳" in detail[2] and VIN_1 in detail[2]
    assert "city" in detail[8]


def test_the_import_writes_the_good_rows_and_a_rerun_changes_nothing(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    before = tables()
    job = run(
        uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=False
    )

    assert (job.status, job.dry_run, job.progress) == (S.DONE, False, 100)
    assert counts(job) == (3, 1, 0, 3)
    after = tables()
    # Three owners and cars; each new car a delivery reading, two an odometer reading too.
    assert after == {**before, "customers": before["customers"] + 3, "vehicles": before["vehicles"] + 3,
                     "readings": before["readings"] + 5}  # fmt: skip
    wang = Customer.objects.get(dealership=dealership, phone="13800000001")
    assert (wang.name, wang.gender, wang.city) == ("王芳", "female", "上海")
    car = Vehicle.objects.get(vin=VIN_1)
    assert (car.customer_id, car.plate_number, car.model.name, car.purchase_date) == (
        wang.pk, "沪A10001", "帕萨特", datetime.date(2023, 5, 1),
    )  # fmt: skip
    # The model's warranty terms, as vehicle_create gives them: 36 months, 100,000 km.
    assert (car.warranty_end_date, car.warranty_end_km) == (datetime.date(2026, 5, 1), 100000)
    assert car.current_mileage == 12000
    readings = list(car.mileage_readings.order_by("read_on").values_list("read_on", "mileage", "source"))
    assert readings == [(datetime.date(2023, 5, 1), 0, "delivery"), (timezone.localdate(), 12000, "import")]
    assert Vehicle.objects.get(vin=VIN_2).model.name == "途观L"
    assert Vehicle.objects.get(vin=VIN_3).purchase_date == datetime.date(2024, 1, 20)
    li = Customer.objects.get(pk=existing_car.customer_id)
    assert (li.name, li.city) == ("李雷", "北京")
    # Refused rows wrote nothing.
    assert not Customer.objects.filter(phone__in=["13800000005", "13800000006"]).exists()
    assert not Vehicle.objects.filter(vin=BAD_VIN).exists()

    rerun = run(
        uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=False
    )

    assert counts(rerun) == (0, 0, 4, 3)
    assert tables() == after


def test_the_refused_rows_download_as_the_files_columns_with_the_reason(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    job = run(
        uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=True
    )

    with translation.override("en"):
        text = "".join(refused_rows_csv(job=job))

    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == [*VEHICLE_HEADER, "Line", "Reason"]
    assert [row[:2] + row[4:5] + row[-2:-1] for row in rows[1:]] == [
        ["赵敏", "1380000000", rows[1][4], "5"],
        ["钱进", "13800000005", BAD_VIN, "6"],
        ["孙丽", "13800000006", VIN_1, "7"],
    ]
    assert all(row[-1] for row in rows[1:])


def test_a_duplicate_vin_is_refused_across_batches_in_a_dry_run_too(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    job = uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES)
    import_job_start_without_task(job, dry_run=True)

    job = import_job_run(job_id=job.pk, batch_size=2)

    assert counts(job) == (3, 1, 0, 3)
    assert "line 2" in reasons(job)[7]


def import_job_start_without_task(job: ImportJob, *, dry_run: bool) -> None:
    """Queued as the page does, but the task's commit hook is dropped: the test runs the service itself."""
    import_job_start(job=job, dry_run=dry_run, by=job.created_by)


def test_the_column_mapping_is_saved_as_the_stores_profile_and_used_next_time(
    dealership, manager, catalogue, django_capture_on_commit_callbacks
):
    job = import_job_create(dealership=dealership, kind=ImportKind.VEHICLES, upload=upload_of(CSV_PATH), by=manager)
    mapping = {**job.mapping, "city": "", "colour": "城市"}  # a manager's own (odd) choice
    import_mapping_save(job=job, mapping=mapping, by=manager)

    profile = ImportProfile.objects.get(dealership=dealership, kind=ImportKind.VEHICLES)
    assert profile.mapping["colour"] == "城市" and "city" not in profile.mapping
    again = import_job_create(dealership=dealership, kind=ImportKind.VEHICLES, upload=upload_of(CSV_PATH), by=manager)
    assert again.mapping["colour"] == "城市" and "city" not in again.mapping
    assert again.mapping["vin"] == "车架号"


def test_a_mapping_without_a_required_field_is_refused(dealership, manager, catalogue):
    job = import_job_create(dealership=dealership, kind=ImportKind.VEHICLES, upload=upload_of(CSV_PATH), by=manager)

    with pytest.raises(ValidationError) as exc:
        import_mapping_save(job=job, mapping={**job.mapping, "vin": ""}, by=manager)

    assert "vin" in exc.value.message_dict
    job.refresh_from_db()
    assert job.status == S.UPLOADED


def test_a_car_registered_at_another_store_is_refused(
    dealership, other_dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    VehicleFactory(customer__dealership=other_dealership, vin=VIN_2, model=existing_car.model)

    job = run(
        uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=False
    )

    assert "another dealership" in reasons(job)[3]
    assert Vehicle.objects.get(vin=VIN_2).customer.dealership_id == other_dealership.pk


# --- the xlsx: repair orders with their cars and owners -----------------------------------


def test_the_dry_run_of_the_orders_workbook_writes_nothing(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    job = uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS)
    before = tables()

    job = run(job, django_capture_on_commit_callbacks, dry_run=True)

    assert tables() == before
    # Every good row opens an order: created; 李雷's row also moves her to 北京.
    assert counts(job) == (4, 0, 0, 3)
    assert sorted(reasons(job)) == [5, 6, 7]
    assert "1380000000" in reasons(job)[5]
    assert BAD_VIN in reasons(job)[6]
    assert VIN_1 in reasons(job)[7] and "line 2" in reasons(job)[7]


def test_the_orders_import_writes_orders_with_lines_and_a_rerun_creates_nothing(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    job = run(
        uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS),
        django_capture_on_commit_callbacks,
        dry_run=False,
    )

    assert counts(job) == (4, 0, 0, 3)
    orders = {o.number: o for o in RepairOrder.objects.filter(dealership=dealership)}
    assert sorted(orders) == ["RO2025001", "RO2025002", "RO2025003", "RO2025007"]
    first = orders["RO2025001"]
    assert (first.kind, first.mileage, first.labor_amount, first.parts_amount, first.total_amount) == (
        "maintenance", 15000, Decimal("300.00"), Decimal("450.50"), Decimal("750.50"),
    )  # fmt: skip
    tz = timezone.get_current_timezone()
    assert first.opened_at == datetime.datetime(2025, 3, 10, 9, 30, tzinfo=tz)
    assert first.closed_at == datetime.datetime(2025, 3, 10, 16, 0, tzinfo=tz)
    assert sorted(first.lines.values_list("line_type", "description", "amount")) == [
        ("labor", "常规保养", Decimal("300.00")),
        ("part", "常规保养", Decimal("450.50")),
    ]
    # 首保 is maintenance; a free labour line is no line.
    third = orders["RO2025003"]
    assert third.kind == "maintenance" and list(third.lines.values_list("line_type", flat=True)) == ["part"]
    assert orders["RO2025002"].customer.name == "张伟"
    assert orders["RO2025002"].customer.last_visit_date == datetime.date(2025, 4, 2)
    # 李雷's order is on her existing car; she moved to 北京 and visited on 2025-06-01.
    li_order = orders["RO2025007"]
    assert li_order.vehicle_id == existing_car.pk and li_order.customer_id == existing_car.customer_id
    li = Customer.objects.get(pk=existing_car.customer_id)
    assert (li.city, li.last_visit_date) == ("北京", datetime.date(2025, 6, 1))
    car = Vehicle.objects.get(vin=VIN_1)
    assert list(car.mileage_readings.order_by("read_on").values_list("read_on", "mileage", "source")) == [
        (datetime.date(2023, 5, 1), 0, "delivery"),
        (datetime.date(2025, 3, 10), 15000, "import"),
    ]
    assert (car.current_mileage, car.current_mileage_date) == (15000, datetime.date(2025, 3, 10))
    assert car.last_maintenance_date == datetime.date(2025, 3, 10)
    after = tables()

    rerun = run(
        uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS),
        django_capture_on_commit_callbacks,
        dry_run=False,
    )

    assert counts(rerun) == (0, 0, 4, 3)
    assert tables() == after


def test_an_order_below_the_cars_last_reading_is_refused(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    MileageReading.objects.create(vehicle=existing_car, read_on=datetime.date(2025, 5, 1), mileage=25000)

    job = run(
        uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS),
        django_capture_on_commit_callbacks,
        dry_run=False,
    )

    assert "25000" in reasons(job)[8] and "20000" in reasons(job)[8]
    assert not RepairOrder.objects.filter(number="RO2025007").exists()


def test_an_existing_order_with_other_values_is_refused_not_changed(
    dealership, manager, existing_car, django_capture_on_commit_callbacks
):
    run(
        uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS),
        django_capture_on_commit_callbacks,
        dry_run=False,
    )
    RepairOrder.objects.filter(number="RO2025002").update(mileage=41001)

    rerun = run(
        uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS),
        django_capture_on_commit_callbacks,
        dry_run=False,
    )

    assert counts(rerun) == (0, 0, 3, 4)
    assert "RO2025002" in reasons(rerun)[3]
    assert RepairOrder.objects.get(number="RO2025002").mileage == 41001


def test_a_new_customer_with_marketing_consent_gets_it_on_record(
    dealership, manager, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "c.csv"
    path.write_text(
        "姓名,手机,同意营销\n王芳,13800000001,是\n张伟,13800000002,否\n韩梅梅,13800000001,是\n", encoding="utf-8-sig"
    )

    job = run(
        uploaded(dealership, manager, path, ImportKind.CUSTOMERS), django_capture_on_commit_callbacks, dry_run=False
    )

    assert counts(job) == (2, 0, 0, 1)
    assert "line 2" in reasons(job)[4]
    wang = Customer.objects.get(phone="13800000001")
    assert wang.marketing_consent and wang.marketing_consent_at is not None
    change = ConsentChange.objects.get(customer=wang)
    assert (change.granted, change.source, change.recorded_by_id) == (True, "import", manager.pk)
    assert not Customer.objects.get(phone="13800000002").marketing_consent
    assert ConsentChange.objects.count() == 1


def test_an_existing_customer_giving_consent_is_put_on_record_once(
    dealership, manager, customer, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "c.csv"
    path.write_text(f"姓名,手机,同意营销\n李雷,{EXISTING_PHONE},是\n", encoding="utf-8")

    job = run(
        uploaded(dealership, manager, path, ImportKind.CUSTOMERS), django_capture_on_commit_callbacks, dry_run=False
    )
    again = run(
        uploaded(dealership, manager, path, ImportKind.CUSTOMERS), django_capture_on_commit_callbacks, dry_run=False
    )

    assert counts(job) == (0, 1, 0, 0) and counts(again) == (0, 0, 1, 0)
    customer.refresh_from_db()
    assert customer.marketing_consent
    assert list(ConsentChange.objects.filter(customer=customer).values_list("granted", "source")) == [(True, "import")]


def test_a_file_that_fails_is_recorded_on_the_job(dealership, manager, catalogue, django_capture_on_commit_callbacks):
    job = uploaded(dealership, manager, CSV_PATH, ImportKind.VEHICLES)
    job.file.storage.delete(job.file.name)

    job = run(job, django_capture_on_commit_callbacks, dry_run=True)

    assert job.status == S.FAILED and job.error
    assert list(job.events.values_list("to_status", flat=True)) == ["uploaded", "mapped", "checking", "failed"]


def test_a_known_car_with_a_new_plate_and_odometer_is_updated_through_the_services(
    dealership, manager, existing_car, tmp_path, django_capture_on_commit_callbacks
):
    path = tmp_path / "cars.csv"
    path.write_text(
        f"客户姓名,手机号,车架号,车牌号,车型,购车日期,里程\n李雷,{EXISTING_PHONE},{EXISTING_VIN},沪B88888,帕萨特,2024-03-15,23456\n"
    )

    job = run(
        uploaded(dealership, manager, path, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=False
    )
    again = run(
        uploaded(dealership, manager, path, ImportKind.VEHICLES), django_capture_on_commit_callbacks, dry_run=False
    )

    assert counts(job) == (0, 1, 0, 0) and counts(again) == (0, 0, 1, 0)
    existing_car.refresh_from_db()
    assert (existing_car.plate_number, existing_car.current_mileage) == ("沪B88888", 23456)
    assert list(existing_car.mileage_readings.filter(source="import").values_list("read_on", "mileage")) == [
        (timezone.localdate(), 23456)
    ]


def test_postgresql_statistics_follow_a_big_first_import(
    dealership, manager, existing_car, django_capture_on_commit_callbacks, monkeypatch
):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL's planner statistics")
    from imports.engine import writer as engine  # _Statistics reads ANALYZE_EVERY there

    monkeypatch.setattr(engine, "ANALYZE_EVERY", 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'service_repairorder'")
        assert cursor.fetchone()[0] <= 0  # never analysed: the planner guesses

    run(
        uploaded(dealership, manager, XLSX_PATH, ImportKind.REPAIR_ORDERS),
        django_capture_on_commit_callbacks,
        dry_run=False,
    )

    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'service_repairorder'")
        assert cursor.fetchone()[0] == 4


def test_a_refused_row_leaves_nothing_for_the_rows_after_it(
    dealership, manager, catalogue, tmp_path, django_capture_on_commit_callbacks
):
    # Line 2 names a model the catalogue lacks: refused, so line 3 (same owner and car) creates them.
    path = tmp_path / "orders.csv"
    path.write_text(
        "工单号,客户姓名,手机,车架号,车型,购车日期,进厂日期,里程,维修类型\n"
        f"RO1,王芳,13800000001,{VIN_1},甲壳虫,2023-05-01,2025-03-10,15000,保养\n"
        f"RO2,王芳,13800000001,{VIN_1},帕萨特,2023-05-01,2025-04-10,16000,保养\n",
        encoding="utf-8",
    )

    dry = run(
        uploaded(dealership, manager, path, ImportKind.REPAIR_ORDERS), django_capture_on_commit_callbacks, dry_run=True
    )
    job = run(
        uploaded(dealership, manager, path, ImportKind.REPAIR_ORDERS), django_capture_on_commit_callbacks, dry_run=False
    )

    assert outcomes(dry) == outcomes(job) == {2: "refused", 3: "created"}
    assert "甲壳虫" in reasons(job)[2]
    order = RepairOrder.objects.get(number="RO2")
    assert (order.customer.phone, order.vehicle.vin, order.closed_at) == ("13800000001", VIN_1, None)
    assert not RepairOrder.objects.filter(number="RO1").exists()
