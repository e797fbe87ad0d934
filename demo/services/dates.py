"""Dates of the demo's people and cars: lunar birthdays, anniversaries, inspections."""

import datetime
import functools

from dateutil.relativedelta import relativedelta
from lunar_python import LunarYear, Solar

from care.kinds.inspection import inspection_due_on_or_after


@functools.cache
def _lunar_months(solar_year: int) -> tuple[tuple[datetime.date, int, int], ...]:
    """(first day, length, month) of the lunar months ``Lunar.fromSolar`` scans for ``solar_year``.

    ``Solar.getLunar()`` recomputes a whole year of solar terms whenever the
    year changes (several ms), so converting thousands of random birthdays
    that way takes seconds; walking the same months ourselves costs one
    computation per year.
    """
    months = []
    for month in LunarYear.fromYear(solar_year).getMonths():
        first = Solar.fromJulianDay(month.getFirstJulianDay())
        start = datetime.date(first.getYear(), first.getMonth(), first.getDay())
        months.append((start, month.getDayCount(), month.getMonth()))
    return tuple(months)


@functools.cache
def lunar_birthday(day: datetime.date) -> tuple[int, int, bool]:
    """(month, day, leap) of the lunar date, as ``Solar.fromYmd(...).getLunar()`` gives it."""
    for start, length, month in _lunar_months(day.year):
        offset = (day - start).days
        if offset < length:
            # lunar_python marks a leap month with a negative month number.
            return abs(month), offset + 1, month < 0
    raise ValueError(f"No lunar month covers {day}.")


def next_anniversary(day: datetime.date, *, after: datetime.date) -> datetime.date:
    """The first anniversary of ``day`` strictly after ``after`` (29 February falls on the 28th)."""
    years = after.year - day.year
    candidate = day + relativedelta(years=years)
    if candidate <= after:
        candidate = day + relativedelta(years=years + 1)
    return candidate


def inspection_due(purchase: datetime.date, usage: str, *, today: datetime.date) -> datetime.date:
    """The next annual inspection (年检) strictly after ``today``, on the care engine's
    default schedule (``care.kinds.inspection``: one rule for the demo and the engine)."""
    return inspection_due_on_or_after(purchase, usage, today + datetime.timedelta(days=1))
