"""Sudden changes read from the daily forecast, as synthetic alerts.

Official warnings have fixed criteria: a cold-wave warning needs a fall of
8–10 °C or more within 24–48 hours *and* a low at or below 4 °C, so a drop
from 18 °C to 9 °C in a southern city passes without any warning. For a car
owner it still matters (tyre pressure falls, batteries start worse, early
morning fog and ice), and so does a day of 35 °C heat (nothing left in a hot
car, coolant and air conditioning). These alerts let care send a safety note
when the forecast shows such a change and no official warning covers it.

Ids are built from the location, the day and the event only, so a second
poll of the same forecast yields the same ids and the store adds nothing.
"""

import datetime
import itertools

from .base import Alert, DailyForecast, Location

# Today plus the next 3 days: further out the forecast is too unsure to send anyone a note.
WINDOW_DAYS = 3


def _degrees(value: float) -> str:
    """18.0 → "18", 8.5 → "8.5"."""
    return f"{value:g}"


def _day_bounds(day: datetime.date, tz: datetime.tzinfo) -> tuple[datetime.datetime, datetime.datetime]:
    """Local midnight starting ``day`` and local midnight ending it."""
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def _month_day(day: datetime.date) -> str:
    return f"{day.month}月{day.day}日"


def sudden_changes(
    location: Location, forecast: list[DailyForecast], *, drop: int, heat: int, tz: datetime.tzinfo
) -> list[Alert]:
    """Synthetic alerts for today and the next three days of ``forecast`` (today first).

    A "cold_wave" alert for the day the daily minimum or maximum is ``drop`` °C or
    more below the day before; a "heat" alert for each day whose maximum reaches
    ``heat`` °C. Each is in force for that whole local day in ``tz``.
    """
    days = forecast[: WINDOW_DAYS + 1]
    alerts = []
    for before, day in itertools.pairwise(days):
        fall = max(before.temp_min - day.temp_min, before.temp_max - day.temp_max)
        if fall >= drop:
            start, end = _day_bounds(day.date, tz)
            alerts.append(
                Alert(
                    id=f"forecast:{location.key}:{day.date.isoformat()}:cold_wave",
                    event="cold_wave",
                    event_name="气温骤降",
                    message_type="alert",
                    severity="moderate",
                    colour="yellow",
                    headline=(f"预计{_month_day(day.date)}气温骤降{_degrees(fall)}℃（最低{_degrees(day.temp_min)}℃）"),
                    description=(
                        f"{_month_day(before.date)}最低{_degrees(before.temp_min)}℃、"
                        f"最高{_degrees(before.temp_max)}℃，"
                        f"{_month_day(day.date)}最低{_degrees(day.temp_min)}℃、"
                        f"最高{_degrees(day.temp_max)}℃。"
                    ),
                    instruction="气温骤降会使胎压降低、蓄电池启动变弱，出行前请检查胎压、蓄电池和防冻液，早晚注意路面湿滑结冰。",
                    effective_at=start,
                    expires_at=end,
                )
            )
    for day in days:
        if day.temp_max >= heat:
            start, end = _day_bounds(day.date, tz)
            alerts.append(
                Alert(
                    id=f"forecast:{location.key}:{day.date.isoformat()}:heat",
                    event="heat",
                    event_name="高温",
                    message_type="alert",
                    severity="moderate",
                    colour="yellow",
                    headline=f"预计{_month_day(day.date)}最高气温{_degrees(day.temp_max)}℃",
                    description=(
                        f"{_month_day(day.date)}最高{_degrees(day.temp_max)}℃、最低{_degrees(day.temp_min)}℃。"
                    ),
                    instruction="高温天气请勿将打火机、充电宝、瓶装水等留在车内，尽量在阴凉处停车，出行前检查冷却液和空调。",
                    effective_at=start,
                    expires_at=end,
                )
            )
    return alerts
