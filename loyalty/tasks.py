import datetime

from celery import shared_task
from django.utils import timezone

from loyalty.services import loyalty_nightly


@shared_task
def award_points_task(day: str | None = None) -> dict:
    """Nightly (beat, 02:30): the club's points, joins, upgrades and lapses for ``day`` (default today)."""
    when = datetime.date.fromisoformat(day) if day else timezone.localdate()
    report = loyalty_nightly(day=when)
    return {
        "day": str(when),
        "joined": report.joined,
        "earned": report.earned,
        "reversed": report.reversed,
        "upgraded": report.upgraded,
        "lapsed": report.lapsed,
    }
