"""Time the club's night (``loyalty_nightly``) at 100,000 customers and ~1,000,000 repair orders.

    .venv/bin/python bench/club_nightly.py                          # PostgreSQL crm_bench_club
    .venv/bin/python bench/club_nightly.py --customers 5000 --sqlite  # a temporary SQLite file
    .venv/bin/python bench/club_nightly.py --reuse --slowest 5        # from a copy of the last fill
    .venv/bin/python bench/club_nightly.py --reuse --explain 0.3      # plans of the slow statements

Not a test: it measures. The database is dropped, migrated and filled (the orders
by COPY on PostgreSQL, the rest by bulk_create; not timed): customers over three stores,
about ten closed repair orders each over three years (mixed kinds and payers,
about 70 % customer-paid), 40 % of them holding an active card (mixed levels,
start days spread, some upgraded from an older card), insurance policies,
referrals and club event attendances. Then three runs are timed:

1. the first night (``DAY - 1``), which earns the backlog of the whole history;
2. the next, ordinary night (``DAY``), after a day's new orders (~1 % of the
   customers), late closings, corrections and voids, new buyers, referrals,
   attendances and policies;
3. reruns of that night, which must write nothing.

Each run prints its time, its statement count and the rows it wrote. A plain
full scan of the orders is timed alongside as a reference: the machine's
speed drifts, compare the ratios between runs.
"""

import argparse
import datetime
import random
import sys
import time
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DAY = datetime.date(2026, 11, 23)  # the ordinary night
STORES = 3
FILLED = "crm_bench_club_filled"
STATE = Path("/tmp") / f"{FILLED}.pickle"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--orders-per-customer", type=int, default=10, help="on average, over three years")
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--slowest", type=int, default=0, help="print each run's N slowest statements")
    parser.add_argument(
        "--explain",
        type=float,
        default=None,
        metavar="SECONDS",
        help="PostgreSQL: print EXPLAIN ANALYZE of the statements slower than this (the timings then include it)",
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help=f"PostgreSQL: start from a copy of the last fill ({FILLED}) instead of filling again; made when missing",
    )
    return parser.parse_args()


# --- Filling (untimed) -------------------------------------------------------------------------
KINDS = [  # (kind, weight, payer choices, amount range)
    ("maintenance", 40, [("customer", 97), ("internal", 3)], (300, 1500)),
    ("repair", 22, [("customer", 95), ("internal", 5)], (200, 6000)),
    ("warranty", 10, [("manufacturer", 100)], (200, 4000)),
    ("accident", 12, [("insurer", 85), ("customer", 15)], (800, 15000)),
    ("bodywork", 8, [("customer", 90), ("insurer", 10)], (300, 5000)),
    ("accessory", 5, [("customer", 100)], (100, 3000)),
    ("activity", 3, [("customer", 60), ("internal", 40)], (0, 300)),
]


def _weighted(rng: random.Random, pairs):
    values, weights = zip(*pairs, strict=True)
    return rng.choices(values, weights=weights)[0]


def _kind_table():
    """A pre-expanded table (100 rows) so picking a kind is one randrange."""
    table = []
    for kind, weight, payers, amounts in KINDS:
        table += [(kind, payers, amounts)] * weight
    return table


class Copier:
    """Rows into a table: COPY on PostgreSQL, executemany on SQLite."""

    def __init__(self, connection):
        self.connection = connection

    def write(self, table: str, columns: list[str], rows) -> int:
        rows = list(rows)
        if not rows:
            return 0
        cols = ", ".join(columns)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {table} ({cols}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({cols}) VALUES ({marks})", rows)
        return len(rows)


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    from zoneinfo import ZoneInfo

    return datetime.datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def _order_row(rng, kinds, *, store, number, vehicle, customer, opened, closed, mileage, voided=None):
    kind, payers, (low, high) = kinds[rng.randrange(100)]
    payer = _weighted(rng, payers)
    labour = Decimal(rng.randint(low * 40, high * 40)) / 100
    parts = Decimal(rng.randint(low * 60, high * 60)) / 100
    total = labour + parts
    return (store, number, vehicle, customer, kind, opened, closed, mileage, payer, "", labour, parts, total, voided)


ORDER_COLUMNS = [
    "dealership_id",
    "number",
    "vehicle_id",
    "customer_id",
    "kind",
    "opened_at",
    "closed_at",
    "mileage",
    "payer",
    "work_done",
    "labor_amount",
    "parts_amount",
    "total_amount",
    "voided_at",
]


def fill(n: int, per_customer: int, copier: Copier) -> dict:
    """The history up to the first night (``DAY - 1``); returns what the next day needs."""
    from crm.models import Dealership, User
    from crm.validators import vin_check_digit
    from customers.models import Customer
    from loyalty.models import ClubEvent, EventRegistration, MembershipCard, Referral
    from service.models import InsurancePolicy
    from vehicles.models import Vehicle, VehicleModel

    rng = random.Random(12)
    kinds = _kind_table()
    first_night = DAY - datetime.timedelta(days=1)
    history_from = first_night - datetime.timedelta(days=3 * 365)
    stores = Dealership.objects.bulk_create(
        [Dealership(code=f"c{i}", name=f"门店{i}", booking_phone="021-1", rescue_phone="400-1") for i in range(STORES)]
    )
    advisors = User.objects.bulk_create(
        [User(username=f"club{i}", role="advisor", dealership=stores[i % STORES]) for i in range(30)]
    )
    model = VehicleModel.objects.create(
        brand="大众",
        name="迈腾",
        vehicle_class="sedan",
        first_maintenance_km=7500,
        first_maintenance_months=6,
        maintenance_interval_km=10000,
        maintenance_interval_months=12,
        warranty_months=36,
        warranty_km=100000,
    )
    batch = 10_000
    customers: list[tuple[int, int]] = []  # (customer id, store id)
    vehicles: list[tuple[int, int, int, datetime.date, int]] = []  # (vehicle, customer, store, bought, km/day)
    for start in range(0, n, batch):
        size = min(batch, n - start)
        made = Customer.objects.bulk_create(
            [
                Customer(
                    dealership=stores[(start + i) % STORES],
                    advisor=advisors[(start + i) % 30],
                    name=f"会员{start + i}",
                    phone=f"138{start + i:08d}",
                    marketing_consent=(start + i) % 3 != 0,
                )
                for i in range(size)
            ]
        )
        cars = []
        for i, customer in enumerate(made):
            serial = start + i
            body = f"LSVCL2AT0NS{serial:06d}"
            bought = first_night - datetime.timedelta(days=rng.randrange(0, 8 * 365))
            cars.append(
                Vehicle(
                    customer=customer,
                    model=model,
                    vin=body[:8] + vin_check_digit(body) + body[9:],
                    plate_number=f"苏E{serial % 100000:05d}",
                    purchase_date=bought,
                    sold_here=rng.random() < 0.7,
                )
            )
        for car in Vehicle.objects.bulk_create(cars):
            customers.append((car.customer_id, car.customer.dealership_id))
            vehicles.append(
                (car.pk, car.customer_id, car.customer.dealership_id, car.purchase_date, rng.randint(20, 110))
            )

    # Repair orders: per car a number of visits spread over the three years
    # (never before it was bought), mileage growing with its km per day.
    number = 0
    orders = []
    for vehicle, customer, store, bought, kpd in vehicles:
        begin = max(history_from, bought)
        span = (first_night - begin).days
        if span <= 0:
            continue
        count = min(span // 20 + 1, max(0, int(rng.gauss(per_customer, per_customer / 3))))
        for day_offset in sorted(rng.randrange(span + 1) for _ in range(count)):
            opened_day = begin + datetime.timedelta(days=day_offset)
            opened = _at(opened_day, rng.randint(8, 16), rng.randrange(60))
            closed = opened + datetime.timedelta(hours=rng.randint(1, 6))
            roll = rng.random()
            if roll < 0.01:  # closed late: days after it was opened (still before the night)
                closed = min(opened + datetime.timedelta(days=rng.randint(2, 20)), _at(first_night, 18))
            elif roll < 0.013 and opened_day > first_night - datetime.timedelta(days=10):
                closed = None  # still open
            voided = closed + datetime.timedelta(days=1) if closed and rng.random() < 0.003 else None
            if voided and voided.date() > first_night:
                voided = None
            number += 1
            orders.append(
                _order_row(
                    rng,
                    kinds,
                    store=store,
                    number=f"RO{number:08d}",
                    vehicle=vehicle,
                    customer=customer,
                    opened=opened,
                    closed=closed,
                    mileage=max(1, kpd * (opened_day - bought).days),
                    voided=voided,
                )
            )
        if len(orders) >= 200_000:
            copier.write("service_repairorder", ORDER_COLUMNS, orders)
            orders = []
    copier.write("service_repairorder", ORDER_COLUMNS, orders)

    # Cards: 40 % of the customers hold an active one (60 % ordinary, 30 %
    # silver, 10 % gold), started any day of their level's validity plus a
    # month, so some expire on the first night and about 1/700 every night
    # after; a third of the silver ones replaced an older ordinary card.
    cards, previous = [], []
    years = {"ordinary": 2, "silver": 2, "gold": 3}
    from loyalty.services import add_years

    for serial, (customer, store) in enumerate(customers):
        if rng.random() >= 0.4:
            continue
        level = _weighted(rng, [("ordinary", 60), ("silver", 30), ("gold", 10)])
        valid_from = first_night - datetime.timedelta(days=rng.randrange(0, years[level] * 365 + 30))
        obtained = {"ordinary": "fee", "silver": "points", "gold": "points"}[level]
        card = MembershipCard(
            dealership_id=store,
            customer_id=customer,
            number=f"B{serial:08d}",
            level=level,
            obtained=obtained if level != "ordinary" or rng.random() < 0.5 else "bought_here",
            valid_from=valid_from,
            valid_until=add_years(valid_from, years[level]),
            fee_paid=Decimal("180") if obtained == "fee" else Decimal("0"),
        )
        cards.append(card)
        if level == "silver" and rng.random() < 1 / 3:
            old_from = valid_from - datetime.timedelta(days=rng.randint(60, 500))
            previous.append(
                (
                    card,
                    MembershipCard(
                        dealership_id=store,
                        customer_id=customer,
                        number=f"P{serial:08d}",
                        level="ordinary",
                        status=MembershipCard.Status.REPLACED,
                        obtained="fee",
                        valid_from=old_from,
                        valid_until=add_years(old_from, 2),
                        fee_paid=Decimal("180"),
                    ),
                )
            )
    MembershipCard.objects.bulk_create([old for _, old in previous], batch_size=batch)
    for card, old in previous:
        card.previous_id = old.pk
    MembershipCard.objects.bulk_create(cards, batch_size=batch)

    # Insurance placed here: about a quarter of the cars a year, for three years.
    policies = []
    for vehicle, customer, store, bought, _kpd in vehicles:
        for year in range(3):
            if rng.random() < 0.25:
                starts = history_from + datetime.timedelta(days=365 * year + rng.randrange(365))
                if starts > first_night or starts < bought:
                    continue
                policies.append(
                    InsurancePolicy(
                        dealership_id=store,
                        vehicle_id=vehicle,
                        customer_id=customer,
                        insurer=rng.choice(["平安", "人保", "太平洋"]),
                        kind=rng.choice(["commercial", "compulsory"]),
                        premium=Decimal(rng.randint(95000, 600000)) / 100,
                        starts_on=starts,
                        ends_on=add_years(starts, 1),
                    )
                )
    InsurancePolicy.objects.bulk_create(policies, batch_size=batch)

    # Referrals: 3 % of the customers brought someone of their store (a
    # referred customer is referred once; never themselves).
    by_store: dict[int, list[int]] = {}
    for customer, store in customers:
        by_store.setdefault(store, []).append(customer)
    referred_seen: set[int] = set()
    referrals = []
    for customer, store in customers:
        if rng.random() >= 0.03:
            continue
        friend = rng.choice(by_store[store])
        if friend == customer or friend in referred_seen:
            continue
        referred_seen.add(friend)
        created = _at(history_from + datetime.timedelta(days=rng.randrange(3 * 365)), 10)
        referrals.append(Referral(dealership_id=store, referrer_id=customer, referred_id=friend, created_at=created))
    Referral.objects.bulk_create(referrals, batch_size=batch)

    # Club events: two a month per store over the three years, 25 places,
    # mostly attended.
    events = ClubEvent.objects.bulk_create(
        [
            ClubEvent(
                dealership=store,
                title=f"车主课堂 {k}",
                starts_at=_at(history_from + datetime.timedelta(days=15 * k + 3), 14),
                capacity=25,
            )
            for store in stores
            for k in range(72)
        ]
    )
    registrations = []
    for event in events:
        members = rng.sample(by_store[event.dealership_id], 25)
        for customer in members:
            attended = rng.random() < 0.8
            registrations.append(
                EventRegistration(
                    event=event,
                    customer_id=customer,
                    status="attended" if attended else "registered",
                    attended_at=event.starts_at if attended else None,
                )
            )
    EventRegistration.objects.bulk_create(registrations, batch_size=batch)
    return {
        "stores": stores,
        "model": model,
        "vehicles": vehicles,
        "customers": customers,
        "by_store": by_store,
        "number": number,
        "referred": referred_seen,
        "rng": rng,
        "kinds": kinds,
    }


def add_next_day(state: dict, copier: Copier) -> dict[str, int]:
    """An ordinary day's new data before the night of ``DAY``: about 1 % of the
    customers close an order, a few orders opened weeks ago close late, a few
    old ones are corrected or voided, new buyers, referrals that confirm,
    attendances and policies."""
    from crm.validators import vin_check_digit
    from customers.models import Customer
    from loyalty.models import ClubEvent, EventRegistration, Referral
    from loyalty.services import add_years
    from service.models import InsurancePolicy, RepairOrder
    from vehicles.models import Vehicle

    rng, kinds = state["rng"], state["kinds"]
    vehicles = state["vehicles"]
    number = state["number"]
    new_orders = []
    visitors = max(1, len(vehicles) // 100)
    for vehicle, customer, store, bought, kpd in rng.sample(vehicles, visitors):
        opened = _at(DAY, rng.randint(8, 16), rng.randrange(60))
        late = rng.random() < 0.03  # opened weeks ago, closed today
        if late:
            opened -= datetime.timedelta(days=rng.randint(10, 40))
        number += 1
        new_orders.append(
            _order_row(
                rng,
                kinds,
                store=store,
                number=f"RO{number:08d}",
                vehicle=vehicle,
                customer=customer,
                opened=opened,
                closed=_at(DAY, 18),
                mileage=max(1, kpd * (DAY - bought).days),
            )
        )
    copier.write("service_repairorder", ORDER_COLUMNS, new_orders)
    # Corrections and voids of orders closed last month.
    recent = list(
        RepairOrder.objects.filter(
            closed_at__date__gte=DAY - datetime.timedelta(days=30), closed_at__date__lt=DAY, payer="customer"
        )
        .order_by("pk")
        .values_list("pk", flat=True)[: max(2, visitors // 25)]
    )
    half = len(recent) // 2
    RepairOrder.objects.filter(pk__in=recent[:half]).update(voided_at=_at(DAY, 11))
    for pk in recent[half:]:
        RepairOrder.objects.filter(pk=pk).update(labor_amount=Decimal("10.00"), total_amount=_parts_plus_10())
    # New buyers: a car bought here today for new customers.
    buyers = max(1, visitors // 30)
    store_ids = [s.pk for s in state["stores"]]
    made = Customer.objects.bulk_create(
        [Customer(dealership_id=store_ids[i % STORES], name=f"新车主{i}", phone=f"137{i:08d}") for i in range(buyers)]
    )
    cars = []
    for i, customer in enumerate(made):
        body = f"LSVNW2AT0NS{i:06d}"
        cars.append(
            Vehicle(
                customer=customer,
                model=state["model"],
                vin=body[:8] + vin_check_digit(body) + body[9:],
                plate_number=f"苏F{i:05d}",
                purchase_date=DAY,
                sold_here=True,
            )
        )
    Vehicle.objects.bulk_create(cars)
    # Referrals whose friend came today: recorded last week, the friend is
    # one of today's visitors or buyers.
    referred = state["referred"]
    today_customers = [row[3] for row in new_orders if row[8] == "customer"] + [c.pk for c in made]
    referrals = []
    for friend in today_customers[: max(1, visitors // 50)]:
        if friend in referred:
            continue
        friend_store = next(
            (row[0] for row in new_orders if row[3] == friend), made[0].dealership_id if made else store_ids[0]
        )
        candidates = state["by_store"][friend_store]
        referrer = rng.choice(candidates)
        if referrer == friend:
            continue
        referred.add(friend)
        referrals.append(
            Referral(
                dealership_id=friend_store,
                referrer_id=referrer,
                referred_id=friend,
                created_at=_at(DAY - datetime.timedelta(days=7), 10),
            )
        )
    Referral.objects.bulk_create(referrals)
    # Today's event at each store, attended.
    for store in state["stores"]:
        event = ClubEvent.objects.create(dealership=store, title="冬季用车讲座", starts_at=_at(DAY, 14), capacity=30)
        EventRegistration.objects.bulk_create(
            [
                EventRegistration(event=event, customer_id=c, status="attended", attended_at=_at(DAY, 14))
                for c in rng.sample(state["by_store"][store.pk], 20)
            ]
        )
    # Policies placed today.
    policies = [
        InsurancePolicy(
            dealership_id=store,
            vehicle_id=vehicle,
            customer_id=customer,
            insurer="平安",
            kind="commercial",
            premium=Decimal(rng.randint(95000, 600000)) / 100,
            starts_on=DAY,
            ends_on=add_years(DAY, 1),
        )
        for vehicle, customer, store, _bought, _kpd in rng.sample(vehicles, max(1, visitors // 10))
    ]
    InsurancePolicy.objects.bulk_create(policies)
    return {
        "orders": len(new_orders),
        "corrected": len(recent) - half,
        "voided": half,
        "buyers": len(made),
        "referrals": len(referrals),
        "attended": 20 * STORES,
        "policies": len(policies),
    }


def _parts_plus_10():
    from django.db.models import F, Value

    return F("parts_amount") + Value(Decimal("10.00"))


# --- Measuring ---------------------------------------------------------------------------------
def counts() -> dict[str, int]:
    from loyalty.models import CardEvent, MembershipCard, PointsEntry, Referral

    return {
        "points entries": PointsEntry.objects.count(),
        "cards": MembershipCard.objects.count(),
        "card events": CardEvent.objects.count(),
        "referrals rewarded": Referral.objects.filter(status=Referral.Status.REWARDED).count(),
    }


def reference() -> float:
    """A plain scan of every order: what the machine does in a second today."""
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*), sum(total_amount) FROM service_repairorder WHERE closed_at >= %s",
            [_at(DAY - datetime.timedelta(days=4 * 365), 0)],
        )
        cursor.fetchone()
    return time.perf_counter() - started


def _explaining(threshold: float):
    """An execute wrapper printing the plan of each statement slower than
    ``threshold``: run first under EXPLAIN ANALYZE in a savepoint rolled back,
    then for real."""

    def wrapper(execute, sql, params, many, context):
        cursor = context["cursor"].cursor  # the driver's: past the wrappers
        statement = sql.lstrip().startswith(("SELECT", "INSERT", "UPDATE")) and "UNNEST" not in sql
        if not many and statement and context["connection"].in_atomic_block:
            cursor.execute("SAVEPOINT bench_explain")
            cursor.execute(f"EXPLAIN (ANALYZE, COSTS off, TIMING on) {sql}", params)
            plan = [row[0] for row in cursor.fetchall()]
            cursor.execute("ROLLBACK TO SAVEPOINT bench_explain")
            total = float(plan[-1].split(":")[1].split()[0]) / 1000
            if total >= threshold:
                print(f"--- {total:.2f} s: {sql[:200]}")
                print("\n".join(plan))
        return execute(sql, params, many, context)

    return wrapper


def timed_night(label: str, day: datetime.date) -> None:
    import contextlib

    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from loyalty.services import loyalty_nightly

    before = counts()
    explain = (
        connection.execute_wrapper(_explaining(EXPLAIN))
        if EXPLAIN is not None and connection.vendor == "postgresql"
        else contextlib.nullcontext()
    )
    with explain, CaptureQueriesContext(connection) as queries:
        started = time.perf_counter()
        report = loyalty_nightly(day=day)
        seconds = time.perf_counter() - started
    after = counts()
    written = {name: after[name] - before[name] for name in before if after[name] != before[name]}
    earned = {str(k): v for k, v in sorted(report.earned.items()) if v}
    in_sql = sum(float(query["time"]) for query in queries.captured_queries)
    print(
        f"{label:<14} {seconds:6.2f} s  ({in_sql:.2f} s in SQL)  {len(queries):3d} statements  "
        f"joined {report.joined:,}, confirmed {report.confirmed:,}, earned {earned}, reversed {report.reversed:,}, "
        f"upgraded {report.upgraded:,}, lapsed {report.lapsed:,}; rows +{written}"
    )
    if SLOWEST:
        for query in sorted(queries.captured_queries, key=lambda q: -float(q["time"]))[:SLOWEST]:
            print(f"    {float(query['time']):6.2f} s  {query['sql'][:SQL_WIDTH]}")
    return seconds, queries


SLOWEST = 0
EXPLAIN = None
SQL_WIDTH = 300


def _filled_exists() -> bool:
    import psycopg

    from bench._database import SERVER

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [FILLED]).fetchone()
    return bool(found) and STATE.exists()


def _copy_database(source: str, target: str) -> None:
    import psycopg

    from bench._database import SERVER

    with psycopg.connect(f"{SERVER}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {target} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {target} TEMPLATE {source}")


def main() -> None:
    args = parse_args()
    global SLOWEST, EXPLAIN
    SLOWEST, EXPLAIN = args.slowest, args.explain
    sys.path.insert(0, str(ROOT))
    from bench._database import fresh_database, start_django

    started = time.perf_counter()
    reuse = args.reuse and not args.sqlite and _filled_exists()
    if reuse:
        _copy_database(FILLED, "crm_bench_club")
        import os
        import pickle

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings.local")
        os.environ["CRM_LOG_LEVEL"] = "WARNING"
        os.environ["DATABASE_URL"] = "postgres://postgres@127.0.0.1:5432/crm_bench_club"
        start_django()
        state = pickle.loads(STATE.read_bytes())
    else:
        fresh_database("crm_bench_club", sqlite=args.sqlite)
        start_django()
    from django.db import connection

    from service.models import RepairOrder

    copier = Copier(connection)
    if not reuse:
        state = fill(args.customers, args.orders_per_customer, copier)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if args.reuse and not reuse:
        import pickle

        connection.close()
        _copy_database("crm_bench_club", FILLED)
        STATE.write_bytes(pickle.dumps(state))
    from loyalty.models import MembershipCard

    print(
        f"{connection.vendor}: {args.customers:,} customers, {RepairOrder.objects.count():,} repair orders "
        f"({RepairOrder.objects.filter(payer='customer').exclude(kind='warranty').count():,} customer-paid), "
        f"{MembershipCard.objects.filter(status='active').count():,} active cards; "
        f"{'copied' if reuse else 'filled'} in {time.perf_counter() - started:.1f} s (untimed)"
    )
    print(f"reference      {reference():6.2f} s  (count and sum of every order's total: a plain scan)")

    timed_night("first night", DAY - datetime.timedelta(days=1))
    added = add_next_day(state, copier)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    print(f"next day added: {added}")
    timed_night("ordinary night", DAY)
    for _ in range(3):
        timed_night("rerun", DAY)
    print(f"reference      {reference():6.2f} s")


if __name__ == "__main__":
    main()
