"""Every three hours: read the warnings and forecasts for the places our
customers live, keep each alert once, and turn new ones into weather touches."""

import dataclasses
import datetime
import logging

from django.conf import settings
from django.utils import timezone

from care.touches.models import CareTask, CareTaskEvent
from care.touches.services import care_tasks_transition
from care.weather.base import Alert, Location, WeatherError, WeatherProvider, colour_rank, get_provider
from care.weather.changes import sudden_changes
from care.weather.models import WeatherAlert, WeatherLocation

logger = logging.getLogger(__name__)


@dataclasses.dataclass
class PollReport:
    locations: int = 0
    new_alerts: int = 0
    cancelled: int = 0
    errors: list[str] = dataclasses.field(default_factory=list)
    touches: int = 0


# The kind whose touches an alert makes (care.kinds.weather); weather sits below the kinds.
WEATHER_KIND = "weather"


def _location(place: WeatherLocation) -> Location:
    return Location(
        key=str(place.pk),
        city=place.city,
        district=place.district,
        latitude=float(place.latitude),
        longitude=float(place.longitude),
        provider_id=place.provider_id,
    )


def _cancel(place: WeatherLocation, alert: Alert, now: datetime.datetime) -> int:
    """A cancelled warning: its open touches close, its queued messages will not go."""
    cancelled = list(
        WeatherAlert.objects.filter(location=place, alert_id__in=alert.supersedes).values_list("pk", flat=True)
    )
    WeatherAlert.objects.filter(pk__in=cancelled).update(status=WeatherAlert.Status.CANCELLED)
    care_tasks_transition(
        tasks=CareTask.objects.filter(
            kind=WEATHER_KIND, status=CareTask.Status.OPEN, occasion__in=[f"weather:{pk}" for pk in cancelled]
        ),
        to=CareTask.Status.CANCELLED,
        outcome=CareTask.Outcome.INAPPLICABLE,
        job=CareTaskEvent.Job.WEATHER_CANCELLED,
        reason=alert.headline[:200] if alert.headline else "",
        now=now,
    )
    return len(cancelled)


def _store(place: WeatherLocation, alerts: list[Alert], provider: str, now: datetime.datetime, report) -> None:
    known = set(
        WeatherAlert.objects.filter(location=place, alert_id__in=[a.id for a in alerts]).values_list(
            "alert_id", flat=True
        )
    )
    for alert in alerts:
        if alert.id in known or (alert.expires_at and alert.expires_at < now):
            continue
        if alert.message_type == "cancel":
            report.cancelled += _cancel(place, alert, now)
        replaces = (
            WeatherAlert.objects.filter(location=place, alert_id__in=alert.supersedes).order_by("-pk").first()
            if alert.supersedes
            else None
        )
        _, created = WeatherAlert.objects.get_or_create(
            location=place,
            alert_id=alert.id[:120],
            defaults={
                "provider": provider,
                "event": alert.event,
                "event_name": alert.event_name[:40],
                "message_type": alert.message_type,
                "severity": alert.severity[:10],
                "colour": alert.colour,
                "colour_rank": colour_rank(alert.colour),
                "headline": alert.headline[:300],
                "description": alert.description,
                "instruction": alert.instruction,
                "effective_at": alert.effective_at,
                "expires_at": alert.expires_at,
                "replaces": replaces,
                "status": WeatherAlert.Status.CANCELLED
                if alert.message_type == "cancel"
                else WeatherAlert.Status.ACTIVE,
                "received_at": now,
            },
        )
        report.new_alerts += created


def weather_alerts_poll(*, now: datetime.datetime | None = None, provider: WeatherProvider | None = None) -> PollReport:
    """Poll every enabled location and record what is new; a second poll of the
    same alerts records nothing. ``care.engine.services.weather_poll`` then
    turns them into touches."""
    now = now or timezone.now()
    provider = provider or get_provider()
    report = PollReport()
    tz = timezone.get_current_timezone()
    for place in WeatherLocation.objects.filter(enabled=True):
        report.locations += 1
        location = _location(place)
        alerts: list[Alert] = []
        for fetch in (provider.alerts, provider.daily_forecast):
            try:
                answer = fetch(location)
            except WeatherError as exc:
                report.errors.append(f"{place}: {exc}")
                logger.warning("weather provider error", extra={"weather_location": str(place), "error": str(exc)})
                continue
            if fetch == provider.alerts:
                alerts.extend(answer)
            else:
                alerts.extend(
                    sudden_changes(
                        location,
                        answer,
                        drop=settings.CRM_WEATHER_DROP_DEGREES,
                        heat=settings.CRM_WEATHER_HEAT_DEGREES,
                        tz=tz,
                    )
                )
        _store(place, alerts, provider.name, now, report)
    return report
