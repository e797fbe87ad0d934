"""Time a full day's care generation and its rerun on N vehicles.

    .venv/bin/python bench/care_generation.py --vehicles 100000            # PostgreSQL crm_bench_care
    .venv/bin/python bench/care_generation.py --vehicles 20000 --sqlite     # a temporary SQLite file

Not a test: it measures. The database is dropped, migrated and filled with
bulk inserts (not timed); then the first backfill of the cars' service figures is
timed on its own, then the morning run (figures refresh, closers, expiry,
every default rule, conversion links) of a fresh install's first day, of the
next (ordinary) day, and a rerun of that day, which must create nothing.
"""

import argparse
import datetime
import random
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = datetime.date(2026, 11, 23)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--vehicles", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true")
    return parser.parse_args()


def fill(n: int) -> None:
    """N cars, one per customer, over three stores: delivery and latest readings,
    and a last maintenance; dates spread so every kind finds some work."""
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from crm.models import Dealership, User
    from crm.validators import vin_check_digit
    from customers.models import Customer
    from service.models import RepairOrder
    from vehicles.models import MileageReading, Vehicle, VehicleModel

    rng = random.Random(1)
    sh = ZoneInfo("Asia/Shanghai")
    stores = Dealership.objects.bulk_create(
        [Dealership(code=f"s{i}", name=f"门店{i}", booking_phone="021-1", rescue_phone="400-1") for i in range(3)]
    )
    advisors = User.objects.bulk_create(
        [User(username=f"a{i}", role="advisor", dealership=stores[i % 3]) for i in range(30)]
    )
    model = VehicleModel.objects.create(
        brand="大众",
        name="帕萨特",
        vehicle_class="sedan",
        first_maintenance_km=7500,
        first_maintenance_months=6,
        maintenance_interval_km=10000,
        maintenance_interval_months=12,
        warranty_months=36,
        warranty_km=100000,
    )
    batch = 5000
    for start in range(0, n, batch):
        size = min(batch, n - start)
        customers = Customer.objects.bulk_create(
            [
                Customer(
                    dealership=stores[(start + i) % 3],
                    advisor=advisors[(start + i) % 30],
                    name=f"客户{start + i}",
                    phone=f"139{start + i:08d}",
                    gender=rng.choice(["male", "female"]),
                    occupation=rng.choice(["teacher", "enterprise", "other"]),
                    birthday=datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(12000)),
                    lunar_birthday_month=rng.randint(1, 12) if i % 3 == 0 else None,
                    lunar_birthday_day=rng.randint(1, 30) if i % 3 == 0 else None,
                    value_tier=rng.choice("ABCD"),
                )
                for i in range(size)
            ]
        )
        vehicles = []
        for i, customer in enumerate(customers):
            serial = start + i
            body = f"LSVAB2AT0NS{serial:06d}"
            bought = DAY - datetime.timedelta(days=rng.randrange(30, 8 * 365))
            vehicles.append(
                Vehicle(
                    customer=customer,
                    model=model,
                    vin=body[:8] + vin_check_digit(body) + body[9:],
                    plate_number=f"沪A{serial % 100000:05d}",
                    purchase_date=bought,
                    sold_here=True,
                    warranty_end_date=bought + datetime.timedelta(days=3 * 365),
                    warranty_end_km=100000,
                    insurance_expiry_date=datetime.date(DAY.year, bought.month, min(bought.day, 28))
                    + datetime.timedelta(days=rng.randrange(0, 60)),
                )
            )
        vehicles = Vehicle.objects.bulk_create(vehicles)
        readings, orders = [], []
        for v in vehicles:
            kpd = rng.randint(15, 120)
            age = (DAY - v.purchase_date).days
            read_on = DAY - datetime.timedelta(days=rng.randrange(0, min(age, 200)))
            mileage = kpd * (read_on - v.purchase_date).days
            readings += [
                MileageReading(vehicle=v, read_on=v.purchase_date, mileage=0, source="delivery"),
                MileageReading(vehicle=v, read_on=read_on, mileage=mileage),
            ]
            if age > 200:
                opened = datetime.datetime.combine(read_on, datetime.time(10), sh)
                orders.append(
                    RepairOrder(
                        dealership_id=v.customer.dealership_id,
                        customer_id=v.customer_id,
                        vehicle=v,
                        number=f"RO{v.pk}",
                        kind="maintenance",
                        opened_at=opened,
                        closed_at=opened + datetime.timedelta(hours=3),
                        mileage=mileage,
                        labor_amount=Decimal("200.00"),
                        parts_amount=Decimal("300.00"),
                        total_amount=Decimal("500.00"),
                    )
                )
        MileageReading.objects.bulk_create(readings, batch_size=batch)
        RepairOrder.objects.bulk_create(orders, batch_size=batch)


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench._database import fresh_database, start_django

    fresh_database("crm_bench_care", sqlite=args.sqlite)

    start_django()
    from django.db import connection

    from care.engine.services import care_tasks_generate
    from care.models import CareTask
    from care.workspace.planning import care_plan_day
    from service.services import vehicle_service_stats_refresh

    started = time.perf_counter()
    fill(args.vehicles)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"{connection.vendor}: {args.vehicles:,} vehicles filled in {time.perf_counter() - started:.1f} s (untimed)")

    # The first refresh of the cars' figures (latest reading, km per day, last
    # maintenance) writes every car once; afterwards a morning run rewrites
    # only the cars whose history changed. Timed apart so both are visible.
    started = time.perf_counter()
    backfilled = vehicle_service_stats_refresh()
    print(f"stats backfill {time.perf_counter() - started:6.2f} s  ({backfilled:,} cars written, first run only)")

    # A fresh install's first run catches up on everything already inside the
    # windows (tens of thousands of touches); every later morning only adds
    # what came due that day. Both are timed, then a rerun of the same day.
    started = time.perf_counter()
    catch_up = care_tasks_generate(day=DAY - datetime.timedelta(days=1))
    first = time.perf_counter() - started
    started = time.perf_counter()
    report = care_tasks_generate(day=DAY)
    full = time.perf_counter() - started
    # Three reruns: the first often shares the machine with autovacuum
    # analysing the touches just inserted.
    reruns = []
    for _ in range(3):
        started = time.perf_counter()
        rerun = care_tasks_generate(day=DAY)
        reruns.append((time.perf_counter() - started, rerun.total_created))
    print(f"first run  {first:6.2f} s  created {catch_up.total_created:,} touches (catch-up on a fresh install)")
    print(f"daily run  {full:6.2f} s  created {report.total_created:,} touches: {dict(sorted(report.created.items()))}")
    for seconds, created in reruns:
        print(f"rerun      {seconds:6.2f} s  created {created:,}")
    # The advisors' plan, the morning run's step after the generation
    # (care_morning_run): every due call ranked and put on a day.
    plans = []
    for _ in range(2):
        started = time.perf_counter()
        plan = care_plan_day(day=DAY)
        plans.append(time.perf_counter() - started)
    calls = plan.planned_today + plan.planned_later + plan.overflow
    print(
        f"plan       {plans[0]:6.2f} s, again {plans[1]:.2f} s  ({calls:,} due calls: {plan.planned_today:,} today, "
        f"{plan.planned_later:,} later, {plan.overflow:,} overflow)"
    )
    print(f"care tasks in the database: {CareTask.objects.count():,}")


if __name__ == "__main__":
    main()
