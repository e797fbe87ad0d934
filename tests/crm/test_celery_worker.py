"""A real Celery worker, on the broker this run is configured with (Redis when
REDIS_URL is set, kombu's filesystem transport otherwise), runs a task against
the test database."""

import datetime

import pytest
from django.contrib.sessions.models import Session
from django.utils import timezone

from crm.tasks import purge_expired_sessions_task
from tests.celery_worker import start_worker, stop_worker, wait_until


@pytest.fixture
def worker():
    proc = start_worker()
    yield proc
    stop_worker(proc)


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_runs_a_queued_task_on_the_configured_broker(worker):
    now = timezone.now()
    Session.objects.create(session_key="expired", session_data="x", expire_date=now - datetime.timedelta(days=1))
    Session.objects.create(session_key="current", session_data="x", expire_date=now + datetime.timedelta(days=1))

    purge_expired_sessions_task.delay()

    wait_until(lambda: not Session.objects.filter(session_key="expired").exists(), worker)
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_housekeeping_is_scheduled_in_the_database(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="crm.tasks.purge_expired_sessions_task")
    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("3", "30")
