import dataclasses
import datetime

from celery import shared_task
from django.utils import timezone

from care.messaging.services import outbox_enqueue, outbox_send
from care.services import care_tasks_generate
from care.weather.services import weather_poll


@shared_task
def generate_care_tasks_task(day: str | None = None) -> dict:
    """The morning run (beat, 06:00); ``day`` as YYYY-MM-DD, default today."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    report = care_tasks_generate(day=when)
    queued = outbox_enqueue() if when == timezone.localdate() else 0
    return {"day": str(when), "created": report.created, "expired": report.expired, "queued": queued}


@shared_task
def send_outbox_task() -> dict:
    """Every minute (beat): send what is due. Two runs at once are safe; each
    stops before the next minute's run starts."""
    return dataclasses.asdict(outbox_send(max_seconds=50))


@shared_task
def poll_weather_task() -> dict:
    """Every three hours (beat): new severe-weather alerts become touches."""
    report = weather_poll()
    return {"new_alerts": report.new_alerts, "touches": report.touches, "errors": report.errors}
