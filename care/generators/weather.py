"""Severe weather: a safety note for the consenting customers of the city (or
district) an alert is for, once per alert.

Alerts come from ``care.weather.services.weather_poll`` (official warnings and
sudden changes read from the forecast). The rule's params choose what is worth
a message::

    {"events": ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"],
     "min_colour": "yellow",
     "tips": {"rainstorm": "…", "other": "…"}}

An update of an alert already acted on is acted on again only when its colour
is higher (yellow → orange); a cancelled alert is not acted on.
"""

import datetime

from django.db.models import CharField, DateField, F, Q, Value
from django.db.models.functions import Cast

from care.generators import register
from care.generators.base import Run
from care.models import CareKind, WeatherAlert
from care.weather.base import COLOURS

DEFAULT_EVENTS = ["rainstorm", "typhoon", "cold_wave", "heat", "snow", "fog"]


def colour_rank(colour: str) -> int:
    """0 for no colour, 1 blue … 4 red."""
    return COLOURS.index(colour) + 1 if colour in COLOURS else 0


def alerts_to_act_on(run: Run):
    params = run.params
    # A sudden change read from the forecast is announced the day before it comes.
    tomorrow = run.day + datetime.timedelta(days=1)
    return (
        WeatherAlert.objects.filter(
            status=WeatherAlert.Status.ACTIVE,
            event__in=params.get("events", DEFAULT_EVENTS),
            colour_rank__gte=colour_rank(params.get("min_colour", "yellow")),
            effective_at__date__lte=tomorrow,
        )
        .filter(Q(expires_at__isnull=True) | Q(expires_at__date__gte=run.day))
        .filter(Q(replaces__isnull=True) | Q(colour_rank__gt=F("replaces__colour_rank")))
        .exclude(message_type="cancel")
        .select_related("location")
        .order_by("pk")
    )


def tip_for(run: Run, alert: WeatherAlert) -> str:
    tips = run.params.get("tips", {})
    tip = tips.get(alert.event) or tips.get("other") or ""
    return f"{alert.headline}。{tip}"[:200] if tip else alert.headline[:200]


@register(CareKind.WEATHER)
def generate(run: Run):
    touches = []
    for alert in alerts_to_act_on(run):
        customers = run.customers().filter(marketing_consent=True, city=alert.location.city)
        if alert.location.district:
            customers = customers.filter(district=alert.location.district)
        touches.append(
            customers.annotate(
                t_event=Cast(Value(run.day), DateField()),
                t_occasion=Value(f"weather:{alert.pk}", output_field=CharField()),
                t_subject=Value(tip_for(run, alert), output_field=CharField()),
            )
        )
    return touches
