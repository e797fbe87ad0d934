"""Load official days off and adjusted working days from chinesecalendar.

The library is the first source of each year's notice: after upgrading it,
``manage.py load_holidays`` refreshes this year and the next. A year the
installed release does not have is reported, not guessed: an admin enters it
in the year form. Exit status: 0 when at least one year was loaded (the
missing ones are listed on stderr), an error when none was, so a scheduled
run fails loudly only when it achieved nothing.
"""

import datetime

import chinese_calendar
from chinese_calendar import constants
from django.core.management.base import BaseCommand, CommandError
from django.utils.timezone import localdate
from django.utils.translation import gettext as _

from crm.calendar import DayRange
from crm.models import HolidayYear
from crm.services import holiday_year_set


def _chinese_name(english: str) -> str:
    try:
        return constants.Holiday(english).chinese
    except ValueError:
        return english


def library_has_year(year: int) -> bool:
    try:
        chinese_calendar.get_holiday_detail(datetime.date(year, 1, 1))
    except NotImplementedError:  # "no available data for year 2027"
        return False
    return True


def library_arrangement(year: int) -> tuple[list[DayRange], list[DayRange]]:
    """(days off, adjusted working days) of ``year`` in chinesecalendar, one day per range."""
    days_off = [
        DayRange(day, day, _chinese_name(name)) for day, name in sorted(constants.holidays.items()) if day.year == year
    ]
    working = [
        DayRange(day, day, _chinese_name(name)) for day, name in sorted(constants.workdays.items()) if day.year == year
    ]
    return days_off, working


class Command(BaseCommand):
    help = "Load the official holiday calendar from the installed chinesecalendar release."

    def add_arguments(self, parser):
        parser.add_argument(
            "--year",
            type=int,
            action="append",
            dest="years",
            help="A year to load (repeatable). Default: this year and the next.",
        )

    def handle(self, *args, years=None, **options):
        today = localdate()
        years = sorted(set(years or [today.year, today.year + 1]))
        release = chinese_calendar.__version__
        loaded, missing = [], []
        for year in years:
            if not library_has_year(year):
                missing.append(year)
                self.stderr.write(
                    _("chinesecalendar %(release)s has no data for %(year)s: enter it in admin (Holiday years).")
                    % {"release": release, "year": year}
                )
                continue
            days_off, working = library_arrangement(year)
            holiday_year_set(
                year=year,
                days_off=days_off,
                working_days=working,
                by=None,
                source=HolidayYear.Source.CHINESECALENDAR,
                release=release,
            )
            loaded.append(year)
            self.stdout.write(
                _("%(year)s: %(off)s days off and %(working)s adjusted working days from chinesecalendar %(release)s.")
                % {"year": year, "off": len(days_off), "working": len(working), "release": release}
            )
        if not loaded:
            raise CommandError(
                _("Nothing loaded: chinesecalendar %(release)s has none of %(years)s.")
                % {"release": release, "years": ", ".join(str(y) for y in missing)}
            )
