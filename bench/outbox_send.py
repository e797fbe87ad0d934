"""How many messages per second the sender pushes through the fake Aliyun gateway.

    .venv/bin/python bench/outbox_send.py --messages 20000            # PostgreSQL crm_bench_outbox
    .venv/bin/python bench/outbox_send.py --messages 5000 --sqlite    # a temporary SQLite file

Not a test: it measures. N queued SMS messages (one per customer, service
reminders, so the marketing cap does not thin them) are bulk-inserted, untimed;
then one ``outbox_send`` run drains them through the real Aliyun backend
(signed requests over HTTP with keep-alive) to a local fake gateway that checks
every signature. The gateway runs in its own process, as a real one would: in
the sender's process it would compete with the sender for the interpreter.
Printed: messages sent, seconds, messages per second, and that the gateway
received each message exactly once.
"""

import argparse
import datetime
import multiprocessing
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--sqlite", action="store_true")
    parser.add_argument("--batch-size", type=int, default=None, help="default: CRM_OUTBOX_BATCH_SIZE")
    parser.add_argument("--concurrency", type=int, default=None, help="default: CRM_OUTBOX_CONCURRENCY")
    return parser.parse_args()


def fill(n: int, send_after: datetime.datetime) -> None:
    from care.models import Outbox
    from crm.models import Dealership
    from customers.models import Customer

    store = Dealership.objects.create(code="bench", name="浦东4S店")
    Customer.objects.bulk_create(
        (Customer(dealership=store, name=f"客户{i}", phone=f"139{i:08d}") for i in range(n)), batch_size=5000
    )
    customers = Customer.objects.order_by("pk").values_list("pk", "name", "phone")
    Outbox.objects.bulk_create(
        (
            Outbox(
                dealership=store,
                customer_id=pk,
                kind="maintenance",
                purpose="service",
                channel="sms",
                recipient=phone,
                template_key="maintenance/1",
                template_code="SMS_200001",
                params=[["name", name], ["plate", "沪A12345"], ["due_date", "2026-12-01"]],
                body=f"【浦东4S店】{name}您好，您的爱车沪A12345预计2026-12-01前后需要保养。",
                send_after=send_after,
            )
            for pk, name, phone in customers.iterator(chunk_size=5000)
        ),
        batch_size=5000,
    )


def serve_gateway(urls, stop, received) -> None:
    """The fake gateway in a child process: its URL out, then the OutIds it accepted."""
    from tests.care.fake_gateway import FakeAliyunGateway

    with FakeAliyunGateway(access_key_id="bench-id", secret="bench-secret") as gateway:
        urls.put(gateway.url)
        stop.wait()
        received.put(gateway.sent_out_ids())


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(ROOT))
    from bench._database import fresh_database, start_django

    fresh_database("crm_bench_outbox", sqlite=args.sqlite)

    # Forked before Django opens any connection.
    context = multiprocessing.get_context("fork")
    urls, received, stop = context.Queue(), context.Queue(), context.Event()
    gateway = context.Process(target=serve_gateway, args=(urls, stop, received), daemon=True)
    gateway.start()
    gateway_url = urls.get(timeout=30)

    start_django()
    from django.conf import settings
    from django.db import connection

    from care.messaging.services import outbox_send
    from care.models import Outbox

    # Ten in the morning, outside quiet hours, whatever the clock says.
    ten_am = datetime.datetime(2026, 11, 23, 2, tzinfo=datetime.UTC)  # 10:00 in Shanghai
    fill(args.messages, ten_am)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    if args.batch_size:
        settings.CRM_OUTBOX_BATCH_SIZE = args.batch_size
    if args.concurrency:
        settings.CRM_OUTBOX_CONCURRENCY = args.concurrency

    path = "care.messaging.aliyun.AliyunSmsBackend"
    settings.CRM_MESSAGE_BACKENDS = {**settings.CRM_MESSAGE_BACKENDS, "sms": path}
    settings.CRM_MESSAGE_BACKEND_OPTIONS = {
        path: {"access_key_id": "bench-id", "access_key_secret": "bench-secret", "endpoint": gateway_url}
    }
    started = time.perf_counter()
    report = outbox_send(now=ten_am, max_seconds=3600)
    elapsed = time.perf_counter() - started
    stop.set()
    received_ids = received.get(timeout=60)
    gateway.join(timeout=30)

    sent = Outbox.objects.filter(status="sent").count()
    print(
        f"{connection.vendor}: {report.sent:,} messages sent in {elapsed:.2f} s = "
        f"{report.sent / elapsed:,.0f} messages/s "
        f"(batch {settings.CRM_OUTBOX_BATCH_SIZE}, {settings.CRM_OUTBOX_CONCURRENCY} gateway calls at once, "
        f"{report.batches} batches)"
    )
    print(
        f"gateway received {len(received_ids):,} messages, {len(set(received_ids)):,} distinct; "
        f"rows sent {sent:,} of {args.messages:,}"
    )


if __name__ == "__main__":
    main()
