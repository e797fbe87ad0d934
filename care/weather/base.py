"""The interface every weather provider implements, and the values they return."""

import dataclasses
import datetime

from django.conf import settings
from django.utils.module_loading import import_string
from django.utils.translation import gettext_lazy as _

# Our own names for the kinds of weather care reacts to; providers map theirs onto these.
EVENTS = (
    "rainstorm",
    "typhoon",
    "cold_wave",
    "heat",
    "snow",
    "fog",
    "thunderstorm",
    "gale",
    "road_icing",
    "hail",
    "sandstorm",
    "haze",
    "frost",
    "other",
)
# What admins read for each event in a weather rule's form.
EVENT_LABELS = {
    "rainstorm": _("Rainstorm"),
    "typhoon": _("Typhoon"),
    "cold_wave": _("Cold wave"),
    "heat": _("Heat"),
    "snow": _("Snowstorm"),
    "fog": _("Fog"),
    "thunderstorm": _("Thunderstorm"),
    "gale": _("Gale"),
    "road_icing": _("Icy roads"),
    "hail": _("Hail"),
    "sandstorm": _("Sandstorm"),
    "haze": _("Haze"),
    "frost": _("Frost"),
    "other": _("Other"),
}
# Warning colours, mildest first (China's four-level system).
COLOURS = ("blue", "yellow", "orange", "red")
COLOUR_LABELS = {"blue": _("Blue"), "yellow": _("Yellow"), "orange": _("Orange"), "red": _("Red")}


def colour_rank(colour: str) -> int:
    """0 for no colour, 1 blue … 4 red."""
    return COLOURS.index(colour) + 1 if colour in COLOURS else 0


@dataclasses.dataclass(frozen=True)
class Location:
    """Where customers live: a city, or one district of it."""

    key: str  # our WeatherLocation pk as text
    city: str
    district: str
    latitude: float
    longitude: float
    provider_id: str = ""  # e.g. QWeather's LocationID "101020100", used for forecasts when set


@dataclasses.dataclass(frozen=True)
class Alert:
    id: str  # the provider's alert id, stable across polls
    event: str  # one of EVENTS
    event_name: str  # the provider's own name, e.g. "暴雨"
    message_type: str  # "alert", "update" or "cancel"
    severity: str  # "minor", "moderate", "severe", "extreme" or "unknown"
    colour: str  # one of COLOURS, or "" when the provider gives none
    headline: str
    description: str
    instruction: str
    effective_at: datetime.datetime  # aware
    expires_at: datetime.datetime | None  # aware
    issued_at: datetime.datetime | None = None
    supersedes: tuple[str, ...] = ()  # ids of earlier alerts this one replaces


@dataclasses.dataclass(frozen=True)
class DailyForecast:
    date: datetime.date
    temp_max: float  # °C
    temp_min: float  # °C
    text: str = ""  # e.g. "小雨"


class WeatherProvider:
    name = "base"

    def alerts(self, location: Location) -> list[Alert]:
        """Warnings in force at ``location`` now (including updates and cancellations)."""
        raise NotImplementedError

    def daily_forecast(self, location: Location) -> list[DailyForecast]:
        """Today and the following days, today first."""
        raise NotImplementedError


class WeatherError(Exception):
    """The provider could not answer (network, auth, quota); the poll tries again next time."""


def get_provider() -> WeatherProvider:
    """The provider configured in ``CRM_WEATHER_PROVIDER`` with ``CRM_WEATHER_OPTIONS``."""
    return import_string(settings.CRM_WEATHER_PROVIDER)(**settings.CRM_WEATHER_OPTIONS)
