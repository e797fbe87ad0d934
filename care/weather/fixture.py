"""Weather from a JSON file of recorded QWeather responses: for demos, development and tests.

The file lists locations, each with the body QWeather's Weather Alert API and
7-day forecast would return there::

    {"locations": [
        {"city": "上海", "district": "",
         "alerts": {<body of /weatheralert/v1/current/...>},
         "daily": {<body of /v7/weather/7d>}}
    ]}

Both bodies go through the same parsers as the real adapter. So that a demo
alert stays current, any string in a body may be written relative to now:

* ``"+0h"``, ``"-2h"``, ``"+24h"``: that many hours from now, floored to the
  hour (so polls within one hour see the same times), as a local time with
  its offset, e.g. ``"2026-11-23T08:00+08:00"``;
* ``"+0d"``, ``"+1d"``: today's local date plus that many days, e.g. for ``fxDate``.

A location is found by city and district; failing that, by the city's entry
with an empty district. Any other location has no alerts and no forecast.
The file is read again only when its modification time changes.
"""

import datetime
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from django.utils import timezone

from .base import Alert, DailyForecast, Location, WeatherError, WeatherProvider
from .qweather import parse_alerts, parse_daily

RELATIVE = re.compile(r"^([+-]\d+)([hd])$")


def resolve_relative(value: Any, now: datetime.datetime) -> Any:
    """``value`` (a JSON body) with every relative time or date replaced, given an aware ``now``."""
    if isinstance(value, dict):
        return {key: resolve_relative(item, now) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve_relative(item, now) for item in value]
    if isinstance(value, str) and (match := RELATIVE.match(value)):
        amount, unit = int(match[1]), match[2]
        local = timezone.localtime(now)
        if unit == "d":
            return (local.date() + datetime.timedelta(days=amount)).isoformat()
        hour = local.replace(minute=0, second=0, microsecond=0)
        return (hour + datetime.timedelta(hours=amount)).isoformat(timespec="minutes")
    return value


class FixtureProvider(WeatherProvider):
    name = "fixture"

    def __init__(self, path: str | Path, clock: Callable[[], datetime.datetime] = timezone.now):
        self.path = Path(path)
        self.clock = clock
        self._mtime_ns: int | None = None
        self._locations: list[dict[str, Any]] = []

    def _load(self) -> list[dict[str, Any]]:
        try:
            mtime_ns = self.path.stat().st_mtime_ns
            if mtime_ns != self._mtime_ns:
                data = json.loads(self.path.read_text(encoding="utf-8"))
                self._locations = list(data["locations"])
                self._mtime_ns = mtime_ns
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise WeatherError(f"weather fixture {self.path} unusable: {exc!r}") from exc
        return self._locations

    def _entry(self, location: Location) -> dict[str, Any] | None:
        entries = [entry for entry in self._load() if entry.get("city") == location.city]
        if location.district:
            for entry in entries:
                if entry.get("district") == location.district:
                    return entry
        for entry in entries:
            if not entry.get("district"):
                return entry
        return None

    def alerts(self, location: Location) -> list[Alert]:
        entry = self._entry(location)
        if entry is None or "alerts" not in entry:
            return []
        return parse_alerts(resolve_relative(entry["alerts"], self.clock()))

    def daily_forecast(self, location: Location) -> list[DailyForecast]:
        entry = self._entry(location)
        if entry is None or "daily" not in entry:
            return []
        return parse_daily(resolve_relative(entry["daily"], self.clock()))
