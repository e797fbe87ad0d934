"""The Chinese calendar for care: lunar birthdays and festivals in solar dates.

Lunar dates come from lunar-python (RECIPES.md), never from a hand-written
table. Conversions are cached: a generator asks the same few questions for
every customer with a lunar birthday.
"""

import datetime
import functools

from lunar_python import Lunar, LunarMonth, LunarYear, Solar


@functools.cache
def lunar_year_leap_month(year: int) -> int:
    """The leap month of a lunar year, 0 when it has none."""
    return LunarYear.fromYear(year).getLeapMonth()


@functools.cache
def lunar_to_solar(year: int, month: int, day: int, leap: bool = False) -> datetime.date:
    solar = Lunar.fromYmd(year, -month if leap else month, day).getSolar()
    return datetime.date(solar.getYear(), solar.getMonth(), solar.getDay())


@functools.cache
def lunar_month_days(year: int, month: int, leap: bool = False) -> int:
    return LunarMonth.fromYm(year, -month if leap else month).getDayCount()


def solar_to_lunar(day: datetime.date) -> tuple[int, int, int, bool]:
    """(lunar year, month, day, leap) of a solar date."""
    lunar = Solar.fromYmd(day.year, day.month, day.day).getLunar()
    month = lunar.getMonth()
    return lunar.getYear(), abs(month), lunar.getDay(), month < 0


def lunar_birthday_in_lunar_year(year: int, month: int, day: int, leap: bool) -> datetime.date:
    """The solar date on which a lunar birthday falls in lunar year ``year``.

    Rules chosen (and shown to advisors in the rule's help):
    - Born in a leap month: celebrated in that leap month in years that have
      it, otherwise in the ordinary month of the same number.
    - Born in an ordinary month: always the ordinary month, never the leap one.
    - Day 30 in a month of 29 days: celebrated on day 29, the month's last day.
    """
    use_leap = leap and lunar_year_leap_month(year) == month
    day = min(day, lunar_month_days(year, month, use_leap))
    return lunar_to_solar(year, month, day, use_leap)


def lunar_birthdays_between(
    month: int, day: int, leap: bool, start: datetime.date, end: datetime.date
) -> list[datetime.date]:
    """Solar dates of a lunar birthday within [start, end]. A lunar year spans two
    solar years, so the lunar years around both ends are examined."""
    found = set()
    for year in range(start.year - 1, end.year + 1):
        when = lunar_birthday_in_lunar_year(year, month, day, leap)
        if start <= when <= end:
            found.add(when)
    return sorted(found)
