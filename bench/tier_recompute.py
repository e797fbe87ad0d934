"""Time the nightly tier and churn recompute on N customers, and count its statements.

    .venv/bin/python bench/tier_recompute.py --customers 100000            # PostgreSQL crm_bench_tiers
    .venv/bin/python bench/tier_recompute.py --customers 10000 --sqlite     # a temporary SQLite file

Not a test: it measures. The database is dropped, migrated and filled with bulk
inserts (not timed): N customers over three stores, each with 0–8 repair
orders spread over three years (paid, warranty or insurer), one car each, and
some referrals. Then the recompute runs for a day (timed), and again for the
same day (a rerun changes nothing). The statement count of a run is printed:
it depends on the number of stores, not on N.
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
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--sqlite", action="store_true")
    return parser.parse_args()


def fill(n: int) -> int:
    from decimal import Decimal
    from zoneinfo import ZoneInfo

    from crm.models import Dealership
    from crm.validators import vin_check_digit
    from customers.models import Customer
    from service.models import RepairOrder
    from vehicles.models import Vehicle, VehicleModel

    rng = random.Random(7)
    sh = ZoneInfo("Asia/Shanghai")
    stores = [Dealership.objects.create(code=f"s{i}", name=f"门店{i}") for i in range(3)]
    model = VehicleModel.objects.create(
        brand="大众",
        name="朗逸",
        first_maintenance_km=5000,
        first_maintenance_months=6,
        maintenance_interval_km=10000,
        maintenance_interval_months=12,
        warranty_months=36,
        warranty_km=100000,
    )
    batch = 5000
    Customer.objects.bulk_create(
        (Customer(dealership=stores[i % 3], name=f"客户{i}", phone=f"139{i:08d}") for i in range(n)), batch_size=batch
    )
    ids = list(Customer.objects.order_by("pk").values_list("pk", "dealership_id"))
    # Referrals: one customer in twenty was brought by an earlier one of the same store.
    referred = [(pk, ids[rng.randrange(0, max(i, 1))][0]) for i, (pk, _) in enumerate(ids) if i and rng.random() < 0.05]
    for pk, by in referred:
        Customer.objects.filter(pk=pk).update(referred_by_id=by)

    def vin(i: int) -> str:
        body = f"LSV{i:014d}"
        return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]

    Vehicle.objects.bulk_create(
        (
            Vehicle(
                customer_id=pk,
                vin=vin(i),
                model=model,
                purchase_date=DAY - datetime.timedelta(days=rng.randrange(100, 3000)),
                km_per_day=Decimal(rng.choice(["15", "40", "80"])),
            )
            for i, (pk, _) in enumerate(ids)
        ),
        batch_size=batch,
    )
    cars = dict(Vehicle.objects.values_list("customer_id", "pk"))
    orders, number = [], 0
    for pk, store in ids:
        for _ in range(rng.choice([0, 1, 2, 3, 4, 5, 6, 8])):
            number += 1
            day = DAY - datetime.timedelta(days=rng.randrange(0, 1100))
            payer = rng.choices(["customer", "manufacturer", "insurer"], [7, 2, 1])[0]
            amount = Decimal(rng.randrange(200, 4000))
            orders.append(
                RepairOrder(
                    dealership_id=store,
                    customer_id=pk,
                    vehicle_id=cars[pk],
                    number=f"RO{number:08d}",
                    kind="maintenance" if payer == "customer" else "warranty",
                    payer=payer,
                    opened_at=datetime.datetime(day.year, day.month, day.day, 9, tzinfo=sh),
                    closed_at=datetime.datetime(day.year, day.month, day.day, 17, tzinfo=sh),
                    mileage=1000,
                    labor_amount=amount,
                    parts_amount=Decimal("0"),
                    total_amount=amount,
                )
            )
            if len(orders) >= batch:
                RepairOrder.objects.bulk_create(orders)
                orders = []
    RepairOrder.objects.bulk_create(orders)
    return number


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench._database import fresh_database, start_django

    fresh_database("crm_bench_tiers", sqlite=args.sqlite)

    start_django()
    from django.db import connection
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from analytics.services import tiers_recompute
    from customers.models import Customer

    started = time.perf_counter()
    orders = fill(args.customers)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(
        f"{connection.vendor}: {args.customers:,} customers, {orders:,} repair orders filled in "
        f"{time.perf_counter() - started:.1f} s (untimed)"
    )
    from django.conf import settings

    for label in ("first run", "rerun, same day"):
        started = time.perf_counter()
        report = tiers_recompute(day=DAY)
        elapsed = time.perf_counter() - started
        print(
            f"{label}: {elapsed:.2f} s ({settings.CRM_TIER_PARALLEL} stores at once); {report.tier_changes:,} tier "
            f"changes, {report.churn_changes:,} churn changes, {report.watched:,} watched"
        )
    # Statements are counted on one connection: one store after another.
    settings.CRM_TIER_PARALLEL = 1
    with CaptureQueriesContext(connection) as queries:
        tiers_recompute(day=DAY)
    print(f"statements of a run (3 stores, one after another): {len(queries.captured_queries)}")
    tiers = dict(Customer.objects.values_list("value_tier").annotate(n=Count("pk")).order_by())
    churn = dict(Customer.objects.values_list("churn_state").annotate(n=Count("pk")).order_by())
    print(f"tiers {dict(sorted(tiers.items()))}; churn {dict(sorted(churn.items()))}")


if __name__ == "__main__":
    main()
