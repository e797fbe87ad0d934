import datetime

from celery import shared_task
from django.utils import timezone

from care.services import care_tasks_generate


@shared_task
def generate_care_tasks_task(day: str | None = None) -> dict:
    """The morning run (beat, 06:00); ``day`` as YYYY-MM-DD, default today."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    report = care_tasks_generate(day=when)
    return {"day": str(when), "created": report.created, "expired": report.expired}
