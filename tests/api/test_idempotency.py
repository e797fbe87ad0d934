"""``Idempotency-Key`` on POST (crm/idempotency.py): a retry gets the stored
answer and writes nothing twice; the key with another request is a 409."""

import datetime
import hashlib
import json
import threading

import pytest
from django.db import connection, transaction
from django.test import Client

from care.models import Contact
from crm.idempotency import idempotency_records_purge
from crm.models import IdempotencyRecord
from customers.models import Customer
from service.models import RepairOrder
from tests.api.conftest import post
from tests.crm.factories import UserFactory
from tests.vehicles.factories import VehicleFactory

URL = "/api/v1/customers/"
GOOD = {"name": "韩梅梅", "phone": "13900001111", "city": "上海"}


def fingerprint(data: dict) -> str:
    """What the record keeps of a JSON body: the SHA-256 of its canonical form."""
    return hashlib.sha256(
        json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    ).hexdigest()


def keyed(client, url, data, key="dms-retry-1"):
    return post(client, url, data, HTTP_IDEMPOTENCY_KEY=key)


def test_a_retry_with_the_same_key_and_body_gets_the_stored_answer(api):
    first = keyed(api, URL, GOOD)
    assert first.status_code == 201, first.content
    assert "Idempotent-Replayed" not in first
    again = keyed(api, URL, GOOD)
    assert again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1
    record = IdempotencyRecord.objects.get()
    assert (record.method, record.path, record.status_code) == ("POST", URL, 201)


def test_the_same_json_in_another_key_order_is_the_same_request(api):
    keyed(api, URL, GOOD)
    reordered = api.post(
        URL,
        json.dumps(dict(reversed(list(GOOD.items()))), indent=2),
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY="dms-retry-1",
    )
    assert reordered.status_code == 201 and reordered["Idempotent-Replayed"] == "true"
    assert Customer.objects.count() == 1


def test_the_same_key_with_another_body_is_a_409_and_writes_nothing(api):
    keyed(api, URL, GOOD)
    response = keyed(api, URL, {**GOOD, "name": "李雷"})
    assert response.status_code == 409
    assert "another body" in response.json()["detail"]
    assert list(Customer.objects.values_list("name", flat=True)) == ["韩梅梅"]


def test_the_same_key_on_another_route_is_a_409(api, vehicle):
    keyed(api, URL, GOOD)
    response = keyed(api, f"/api/v1/vehicles/{vehicle.pk}/readings/", {"read_on": "2026-01-10", "mileage": 100})
    assert response.status_code == 409
    assert URL in response.json()["detail"]
    assert not vehicle.mileage_readings.exists()


def test_a_refused_request_keeps_no_answer_so_the_corrected_one_goes_through(api):
    refused = keyed(api, URL, {**GOOD, "phone": "12345"})
    assert refused.status_code == 400
    assert not IdempotencyRecord.objects.exists()
    accepted = keyed(api, URL, GOOD)
    assert accepted.status_code == 201
    assert Customer.objects.count() == 1


def test_keys_belong_to_their_user(api, client, dealership):
    keyed(api, URL, GOOD)
    colleague = Client()
    colleague.force_login(UserFactory(username="colleague", dealership=dealership))
    response = keyed(colleague, URL, {**GOOD, "phone": "13900002222"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert Customer.objects.count() == 2


def test_without_a_key_every_post_writes(api):
    assert post(api, URL, GOOD).status_code == 201
    assert post(api, URL, GOOD).status_code == 201
    assert Customer.objects.count() == 2


@pytest.mark.parametrize("key", ["", " ", "k" * 101])
def test_a_bad_key_is_a_400(api, key):
    response = keyed(api, URL, GOOD, key=key)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()
    assert not Customer.objects.exists()


def test_actions_are_idempotent_too(api, vehicle):
    order = post(
        api,
        "/api/v1/repair-orders/",
        {
            "vehicle": vehicle.pk,
            "number": "RO-1",
            "kind": "repair",
            "opened_at": "2026-05-06T09:30:00+08:00",
            "mileage": 100,
        },
    ).json()
    url = f"/api/v1/repair-orders/{order['id']}/close/"
    first = keyed(api, url, {"closed_at": "2026-05-06T16:00:00+08:00"}, key="close-1")
    again = keyed(api, url, {"closed_at": "2026-05-06T16:00:00+08:00"}, key="close-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"


def test_an_upsert_retried_after_a_timeout_makes_one_order(api, vehicle):
    data = {
        "vehicle": vehicle.pk,
        "number": "RO-9",
        "kind": "repair",
        "opened_at": "2026-05-06T09:30:00+08:00",
        "mileage": 100,
    }
    statuses = [keyed(api, "/api/v1/repair-orders/upsert/", data, key="ro-9").status_code for _ in range(3)]
    assert statuses == [201, 201, 201]  # the first answer, three times
    assert RepairOrder.objects.count() == 1


def test_a_record_left_unfinished_by_a_crash_is_taken_over(api, advisor):
    # A first attempt died after inserting its record: nothing of it was committed but the record.
    IdempotencyRecord.objects.create(
        user=advisor, key="dms-retry-1", method="POST", path=URL, body_sha256=fingerprint(GOOD)
    )
    response = keyed(api, URL, GOOD)
    assert response.status_code == 201
    assert Customer.objects.count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201


# --- Two requests at once (PostgreSQL: real row locks between connections) -------------------

postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="row locks between connections")


def _client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_a_request_while_the_first_is_in_progress_is_a_409(advisor):
    api = _client_for(advisor)
    # The first request's record is there and its handler holds the row lock …
    record = IdempotencyRecord.objects.create(
        user=advisor, key="dms-retry-1", method="POST", path=URL, body_sha256=fingerprint(GOOD)
    )
    locked, release = threading.Event(), threading.Event()

    def first_in_progress():
        try:
            with transaction.atomic():
                IdempotencyRecord.objects.select_for_update().get(pk=record.pk)
                locked.set()
                release.wait(10)
        finally:
            connection.close()

    holder = threading.Thread(target=first_in_progress)
    holder.start()
    try:
        assert locked.wait(10)
        # … so the retry is told to come back, and writes nothing.
        response = keyed(api, URL, GOOD)
        assert response.status_code == 409
        assert "still being handled" in response.json()["detail"]
        assert not Customer.objects.exists()
    finally:
        release.set()
        holder.join()
    # Once the first is done (here: it died without an answer), the retry goes through.
    assert keyed(api, URL, GOOD).status_code == 201
    assert Customer.objects.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_two_requests_with_one_key_at_once_write_once(advisor):
    car = VehicleFactory(customer__dealership=advisor.dealership)
    for round_ in range(6):
        data = {
            "vehicle": car.pk,
            "number": f"RO-{round_}",
            "kind": "repair",
            "opened_at": f"2026-05-0{round_ + 1}T09:30:00+08:00",
            "mileage": 100 + round_,
        }
        start = threading.Barrier(2)
        answers: list = []

        def send(data=data, start=start, answers=answers, round_=round_):
            client = _client_for(advisor)
            try:
                start.wait(5)
                response = keyed(client, "/api/v1/repair-orders/", data, key=f"race-{round_}")
                answers.append((response.status_code, response.json()))
            finally:
                connection.close()

        threads = [threading.Thread(target=send) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        statuses = sorted(status for status, _ in answers)
        assert statuses in ([201, 201], [201, 409]), answers
        created = [body for status, body in answers if status == 201]
        assert all(body == created[0] for body in created)  # a second 201 is the replay
        assert RepairOrder.objects.filter(number=f"RO-{round_}").count() == 1


def test_answers_older_than_a_day_are_purged(api, advisor):
    keyed(api, URL, GOOD)
    record = IdempotencyRecord.objects.get()
    # 23 h later the answer is kept; 25 h later it is gone and the key is new again.
    assert idempotency_records_purge(now=record.created_at + datetime.timedelta(hours=23)) == 0
    assert idempotency_records_purge(now=record.created_at + datetime.timedelta(hours=25)) == 1
    assert not IdempotencyRecord.objects.exists()


def test_the_higher_apps_posts_get_it_by_default(api, customer):
    data = {"customer": customer.pk, "channel": "wechat", "notes": "客户咨询保养价格"}
    first = keyed(api, "/api/v1/contacts/", data, key="contact-1")
    again = keyed(api, "/api/v1/contacts/", data, key="contact-1")
    assert first.status_code == again.status_code == 201, first.content
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Contact.objects.count() == 1


def test_the_purge_runs_nightly_from_beat(api, advisor):
    from django_celery_beat.models import PeriodicTask

    from crm.tasks import purge_idempotency_records_task

    entry = PeriodicTask.objects.get(task="crm.tasks.purge_idempotency_records_task")
    assert (entry.crontab.hour, entry.crontab.minute, entry.enabled) == ("3", "40", True)
    keyed(api, URL, GOOD)
    IdempotencyRecord.objects.update(created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))
    assert purge_idempotency_records_task.apply().get() == 1
    assert not IdempotencyRecord.objects.exists()
