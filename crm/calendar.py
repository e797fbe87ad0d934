"""Working days by the official Chinese calendar (days off and 调休).

Every app that counts working days reads this module: care (follow-ups, the
capacity plan), complaints (SLA deadlines). The data is the Holiday table,
one whole year at a time (crm.services.holiday_year_set); a year is *known*
when it has a HolidayYear row.

Unknown years, the choice made here: the functions never raise for them. A
date in a year without official data is answered by the week alone
(Saturday and Sunday off, plus any row an admin may already have typed in),
so that a follow-up is still scheduled on 1 January when nobody has entered
the new year yet. That answer is a guess, and the module says so instead of
passing it off as ordinary: ``is_known(day)`` for one date a page shows,
``unknown_years(start, end)`` for a span, ``calendar_gaps(today)`` for the
coming weeks (the warning managers see, and the system check crm.W001).

"Next working day" here means *on or after* the given day, as care has
always used it (``next_working_day(today + 1 day)`` for "tomorrow or later").
"""

import datetime
import itertools
from dataclasses import dataclass

from django.db import DEFAULT_DB_ALIAS

from crm.models import Holiday, HolidayYear

# How far ahead the warning looks: the State Council's notice for the next
# year usually comes out in November, so two months leave time to enter it.
GAP_HORIZON_DAYS = 60
# Long enough to cover the longest run of days off (Spring Festival plus its
# weekends) for one working day; working_days() widens it for larger counts.
_HORIZON_SLACK_DAYS = 31
_WEEKEND = (5, 6)


@dataclass(frozen=True)
class DayRange:
    """Days ``first``..``last`` (inclusive) of one holiday, or adjusted working days of it."""

    first: datetime.date
    last: datetime.date
    name: str

    def __str__(self) -> str:
        span = self.first.isoformat() if self.first == self.last else f"{self.first}..{self.last}"
        return f"{span} {self.name}".strip()

    def days(self) -> list[datetime.date]:
        return [self.first + datetime.timedelta(days=i) for i in range((self.last - self.first).days + 1)]


def _ordinary_day_off(day: datetime.date) -> bool:
    return day.weekday() in _WEEKEND


def _marked(start: datetime.date, end: datetime.date) -> dict[datetime.date, bool]:
    """{date: is_day_off} of the table's rows in [start, end]: one query."""
    return dict(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", "is_day_off"))


def is_working_day(day: datetime.date) -> bool:
    """Whether ``day`` is worked: a weekday that is not a day off, or a weekend
    day the calendar makes a working day (调休). One query."""
    off = _marked(day, day).get(day, _ordinary_day_off(day))
    return not off


def working_days(start: datetime.date, count: int) -> list[datetime.date]:
    """The first ``count`` working days on or after ``start``, in order.

    One query for the whole list (what a capacity plan of the next N working
    days needs); a second only if admins marked so many days off that the
    window runs out.
    """
    if count < 0:
        raise ValueError("count must not be negative")
    found: list[datetime.date] = []
    current = start
    while len(found) < count:
        # Five working days in seven at worst, plus a month for long holidays.
        window_end = current + datetime.timedelta(days=(count - len(found)) * 7 // 5 + _HORIZON_SLACK_DAYS)
        marked = _marked(current, window_end)
        while current <= window_end and len(found) < count:
            if not marked.get(current, _ordinary_day_off(current)):
                found.append(current)
            current += datetime.timedelta(days=1)
    return found


def next_working_day(day: datetime.date) -> datetime.date:
    """The first working day on or after ``day``. One query."""
    return working_days(day, 1)[0]


def add_working_days(day: datetime.date, n: int) -> datetime.date:
    """The date ``n`` working days after ``day`` (``day`` itself not counted):
    a complaint received on Thursday 12 February 2026 with 3 working days is
    due on Tuesday 24 February (Friday, the 调休 Saturday, then Spring
    Festival). ``n == 0`` gives ``day`` itself. One query."""
    if n < 0:
        raise ValueError("n must not be negative")
    if n == 0:
        return day
    return working_days(day + datetime.timedelta(days=1), n)[-1]


def unknown_years(start: datetime.date, end: datetime.date, *, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """Years touched by [start, end] that have no official data, ascending. One query."""
    years = range(start.year, end.year + 1)
    known = set(HolidayYear.objects.using(using).filter(year__in=years).values_list("year", flat=True))
    return [year for year in years if year not in known]


def is_known(day: datetime.date) -> bool:
    """Whether ``day``'s year has official data, i.e. whether a working-day
    answer for it is more than a weekend guess. One query."""
    return not unknown_years(day, day)


def calendar_gaps(today: datetime.date, days: int = GAP_HORIZON_DAYS, *, using: str = DEFAULT_DB_ALIAS) -> list[int]:
    """Years without official data within the coming ``days`` days (today included). One query."""
    return unknown_years(today, today + datetime.timedelta(days=days), using=using)


def year_arrangement(year: int) -> tuple[list[DayRange], list[DayRange]]:
    """(days off, adjusted working days) of ``year`` as ranges of consecutive
    days with the same name, as the admin's year form shows them. One query."""
    rows = Holiday.objects.filter(date__gte=datetime.date(year, 1, 1), date__lte=datetime.date(year, 12, 31))
    rows = rows.order_by("date").values_list("date", "name", "is_day_off")
    ranges: dict[bool, list[DayRange]] = {True: [], False: []}
    for (name, is_day_off), group in itertools.groupby(rows, key=lambda row: (row[1], row[2])):
        days = [row[0] for row in group]
        # A gap inside a run of one name (two separate 春节 调休 weekends) starts a new range.
        first = previous = days[0]
        for day in days[1:]:
            if day != previous + datetime.timedelta(days=1):
                ranges[is_day_off].append(DayRange(first, previous, name))
                first = day
            previous = day
        ranges[is_day_off].append(DayRange(first, previous, name))
    return ranges[True], ranges[False]
