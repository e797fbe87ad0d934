"""A real Celery worker, on the broker this run is configured with (Redis when
REDIS_URL is set, kombu's filesystem transport otherwise), runs a task against
the test database."""

import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.utils import timezone

from crm.tasks import purge_expired_sessions_task


def database_url_for_worker() -> str:
    db = connection.settings_dict
    if db["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{Path(db['NAME']).resolve()}"
    password = f":{db['PASSWORD']}" if db.get("PASSWORD") else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def worker():
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "crm.settings.test",
        "DATABASE_URL": database_url_for_worker(),
        "CELERY_BROKER_URL": settings.CELERY_BROKER_URL,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "crm", "worker", "--pool", "solo", "--loglevel", "WARNING"],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    yield proc
    proc.terminate()
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.mark.broker
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_worker_runs_a_queued_task_on_the_configured_broker(worker):
    now = timezone.now()
    Session.objects.create(session_key="expired", session_data="x", expire_date=now - datetime.timedelta(days=1))
    Session.objects.create(session_key="current", session_data="x", expire_date=now + datetime.timedelta(days=1))

    purge_expired_sessions_task.delay()

    deadline = time.monotonic() + 60
    while Session.objects.filter(session_key="expired").exists():
        if worker.poll() is not None:
            pytest.fail(f"worker exited: {worker.stdout.read().decode(errors='replace')}")
        if time.monotonic() > deadline:
            pytest.fail("the worker did not run the task within 60 s")
        time.sleep(0.3)
    assert list(Session.objects.values_list("session_key", flat=True)) == ["current"]


def test_housekeeping_is_scheduled_in_the_database(db):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="crm.tasks.purge_expired_sessions_task")
    assert task.enabled and (task.crontab.hour, task.crontab.minute) == ("3", "30")
