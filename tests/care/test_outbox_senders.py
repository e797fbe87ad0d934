"""Real senders against the fake Aliyun gateway over HTTP: two at once send
each message exactly once; an outage loses nothing; a Celery worker on the
configured broker sends a queued message end to end."""

import datetime
import threading
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.utils import timezone

from care.messaging.services import outbox_send
from care.models import Outbox
from care.tasks import send_outbox_task
from tests.care.fake_gateway import FakeAliyunGateway
from tests.celery_worker import start_worker, stop_worker, wait_until
from tests.customers.factories import CustomerFactory

SH = ZoneInfo("Asia/Shanghai")
TEN_AM = datetime.datetime(2026, 6, 1, 10, tzinfo=SH)
ALIYUN = "care.messaging.aliyun.AliyunSmsBackend"


@pytest.fixture
def gateway(settings):
    with FakeAliyunGateway(access_key_id="test-id", secret="test-secret") as fake:
        settings.CRM_MESSAGE_BACKENDS = {**settings.CRM_MESSAGE_BACKENDS, "sms": ALIYUN}
        settings.CRM_MESSAGE_BACKEND_OPTIONS = {
            ALIYUN: {"access_key_id": "test-id", "access_key_secret": "test-secret", "endpoint": fake.url}
        }
        yield fake


def queue_messages(dealership, count: int, *, send_after=TEN_AM) -> list[int]:
    customers = [CustomerFactory(dealership=dealership, phone=f"1380000{n:04d}") for n in range(count)]
    rows = Outbox.objects.bulk_create(
        Outbox(
            dealership=dealership,
            customer=c,
            kind="maintenance",
            purpose="service",
            channel="sms",
            recipient=c.phone,
            template_key="maintenance/1",
            template_code="SMS_200001",
            params=[["name", c.name]],
            body=f"{c.name}您好，您的爱车需要保养了。",
            send_after=send_after,
        )
        for c in customers
    )
    return [row.pk for row in rows]


@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_senders_at_once_send_each_message_exactly_once(dealership, gateway):
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time; SKIP LOCKED claiming is PostgreSQL's")
    ids = queue_messages(dealership, 300)
    gateway.delay = 0.002  # a gateway round trip, so the two senders overlap
    start = threading.Barrier(2)
    reports = [None, None]

    def sender(n: int) -> None:
        try:
            start.wait()
            reports[n] = outbox_send(now=TEN_AM, batch_size=20)
        finally:
            connection.close()

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    out_ids = gateway.sent_out_ids()
    assert len(out_ids) == 300
    assert sorted(int(i) for i in out_ids) == sorted(ids)  # every message, none twice
    assert reports[0].sent + reports[1].sent == 300
    assert reports[0].sent > 0 and reports[1].sent > 0  # both really worked
    assert set(Outbox.objects.values_list("status", "attempts")) == {("sent", 1)}


def test_a_gateway_outage_queues_messages_and_loses_none(dealership, gateway, settings):
    ids = queue_messages(dealership, 30)
    gateway.down = True
    report = outbox_send(now=TEN_AM, batch_size=10)
    # The first batch met only errors: the sender stops instead of timing out on the rest.
    assert (report.claimed, report.sent, report.retrying) == (10, 0, 10)
    assert Outbox.objects.filter(status="queued").count() == 30

    gateway.down = False
    later = TEN_AM + datetime.timedelta(minutes=5)
    report = outbox_send(now=later, batch_size=10)
    assert report.sent == 30
    assert sorted(int(i) for i in gateway.sent_out_ids()) == sorted(ids)


def test_gateway_error_codes_end_as_retry_or_failure(dealership, gateway):
    ids = queue_messages(dealership, 3)
    limited, invalid, unapproved = Outbox.objects.filter(pk__in=ids).order_by("pk")
    gateway.invalid_numbers.add(invalid.recipient)
    Outbox.objects.filter(pk=unapproved.pk).update(template_code="SMS_NOT_APPROVED")
    gateway.unapproved_templates.add("SMS_NOT_APPROVED")
    gateway.rate_limit_next(1)
    # One at a time: the first meets the rate limit and the run stops there.
    assert outbox_send(now=TEN_AM, batch_size=1).retrying == 1
    outbox_send(now=TEN_AM, batch_size=1)
    outcome = {m.pk: (m.status, m.error_code) for m in Outbox.objects.all()}
    assert outcome[invalid.pk] == ("failed", "isv.MOBILE_NUMBER_ILLEGAL")
    assert outcome[unapproved.pk] == ("failed", "isv.SMS_TEMPLATE_ILLEGAL")
    assert outcome[limited.pk] == ("queued", "isv.BUSINESS_LIMIT_CONTROL")
    first = gateway.requests[0]
    assert (first["phone"], first["template_code"], first["out_id"]) == (
        limited.recipient,
        "SMS_200001",
        str(limited.pk),
    )
    assert first["template_param"] == {"name": limited.customer.name}


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_celery_worker_sends_a_queued_message_through_the_gateway(dealership, gateway):
    (pk,) = queue_messages(dealership, 1, send_after=timezone.now() - datetime.timedelta(minutes=1))
    worker = start_worker(
        CRM_SMS_BACKEND=ALIYUN,
        CRM_ALIYUN_SMS_ENDPOINT=gateway.url,
        CRM_ALIYUN_ACCESS_KEY_ID="test-id",
        CRM_ALIYUN_ACCESS_KEY_SECRET="test-secret",
        # The suite may run at night: no quiet hours for this worker.
        CRM_MESSAGE_QUIET_START="00:00",
        CRM_MESSAGE_QUIET_END="00:00",
    )
    try:
        send_outbox_task.delay()
        wait_until(lambda: Outbox.objects.filter(pk=pk, status="sent").exists(), worker, what="the sender")
    finally:
        stop_worker(worker)
    assert gateway.sent_out_ids() == [str(pk)]
    message = Outbox.objects.get(pk=pk)
    assert (message.backend, message.gateway_message_id) == ("aliyun", gateway.requests[0]["biz_id"])
