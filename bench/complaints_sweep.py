"""Time the 15-minute complaint SLA sweep on N open cases, beside a reference.

    .venv/bin/python bench/complaints_sweep.py --cases 20000            # PostgreSQL crm_bench_sweep
    .venv/bin/python bench/complaints_sweep.py --cases 5000 --sqlite     # a temporary SQLite file

Not a test: it measures. The cases are bulk-inserted with their clocks set
(not timed): a third breached on response, a third due soon, a third on
track. Then the sweep runs three times at the same moment: the first
escalates every breach (the events, notifications and e-mails written), the
second and third find nothing to escalate. The reference, timed in the same
run on the same rows, is one hand-written UPDATE that touches every open
case once (what any set-based sweep costs at least); the ratio is printed.
"""

import argparse
import datetime
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.datetime(2026, 11, 23, 10, 0, tzinfo=datetime.UTC)


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--sqlite", action="store_true")
    return parser.parse_args()


def fill(n: int) -> None:
    from complaints.models import Complaint, ComplaintCategory
    from crm.models import Dealership, User
    from customers.models import Customer

    stores = Dealership.objects.bulk_create([Dealership(code=f"s{i}", name=f"门店{i}") for i in range(10)])
    User.objects.bulk_create(
        [User(username=f"m{i}", role="manager", dealership=s, email=f"m{i}@example.com") for i, s in enumerate(stores)]
    )
    customers = Customer.objects.bulk_create(
        [Customer(dealership=stores[i % 10], name=f"客户{i}", phone=f"139{i:08d}") for i in range(n)],
        batch_size=5000,
    )
    category = ComplaintCategory.objects.get(code="other")
    hour = datetime.timedelta(hours=1)
    rows = []
    for i, customer in enumerate(customers):
        received = NOW - (30 if i % 3 == 0 else 3) * hour
        # Breached, due soon, on track: the due times relative to NOW.
        due = {0: NOW - hour, 1: NOW + hour, 2: NOW + 30 * hour}[i % 3]
        rows.append(
            Complaint(
                dealership_id=customer.dealership_id,
                number=f"TS-2026-{i:06d}",
                customer=customer,
                channel=Complaint.Channel.HOTLINE,
                category=category,
                description="bench",
                received_at=received,
                acknowledge_due=due,
                acknowledge_warn_at=due - 2 * hour,
                first_contact_due=due + hour,
                first_contact_warn_at=due - hour,
                resolution_due=due + 40 * hour,
                resolution_warn_at=due + 30 * hour,
            )
        )
    Complaint.objects.bulk_create(rows, batch_size=5000)


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench._database import fresh_database, start_django

    fresh_database("crm_bench_sweep", sqlite=args.sqlite)
    start_django()
    from django.conf import settings
    from django.db import connection, transaction
    from django.db.models import Count
    from django.test.utils import CaptureQueriesContext

    from complaints.models import Complaint, ComplaintEvent
    from complaints.services import complaints_sla_sweep
    from crm.models import Notification

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    started = time.perf_counter()
    fill(args.cases)
    print(f"{connection.vendor}: {args.cases:,} open cases filled in {time.perf_counter() - started:.1f} s (untimed)")

    # The reference: one UPDATE over every open case (a no-op write), in a transaction like the sweep's.
    started = time.perf_counter()
    with transaction.atomic():
        Complaint.objects.exclude(status=Complaint.Status.CLOSED).update(sla_state=Complaint.SlaState.ON_TRACK)
    reference = time.perf_counter() - started
    print(f"reference  {reference:6.3f} s  (one UPDATE of every open case)")

    for run in ("first", "second", "third"):
        with CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            report = complaints_sla_sweep(now=NOW)
            seconds = time.perf_counter() - started
        print(
            f"{run:6} sweep {seconds:6.3f} s  ({seconds / reference:4.1f}× the reference)  "
            f"escalated {report.escalated:,}  due soon {report.due_soon:,}  {len(queries.captured_queries)} statements"
        )
    states = dict(Complaint.objects.values_list("sla_state").annotate(n=Count("pk")).order_by())
    print(f"states {states}  events {ComplaintEvent.objects.filter(action='escalated').count():,}")
    print(f"notifications {Notification.objects.count():,}")


if __name__ == "__main__":
    main()
