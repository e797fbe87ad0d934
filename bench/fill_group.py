"""Fill a dealer group's data on PostgreSQL by COPY, and time it.

    .venv/bin/python bench/fill_group.py                   # 200 stores, 600,000 customers, 1,000,000 cars,
                                                           # 10,000,000 repair orders into crm_bench_group
    .venv/bin/python bench/fill_group.py --stores 10 --customers 30000 --vehicles 50000 --orders 500000 \\
        --db crm_bench_group_small                         # a quick check

Not a test: it measures. The database is dropped, created and migrated; the
big tables lose their indexes and constraints (primary keys included); worker
processes (one per core) draw the customers, cars and repair orders the way
the demo does (bench/_group_rows.py) into COPY text files; the files are
loaded with COPY ... FREEZE while the smaller tables' indexes are built, then
every index and constraint is rebuilt on two sessions (bench/_group_load.py),
the surveys, touches and complaints are drawn from a sample of the orders
(bench/_group_extras.py), and everything is analysed. Printed: each phase's
time, the rows per table, the database's size, and a reference measured in the
same run (a plain COPY of as many narrow rows as there are repair orders, and
a count of the orders), since this machine's timings drift by up to 1.6×.

Repair orders span the last ~3 years (the demo's longest "last visit" reach);
the demo's behaviours give about five visits per car in that time, so to reach
--orders the fill adds visits between the demo's (repairs, accessories,
events), steered so each worker ends on its exact count.
"""

import argparse
import atexit
import datetime
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Tables loaded in bulk: their indexes and constraints are dropped and rebuilt.
BIG_TABLES = [
    "service_repairorder",
    "vehicles_vehicle",
    "vehicles_mileagereading",
    "customers_customer",
    "service_insurancepolicy",
    "loyalty_membershipcard",
    "customers_churnevent",
]
FILE_TABLES = {
    "orders": "service_repairorder",
    "vehicles": "vehicles_vehicle",
    "readings": "vehicles_mileagereading",
    "customers": "customers_customer",
    "policies": "service_insurancepolicy",
    "cards": "loyalty_membershipcard",
    "churn": "customers_churnevent",
}
PILOT_CUSTOMERS = 1000


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stores", type=int, default=200)
    parser.add_argument("--customers", type=int, default=600_000)
    parser.add_argument("--vehicles", type=int, default=1_000_000)
    parser.add_argument("--orders", type=int, default=10_000_000)
    parser.add_argument("--db", default="crm_bench_group")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="processes drawing rows")
    parser.add_argument("--sessions", type=int, default=2, help="database sessions loading and indexing")
    parser.add_argument("--today", type=datetime.date.fromisoformat, default=None, help="default: today in Shanghai")
    parser.add_argument("--lines", action="store_true", help="also write repair lines (about two per order)")
    parser.add_argument("--tmp", default=None, help="where the COPY files go (default: a temporary directory)")
    return parser.parse_args()


class Clock:
    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.phases: list[tuple[str, float]] = []

    def phase(self, name: str, started: float) -> float:
        seconds = time.perf_counter() - started
        self.phases.append((name, seconds))
        print(f"  {name:<44} {seconds:7.1f} s", flush=True)
        return time.perf_counter()


def small_tables(args, today):
    """Stores (the demo's three, repeated), their advisors and manager, technicians, the catalogue."""
    import random

    from django.contrib.auth.hashers import make_password

    from bench._group_rows import ModelRow, StoreRow
    from crm.models import Dealership, User
    from demo import data
    from demo.services.rows import numbered
    from service.models import Technician
    from vehicles.models import VehicleModel

    rng = random.Random(f"fill-group-stores:{args.seed}")
    specs = data.STORES
    stores = []
    for k in range(args.stores):
        spec = specs[k % len(specs)]
        n = k // len(specs) + 1
        stores.append(
            Dealership(
                code=spec.code if n == 1 else f"{spec.code}{n}",
                name=spec.name if n == 1 else spec.name.replace("4S店", f"{n}号4S店"),
                city=spec.city,
                address=spec.address,
                booking_phone=spec.booking_phone,
                rescue_phone=spec.rescue_phone,
                open_weekdays=spec.open_weekdays,
            )
        )
    stores = Dealership.objects.bulk_create(stores)
    advisors_per_store = max(data.ADVISORS_PER_STORE, round(args.customers / max(args.stores, 1) / 400))
    password = make_password(data.DEMO_PASSWORD)

    # Staff phones come after every customer's in the same unique sequence.
    def phone(index: int) -> str:
        prefixes = data.MOBILE_PREFIXES
        return f"{prefixes[index % len(prefixes)]}{(index // len(prefixes) * 73_939_133 + 12_345_678) % 10**8:08d}"

    def person() -> tuple[str, str]:
        male = rng.random() < 0.5
        chars = data.MALE_GIVEN if male else data.FEMALE_GIVEN
        surname = rng.choices(*zip(*data.SURNAMES, strict=True))[0]
        return surname, "".join(rng.choice(chars) for _ in range(2 if rng.random() < 0.7 else 1))

    users, staff_index = [], args.customers
    last, first = person()
    users.append(
        User(
            username="admin",
            password=password,
            role=User.Role.ADMIN,
            is_staff=True,
            is_superuser=True,
            last_name=last,
            first_name=first,
            phone=phone(staff_index),
        )
    )
    by_store: dict[int, list[User]] = {}
    for index, store in enumerate(stores):
        for n in range(index * advisors_per_store + 1, (index + 1) * advisors_per_store + 1):
            staff_index += 1
            last, first = person()
            user = User(
                username=numbered("advisor", n),
                password=password,
                role=User.Role.ADVISOR,
                dealership=store,
                last_name=last,
                first_name=first,
                phone=phone(staff_index),
            )
            users.append(user)
            by_store.setdefault(store.pk, []).append(user)
        staff_index += 1
        last, first = person()
        users.append(
            User(
                username=numbered("manager", index + 1),
                password=password,
                role=User.Role.MANAGER,
                dealership=store,
                is_staff=True,
                last_name=last,
                first_name=first,
                phone=phone(staff_index),
            )
        )
    User.objects.bulk_create(users)
    technicians = Technician.objects.bulk_create(
        [
            Technician(dealership=store, name="".join(person()), code=f"{store.code.upper()}-{n:02d}")
            for store in stores
            for n in range(1, data.TECHNICIANS_PER_STORE + 1)
        ]
    )
    teams: dict[int, list[int]] = {}
    for technician in technicians:
        teams.setdefault(technician.dealership_id, []).append(technician.pk)
    models = VehicleModel.objects.bulk_create(
        [
            VehicleModel(
                brand=spec.brand,
                name=spec.name,
                vehicle_class=spec.vehicle_class,
                energy=spec.energy,
                first_maintenance_km=spec.first_maintenance_km,
                first_maintenance_months=spec.first_maintenance_months,
                maintenance_interval_km=spec.maintenance_interval_km,
                maintenance_interval_months=spec.maintenance_interval_months,
                warranty_months=spec.warranty_months,
                warranty_km=spec.warranty_km,
            )
            for spec in data.MODELS
        ]
    )
    store_rows = tuple(
        StoreRow(
            id=store.pk,
            code=store.code,
            spec_index=k % len(specs),
            weight=specs[k % len(specs)].weight * rng.uniform(0.6, 1.4),
            advisors=tuple(u.pk for u in by_store[store.pk]),
            technicians=tuple(teams[store.pk]),
        )
        for k, store in enumerate(stores)
    )
    model_rows = tuple(ModelRow(id=m.pk, spec_index=i) for i, m in enumerate(models))
    return store_rows, model_rows, len(users), len(technicians)


def tier_policy():
    from django.conf import settings

    from bench._group_rows import Policy
    from customers.models import TierPolicy

    p = TierPolicy.objects.filter(dealership__isnull=True).first() or TierPolicy()
    return Policy(
        window_months=p.window_months,
        weights=(
            p.weight_spend,
            p.weight_visits,
            p.weight_recency,
            p.weight_paid_share,
            p.weight_tenure,
            p.weight_referrals,
        ),
        spend_target=float(p.spend_target),
        visits_target=p.visits_target,
        tenure_target_years=p.tenure_target_years,
        a_min_score=p.a_min_score,
        a_min_visits=p.a_min_visits,
        a_min_paid_share=p.a_min_paid_share,
        c_visit_cycle_months=p.c_visit_cycle_months,
        at_risk_months=p.at_risk_months,
        lost_months=p.lost_months,
        default_km_per_day=settings.CRM_DEFAULT_KM_PER_DAY,
    )


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench._database import SERVER, fresh_database, start_django

    today = args.today or datetime.datetime.now(SHANGHAI).date()
    clock = Clock()
    print(
        f"fill_group: {args.stores:,} stores, {args.customers:,} customers, {args.vehicles:,} cars, "
        f"{args.orders:,} repair orders into {args.db} (today {today}, {args.workers} workers, "
        f"{args.sessions} sessions); disk free before: {shutil.disk_usage('/work').free / 2**30:.1f} GiB",
        flush=True,
    )
    t = time.perf_counter()
    fresh_database(args.db, sqlite=False)
    start_django()
    t = clock.phase("create and migrate the database", t)

    import psycopg
    from django.db import connection, connections

    from bench._group_extras import build_extras
    from bench._group_load import Pool, Schema, Task, connect, copy_files, rebuild_tasks
    from bench._group_rows import FILES, Job, Slice, constant_columns, run_slice
    from demo.services.behaviour import BEHAVIOURS

    url = f"{SERVER}/{args.db}"
    stores, models, users, technicians = small_tables(args, today)
    policy = tier_policy()
    t = clock.phase(f"stores, {users:,} staff, {technicians:,} technicians", t)

    conn = connect(url)
    python, copied, rows = reference(conn, args.orders)
    print(
        f"  reference before (untimed): formatting {rows:,} narrow rows in Python {python:.1f} s CPU, "
        f"their plain COPY {copied:.1f} s",
        flush=True,
    )
    t = time.perf_counter()
    if args.lines:
        BIG_TABLES.append("service_repairline")
    schema = Schema.read(conn, list(BIG_TABLES))
    schema.drop(conn)
    t = clock.phase("drop " + ", ".join(f"{n} {k}" for k, n in schema.count().items()), t)

    now_text = datetime.datetime.now(SHANGHAI).isoformat()
    constants, columns = {}, {}
    for name, (model, drawn) in FILES.items():
        extra, constants[name] = constant_columns(model, drawn, now_text)
        columns[name] = [*drawn, *extra]
    window_days = max(b.last_visit_days_ago[1] for b in BEHAVIOURS)
    directory = Path(tempfile.mkdtemp(prefix=f"{args.db}-", dir=args.tmp))
    # The files are gigabytes at full size: gone even when the fill fails.
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    base = {
        "seed": args.seed,
        "today": today,
        "window_days": window_days,
        "stores": stores,
        "models": models,
        "policy": policy,
        "constants": constants,
    }
    # The demo's rhythm gives this many visits per car inside the window; the
    # rest of --orders are visits added between them.
    pilot_cars = max(round(PILOT_CUSTOMERS * args.vehicles / max(args.customers, 1)), 1)
    pilot_dir = Path(tempfile.mkdtemp(prefix="pilot-", dir=directory))
    pilot = Slice(
        Job(
            worker=0,
            workers=1,
            density=1.0,
            customers=PILOT_CUSTOMERS,
            first_customer=0,
            vehicles=pilot_cars,
            first_vehicle=0,
            orders=0,
            directory=str(pilot_dir),
            pilot=True,
            **base,
        )
    ).run()
    shutil.rmtree(pilot_dir)
    natural = pilot.natural_visits / max(pilot.vehicles, 1)
    density = args.orders / max(args.vehicles, 1) / max(natural, 0.01)
    t = clock.phase(f"pilot: {natural:.2f} demo visits per car in {window_days} days, density ×{density:.2f}", t)

    def share(total: int, w: int) -> tuple[int, int]:
        low, high = total * w // args.workers, total * (w + 1) // args.workers
        return low, high - low

    jobs = []
    for w in range(args.workers):
        first_customer, customers = share(args.customers, w)
        first_vehicle, vehicles = share(args.vehicles, w)
        _first_order, orders = share(args.orders, w)
        jobs.append(
            Job(
                worker=w,
                workers=args.workers,
                density=density,
                customers=customers,
                first_customer=first_customer,
                vehicles=vehicles,
                first_vehicle=first_vehicle,
                orders=orders,
                directory=str(directory),
                **base,
            )
        )
    connections.close_all()
    with multiprocessing.get_context("fork").Pool(args.workers) as pool:
        counts = pool.map(run_slice, jobs)
    drawn = {
        name: sum(getattr(c, field) for c in counts)
        for name, field in (
            ("customers", "customers"),
            ("vehicles", "vehicles"),
            ("readings", "readings"),
            ("orders", "orders"),
            ("policies", "policies"),
            ("cards", "cards"),
            ("churn", "churn_events"),
        )
    }
    size = sum(p.stat().st_size for p in directory.iterdir())
    t = clock.phase(f"draw rows into files ({size / 2**30:.2f} GiB, {args.workers} processes)", t)

    # Load and rebuild, on ``sessions`` sessions: the orders' COPY goes first
    # (the longest), the other tables load and index meanwhile.
    def files(name: str) -> list[Path]:
        if name == "orders":
            months = sorted({m for c in counts for m in c.months})
            paths = [directory / f"orders_{m:03d}.w{w}.tsv" for m in months for w in range(args.workers)]
        else:
            paths = [directory / f"{name}.w{w}.tsv" for w in range(args.workers)]
        return [p for p in paths if p.exists()]

    sizes = {FILE_TABLES[name]: drawn[name] for name in FILE_TABLES}
    tasks, loaded = [], {}
    for name, table in FILE_TABLES.items():
        loaded[table] = f"load {table}"
        tasks.append(Task(f"load {table}", copy_files(table, columns[name], files(name)), weight=1e12 + sizes[table]))
    if args.lines:
        from bench._group_extras import lines_task

        loaded["service_repairline"] = "load service_repairline"
        sizes["service_repairline"] = 2 * args.orders
        tasks.append(Task("load service_repairline", lines_task(), ("load service_repairorder",), weight=1e11))

    def extras(session: psycopg.Connection) -> dict:
        try:
            return build_extras(session, today=today, window_days=window_days, orders=args.orders, seed=args.seed)
        finally:
            connections.close_all()

    tasks.append(
        Task("extras", extras, ("load service_repairorder", "load customers_customer"), weight=args.orders * 1.5)
    )
    tasks += rebuild_tasks(schema, loaded, sizes, late=("extras",))
    started = time.perf_counter()
    done = Pool(url, args.sessions).run(tasks)
    t = clock.phase(f"COPY, indexes, constraints, extras ({args.sessions} sessions)", t)
    shutil.rmtree(directory, ignore_errors=True)
    groups: dict[str, list[float]] = {}
    for task in done.values():
        kind = task.name.split(" ")[0]
        groups.setdefault(kind, []).append(task.seconds)
    for kind, seconds in groups.items():
        print(f"      {kind:<10} {len(seconds):3d} statements, {sum(seconds):7.1f} s of session time")
    slowest = sorted(done.values(), key=lambda task: -task.seconds)[:10]
    print("      slowest: " + ", ".join(f"{task.name} {task.seconds:.1f} s" for task in slowest))
    del started

    with connection.cursor() as cursor:
        for table in ("customers_customer", "vehicles_vehicle"):
            cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        # The big tables were analysed as they were finished; the small ones now.
        cursor.execute(
            "ANALYZE crm_dealership, crm_user, service_technician, vehicles_vehiclemodel, "
            "service_vehiclestatswatermark, complaints_complaintcounter, care_contact_tasks"
        )
    from service.models import RepairOrder, VehicleStatsWatermark
    from vehicles.models import MileageReading

    # The cars' figures are written with the cars: the morning refresh starts after them.
    VehicleStatsWatermark.objects.update_or_create(
        pk=1,
        defaults={
            "last_reading_id": MileageReading.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            "last_repair_order_id": RepairOrder.objects.order_by("-pk").values_list("pk", flat=True).first() or 0,
            "refreshed_at": datetime.datetime.now(SHANGHAI),
        },
    )
    t = clock.phase("ANALYZE, sequences, figures watermark", t)
    total = sum(seconds for _name, seconds in clock.phases)
    print(f"  {'total':<44} {total:7.1f} s   (without create and migrate: {total - clock.phases[0][1]:.1f} s)")

    report(conn, args, done["extras"].result)
    conn.close()


def reference(conn, orders: int) -> tuple[float, float, int]:
    """The machine's speed now: formatting as many narrow rows as there are
    repair orders in Python (the workers' kind of work) and their plain COPY
    into a fresh logged table (the sessions' kind). Timings on this machine
    drift by up to 1.6× between runs: compare the fill against these."""
    chunk_rows = min(1_000_000, orders)
    chunks = max(orders // chunk_rows, 1)
    started = time.process_time()
    for _ in range(chunks):
        chunk = "".join(f"{i}\t{i * 7}\n" for i in range(chunk_rows)).encode()
    python = time.process_time() - started
    conn.execute("DROP TABLE IF EXISTS bench_reference")
    conn.execute("CREATE TABLE bench_reference (a bigint, b bigint)")
    started = time.perf_counter()
    with conn.cursor() as cursor, cursor.copy("COPY bench_reference (a, b) FROM STDIN") as copy:
        for _ in range(chunks):
            copy.write(chunk)
    copied = time.perf_counter() - started
    conn.execute("DROP TABLE bench_reference")
    return python, copied, chunks * chunk_rows


def report(conn, args, extras: dict) -> None:
    """Rows per table, the database's size, the reference, and the ORM reads."""
    print("rows:")
    tables = [*BIG_TABLES, *extras, "crm_dealership", "crm_user", "service_technician"]
    for table in tables:
        n = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
        print(f"  {table:<32} {n:>12,}")
    size = conn.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    biggest = conn.execute(
        """
        SELECT relname, pg_total_relation_size(oid), pg_relation_size(oid) FROM pg_class
        WHERE relkind = 'r' AND relnamespace = 'public'::regnamespace ORDER BY 2 DESC LIMIT 4
        """
    ).fetchall()
    print(
        f"database {args.db}: {size / 2**30:.2f} GiB; "
        + ", ".join(f"{name} {total / 2**30:.2f} GiB ({heap / 2**30:.2f} heap)" for name, total, heap in biggest)
    )
    print(f"disk free after: {shutil.disk_usage('/work').free / 2**30:.1f} GiB")

    python, copied, rows = reference(conn, args.orders)
    started = time.perf_counter()
    n = conn.execute("SELECT count(*) FROM service_repairorder").fetchone()[0]
    counted = time.perf_counter() - started
    print(
        f"reference after: formatting {rows:,} narrow rows in Python {python:.1f} s CPU, their plain COPY "
        f"{copied:.1f} s; SELECT count(*) of {n:,} repair orders {counted:.2f} s"
    )

    # Does the application read it? A few ORM reads, and the constraints are all valid.
    from django.core.management import call_command
    from django.db.models import Count

    from crm.fields import id_number_digest
    from customers.models import Customer
    from service.models import RepairOrder

    call_command("check", verbosity=0)
    busiest = list(RepairOrder.objects.values("dealership__code").annotate(n=Count("pk")).order_by("-n")[:3])
    customer = Customer.objects.exclude(id_number="").filter(value_tier="A").order_by("pk").first()
    same = Customer.objects.filter(id_number_hash=id_number_digest(customer.id_number)).count()
    orders = customer.repair_orders.order_by("-opened_at")
    invalid = conn.execute("SELECT count(*) FROM pg_constraint WHERE NOT convalidated").fetchone()[0]
    duplicate_phones = conn.execute(
        "SELECT count(*) FROM (SELECT phone FROM customers_customer GROUP BY phone HAVING count(*) > 1) d"
    ).fetchone()[0]
    print(
        "ORM: orders per store (busiest) "
        + ", ".join(f"{row['dealership__code']} {row['n']:,}" for row in busiest)
        + f"; customer {customer.pk} {customer.name} tier {customer.value_tier}/{customer.churn_state}, "
        f"ID {customer.id_number_masked} (found by its blind index: {same}), {customer.vehicles.count()} cars, "
        f"{orders.count()} orders, last {orders.first().opened_at:%Y-%m-%d}; "
        f"constraints not validated: {invalid}; duplicate mobiles: {duplicate_phones}"
    )


if __name__ == "__main__":
    main()
