"""Time a DMS import of repair orders from .xlsx, with its peak memory, beside reading the file alone.

    .venv/bin/python bench/import_orders.py                      # 100,000 rows on PostgreSQL crm_bench_import
    .venv/bin/python bench/import_orders.py --rows 20000 --sqlite

Not a test: it measures. A workbook of N repair-order rows is written first
(untimed): N/4 customers with one car each and four orders per car over
three years, with the columns of a DMS export (Chinese headers). The
database is dropped and migrated, with one store and its vehicle models.
Then, each in a process of its own so that ``getrusage`` peaks are their own:

- reference: the file read alone (openpyxl read-only, every cell of every row);
- import: ``imports.services.import_job_run`` on a job of the file (the
  Celery task's body, without the broker): every customer, car, order, line
  and reading written; target under 60 s and 500 MB;
- rerun: the same file again, which must change nothing (all unchanged).
"""

import argparse
import datetime
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
HEADER = [
    "工单号",
    "客户姓名",
    "手机",
    "城市",
    "车架号",
    "车牌号",
    "车型",
    "购车日期",
    "进厂日期",
    "结算日期",
    "里程",
    "维修类型",
    "维修项目",
    "工时费",
    "材料费",
]
MODELS = ["帕萨特", "途观L", "朗逸", "迈腾"]
LETTERS = "ABCDEFGHJKLMNPQRSTUVWXYZ"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--batch", type=int, default=None, help="rows per batch (default: the importer's)")
    parser.add_argument("--phase", choices=["write", "read", "import"], help=argparse.SUPPRESS)
    parser.add_argument("--file", help=argparse.SUPPRESS)
    return parser.parse_args()


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def write_workbook(path: Path, rows: int) -> None:
    from openpyxl import Workbook

    sys.path.insert(0, str(ROOT))
    from crm.validators import vin_check_digit

    rng = random.Random(14)
    # Not write-only: the sheet is saved as Excel saves it, with its size
    # recorded and its text in the shared-strings table.
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "工单"
    sheet.append(HEADER)
    start = datetime.date(2023, 1, 2)
    kinds = ["保养", "保养", "维修", "保修", "钣喷"]
    number = 0
    for car in range((rows + 3) // 4):
        body = f"LSVBE{car:012d}"
        vin = body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]
        plate = f"沪{LETTERS[car % 24]}{LETTERS[(car // 24) % 24]}{car % 10000:04d}"
        bought = start - datetime.timedelta(days=rng.randrange(30, 2000))
        day, km = start + datetime.timedelta(days=rng.randrange(0, 90)), rng.randrange(1000, 40000)
        for _visit in range(4):
            if number >= rows:
                break
            number += 1
            opened = datetime.datetime(day.year, day.month, day.day, 8 + rng.randrange(0, 6), 30)
            labour, parts = rng.randrange(0, 800), rng.randrange(0, 3000) + rng.randrange(0, 100) / 100
            sheet.append(
                [
                    f"RO{number:08d}",
                    f"客户{car}",
                    f"139{car:08d}",
                    "上海",
                    vin,
                    plate,
                    MODELS[car % len(MODELS)],
                    bought,
                    opened,
                    opened + datetime.timedelta(hours=rng.randrange(1, 8)),
                    km,
                    kinds[rng.randrange(0, len(kinds))],
                    "常规保养",
                    labour,
                    parts,
                ]
            )
            day += datetime.timedelta(days=rng.randrange(60, 270))
            km += rng.randrange(2000, 12000)
    workbook.save(path)


def phase_read(path: str) -> dict:
    sys.path.insert(0, str(ROOT))
    from imports.reading import open_table

    started = time.perf_counter()
    table = open_table(path, "xlsx")
    cells = sum(len(values) for _line, values in table.rows())
    return {
        "seconds": time.perf_counter() - started,
        "cpu_seconds": cpu_seconds(),
        "peak_mb": peak_mb(),
        "cells": cells,
    }


def phase_import(path: str, batch: int | None) -> dict:
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_DEBUG"] = "false"  # no query log
    import django

    django.setup()
    from django.core.files import File

    from crm.models import Dealership, User
    from imports.models import ImportKind
    from imports.services import import_job_create, import_job_run, import_job_start, import_mapping_save

    store = Dealership.objects.get(code="bench")
    manager = User.objects.get(username="bench-manager")
    started = time.perf_counter()
    with open(path, "rb") as handle:
        job = import_job_create(
            dealership=store, kind=ImportKind.REPAIR_ORDERS, upload=File(handle, name="orders.xlsx"), by=manager
        )
    job = import_mapping_save(job=job, mapping=job.mapping, by=manager)
    uploaded = time.perf_counter() - started
    # The page's "import" without the broker: the task's body runs here.
    import_job_start(job=job, dry_run=False, by=manager)
    job = import_job_run(job_id=job.pk, batch_size=batch)
    seconds = time.perf_counter() - started
    job.file.delete(save=False)
    return {
        "seconds": seconds,
        "upload_seconds": uploaded,
        "cpu_seconds": cpu_seconds(),
        "peak_mb": peak_mb(),
        "status": job.status,
        "error": job.error,
        "created": job.created_count,
        "updated": job.updated_count,
        "unchanged": job.unchanged_count,
        "refused": job.refused_count,
    }


def child(phase: str, path: Path, batch: int | None) -> dict:
    command = [sys.executable, __file__, "--phase", phase, "--file", str(path)]
    if batch:
        command += ["--batch", str(batch)]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=os.environ.copy())
    if done.returncode:
        sys.exit(f"{phase} failed:\n{done.stdout}\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def setup_store() -> None:
    from crm.models import Dealership, User
    from vehicles.models import VehicleModel

    store = Dealership.objects.create(code="bench", name="浦东4S店")
    User.objects.create_user(username="bench-manager", role=User.Role.MANAGER, dealership=store)
    for name in MODELS:
        VehicleModel.objects.create(
            brand="大众",
            name=name,
            vehicle_class="sedan",
            first_maintenance_km=5000,
            first_maintenance_months=6,
            maintenance_interval_km=10000,
            maintenance_interval_months=12,
            warranty_months=36,
            warranty_km=100000,
        )


def main() -> None:
    args = parse_args()
    if args.phase == "write":
        write_workbook(Path(args.file), args.rows)
        return
    if args.phase == "read":
        print(json.dumps(phase_read(args.file)))
        return
    if args.phase == "import":
        print(json.dumps(phase_import(args.file, args.batch)))
        return
    sys.path.insert(0, str(ROOT))
    from bench._database import fresh_database, start_django

    folder = Path(tempfile.mkdtemp(prefix="bench-import-"))
    path = folder / "orders.xlsx"
    started = time.perf_counter()
    # A process of its own: a workbook built in memory is big.
    subprocess.run(
        [sys.executable, __file__, "--phase", "write", "--file", str(path), "--rows", str(args.rows)], check=True
    )
    size = path.stat().st_size / 2**20
    print(
        f"workbook: {args.rows:,} repair-order rows, {size:.1f} MB, "
        f"written in {time.perf_counter() - started:.1f} s (untimed)"
    )

    fresh_database("crm_bench_import", sqlite=args.sqlite)
    start_django()
    from django.db import connection

    setup_store()
    vendor = connection.vendor
    connection.close()

    reference = child("read", path, args.batch)
    print(
        f"reference, reading the file alone: {reference['seconds']:.1f} s ({reference['cpu_seconds']:.1f} s CPU), "
        f"peak {reference['peak_mb']:.0f} MB "
        f"({reference['cells']:,} cells)"
    )
    first = child("import", path, args.batch)
    print(
        f"import on {vendor}: {first['seconds']:.1f} s ({first['cpu_seconds']:.1f} s CPU in the importing process; "
        f"upload and header {first['upload_seconds']:.1f} s), peak {first['peak_mb']:.0f} MB — {first['status']}: "
        f"{first['created']:,} created, {first['updated']:,} updated, {first['unchanged']:,} unchanged, "
        f"{first['refused']:,} refused {first['error']}"
    )
    from customers.models import Customer
    from service.models import RepairLine, RepairOrder
    from vehicles.models import MileageReading, Vehicle

    print(
        f"written: {Customer.objects.count():,} customers, {Vehicle.objects.count():,} cars, "
        f"{RepairOrder.objects.count():,} orders, {RepairLine.objects.count():,} lines, "
        f"{MileageReading.objects.count():,} readings"
    )
    connection.close()
    again = child("import", path, args.batch)
    print(
        f"rerun of the same file: {again['seconds']:.1f} s ({again['cpu_seconds']:.1f} s CPU), "
        f"peak {again['peak_mb']:.0f} MB — "
        f"{again['created']:,} created, {again['updated']:,} updated, {again['unchanged']:,} unchanged"
    )
    load = os.getloadavg()[0]
    verdict = "within" if first["seconds"] < 60 and first["peak_mb"] < 500 else "OVER"
    print(f"load average at the end: {load:.1f} on {os.cpu_count()} cores (other work slows every figure)")
    print(f"target: import under 60 s and 500 MB: {verdict}")
    path.unlink()
    folder.rmdir()


if __name__ == "__main__":
    main()
