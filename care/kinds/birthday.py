"""Birthday greetings: the solar birthday and the lunar (农历) one.

A customer with both dates known gets two touches, ``birthday-solar:<year>``
and ``birthday-lunar:<lunar year>``; ``params`` ``{"solar": false}`` or
``{"lunar": false}`` switches either off. The touch's event is the birthday
itself (rules default to ``lead_days`` 0): getting the message out before
08:30 is the sending side's job, not the generator's.

Rules chosen:
- Solar 29 February: celebrated on 28 February in years without a 29th
  (the day stays in the birthday month, and nobody is greeted "late").
- Lunar dates follow ``care.calendar.lunar_birthday_in_lunar_year``: leap-month
  births in the leap month when the year has one, otherwise the ordinary
  month; day 30 in a 29-day month on day 29.
- The occasion's year is the solar year of the celebration for the solar
  birthday and the lunar year for the lunar one (lunar 12/01 of lunar 2026
  is 2027-01-08: ``birthday-lunar:2026``).
- A window longer than a year (expiry plus lead over 365 days) can hold a
  birthday twice; the earlier is generated first, the later once the earlier
  has left the window.

Set-based: Python walks the few days of the window to find which (month, day)
and lunar (month, day, leap) birthdays fall in it, and SQL matches customers to
them: one queryset for solar birthdays and one for lunar ones, so a customer
with both gets two touches (see ``care.kinds.base.touches_querysets``).
"""

import calendar
import datetime
import functools
from collections.abc import Iterable

from django.db.models import Q
from django.utils.translation import gettext_lazy

from care.calendar import lunar_birthday_in_lunar_year, solar_to_lunar
from care.kinds.base import Run, Touch, days, touches_querysets, window
from care.registry import KindSpec, Param, register

# --------------------------------------------------------------------------
# Birthdays
# --------------------------------------------------------------------------

SOLAR, LUNAR = 1, 2  # slots

# lunar-python takes a few milliseconds per conversion and consecutive morning
# runs ask about nearly the same days.
_lunar_date = functools.lru_cache(maxsize=1024)(solar_to_lunar)


def solar_birthdays(dates: Iterable[datetime.date]) -> dict[tuple[int, int], datetime.date]:
    """(month, day) of birth → the first of ``dates`` it is celebrated on."""
    found: dict[tuple[int, int], datetime.date] = {}
    for when in dates:
        found.setdefault((when.month, when.day), when)
        if (when.month, when.day) == (2, 28) and not calendar.isleap(when.year):
            found.setdefault((2, 29), when)
    return found


def lunar_birthdays(dates: Iterable[datetime.date]) -> dict[tuple[int, int, bool], tuple[datetime.date, int]]:
    """Lunar (month, day, leap) of birth → (the first of ``dates`` it is
    celebrated on, the lunar year of that celebration)."""
    found: dict[tuple[int, int, bool], tuple[datetime.date, int]] = {}
    for when in dates:
        year, month, day, _ = _lunar_date(when)
        # Who can celebrate on this lunar (month, day): those born on it in
        # either kind of month, and, on day 29, those born on a day 30. The
        # calendar's rule decides which of them actually do this year.
        candidates = [(month, day, False), (month, day, True)]
        if day == 29:
            candidates += [(month, 30, False), (month, 30, True)]
        for birth in candidates:
            if birth not in found and lunar_birthday_in_lunar_year(year, *birth) == when:
                found[birth] = (when, year)
    return found


def generate(run: Run):
    start, end = window(run)
    touches = []
    if run.params.get("solar", True):
        touches += [
            Touch(SOLAR, Q(birthday__month=month, birthday__day=day), when, f"birthday-solar:{when.year}", "生日")
            for (month, day), when in solar_birthdays(days(start, end)).items()
        ]
    if run.params.get("lunar", True):
        touches += [
            Touch(
                LUNAR,
                Q(lunar_birthday_month=month, lunar_birthday_day=day, lunar_birthday_leap=leap),
                when,
                f"birthday-lunar:{year}",
                "农历生日",
            )
            for (month, day, leap), (when, year) in lunar_birthdays(days(start, end)).items()
        ]
    return touches_querysets(run.customers(), touches)


DEFAULT_RULES = (
    {
        "name": "生日祝福",
        "channel": "sms",
        "lead_days": 0,
        "expiry_days": 0,
        "message_template": (
            "【{dealership}】{name}{title}，今天是您的生日，{dealership}全体员工祝您生日快乐、一路平安！"
        ),
        "priority": 40,
        "params": {
            "solar": True,
            "lunar": True,
        },
    },
)

SPEC = register(
    KindSpec(
        kind="birthday",
        label=gettext_lazy("Birthday"),
        generate=generate,
        marketing=True,
        params=(
            Param("solar", gettext_lazy("Solar birthday"), type="bool", default=True),
            Param("lunar", gettext_lazy("Lunar birthday"), type="bool", default=True),
        ),
        scans_every_car=6,
        default_rules=DEFAULT_RULES,
        module=__name__,
    )
)
