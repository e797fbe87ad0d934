import dataclasses
import datetime

from celery import shared_task
from django.utils import timezone

from care.engine.services import GenerationReport, care_morning_run, care_rules_apply, weather_poll
from care.kinds.appointment_no_show import no_show_touches_close
from care.messaging.services import outbox_send
from care.registry import CareKind
from service.services import appointments_link_repair_orders, appointments_mark_no_shows


@shared_task
def generate_care_tasks_task(day: str | None = None) -> dict:
    """The morning run (beat, 06:00); ``day`` as YYYY-MM-DD, default today."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    report = care_morning_run(day=when)
    return {"day": str(when), "created": report.created, "expired": report.expired, "queued": report.queued}


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


@shared_task
def mark_no_shows_task() -> dict:
    """Every 15 minutes (beat): appointments not arrived ``CRM_NO_SHOW_AFTER_MINUTES``
    after their slot become no-shows, and each gets its call touch. Selected by
    state, so a second run finds nothing to do."""
    now = timezone.now()
    today = timezone.localdate(now)
    # Today's visits first: a customer whose repair order is already open (or
    # imported) is not a no-show, and a late one closes the call made about the slot.
    linked = appointments_link_repair_orders(day=today)
    marked = appointments_mark_no_shows(now=now)
    closed = no_show_touches_close(now=now)
    report = GenerationReport(day=today)
    care_rules_apply(day=today, kinds=[CareKind.APPOINTMENT_NO_SHOW], report=report)
    return {"linked": linked, "no_shows": marked, "closed": closed, "touches": report.total_created}
