"""Business time: the store's open hours, on its open weekdays, without its closed holidays.

Complaint SLAs count in it ("acknowledge within 8 hours" means 8 hours the
store is open; "resolve within 3 working days" means 3 of the store's days).
A store's hours come from its Dealership row (default every day 08:30–18:00);
the days off and adjusted working days (调休) of the holiday table close and
open it when ``closed_on_public_holidays`` is set. Everything here works in
the project's time zone and returns aware datetimes.

Each function reads the holiday table once for the span it needs (a second
read only when a long run of closed days exhausts the first window).
"""

import datetime
from dataclasses import dataclass

from django.utils import timezone

from crm.models import Dealership, Holiday

_SLACK_DAYS = 45


@dataclass(frozen=True)
class BusinessHours:
    opens_at: datetime.time
    closes_at: datetime.time
    weekdays: frozenset[int]  # ISO: 1 is Monday
    closed_on_public_holidays: bool = True

    @classmethod
    def of(cls, store: Dealership) -> "BusinessHours":
        return cls(
            opens_at=store.opens_at,
            closes_at=store.closes_at,
            weekdays=frozenset(int(d) for d in store.open_weekdays),
            closed_on_public_holidays=store.closed_on_public_holidays,
        )

    @property
    def day_minutes(self) -> int:
        """Minutes of one open day: what "one working day" of an SLA is worth."""
        opens = self.opens_at.hour * 60 + self.opens_at.minute
        closes = self.closes_at.hour * 60 + self.closes_at.minute
        return closes - opens

    def is_open_on(self, day: datetime.date, marked: dict[datetime.date, bool]) -> bool:
        if self.closed_on_public_holidays and day in marked:
            return not marked[day]
        return day.isoweekday() in self.weekdays

    def window(self, day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
        tz = timezone.get_current_timezone()
        return (
            datetime.datetime.combine(day, self.opens_at, tzinfo=tz),
            datetime.datetime.combine(day, self.closes_at, tzinfo=tz),
        )


def _marked(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    return dict(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_day_off"))


def _open_windows(hours: BusinessHours, start: datetime.datetime, *, days_hint: int):
    """The store's open windows from ``start`` on, clipped to start, endlessly."""
    start = timezone.localtime(start)
    day = start.date()
    while True:
        last = day + datetime.timedelta(days=days_hint + _SLACK_DAYS)
        marked = _marked(day, last)
        while day <= last:
            if hours.is_open_on(day, marked):
                opens, closes = hours.window(day)
                opens = max(opens, start)
                if opens < closes:
                    yield opens, closes
            day += datetime.timedelta(days=1)


def add_business_minutes(hours: BusinessHours, start: datetime.datetime, minutes: int) -> datetime.datetime:
    """The moment ``minutes`` of business time after ``start``.

    A clock started after closing time starts at the next opening; a deadline
    that falls exactly on closing time stays there (not the next morning)."""
    if minutes < 0:
        raise ValueError("minutes must not be negative")
    if hours.day_minutes <= 0 or not hours.weekdays:
        raise ValueError("the store is never open")
    remaining = datetime.timedelta(minutes=minutes)
    days_hint = minutes // hours.day_minutes * 7 // len(hours.weekdays) + 1
    for opens, closes in _open_windows(hours, start, days_hint=days_hint):
        if remaining <= closes - opens:
            return opens + remaining
        remaining -= closes - opens
    raise AssertionError("unreachable")  # pragma: no cover


def business_minutes_between(hours: BusinessHours, start: datetime.datetime, end: datetime.datetime) -> int:
    """Whole minutes of business time in [start, end] (0 when end is not after start)."""
    if end <= start:
        return 0
    total = datetime.timedelta()
    span_days = (timezone.localtime(end).date() - timezone.localtime(start).date()).days
    for opens, closes in _open_windows(hours, start, days_hint=span_days):
        if opens >= end:
            break
        total += min(closes, end) - opens
    return int(total.total_seconds() // 60)


def add_business_days(hours: BusinessHours, start: datetime.datetime, days: int) -> datetime.datetime:
    """``days`` open days of business time after ``start``: on a store whose days
    are alike, the same clock time ``days`` open days later."""
    return add_business_minutes(hours, start, days * hours.day_minutes)
