"""Working days by the official calendar (crm.calendar), on the data the
migrations seed from chinesecalendar (2020–2026).

2026's State Council notice, checked against chinesecalendar 1.11.0:
春节 Sunday 15 – Monday 23 February off; Saturdays 14 and 28 February worked.
"""

import datetime

import pytest
from chinese_calendar import constants

from crm.calendar import (
    add_working_days,
    calendar_gaps,
    is_known,
    is_working_day,
    next_working_day,
    unknown_years,
    working_days,
)
from crm.models import Holiday, HolidayYear

D = datetime.date


@pytest.fixture
def known_until_2026(db):
    # Whatever release is installed, the tests below see 2027 onwards as unknown.
    HolidayYear.objects.filter(year__gte=2027).delete()


def test_the_installed_chinesecalendar_has_the_published_2026_spring_festival():
    spring_festival_off = [d for d, name in constants.holidays.items() if name == "Spring Festival" and d.year == 2026]
    worked = [d for d, name in constants.workdays.items() if name == "Spring Festival" and d.year == 2026]
    assert sorted(spring_festival_off) == [D(2026, 2, day) for day in range(15, 24)]
    assert sorted(worked) == [D(2026, 2, 14), D(2026, 2, 28)]


def test_the_migrations_moved_the_seeded_days_and_recorded_their_years(db):
    assert Holiday.objects.filter(date__gte=D(2026, 1, 1), date__lte=D(2026, 12, 31)).count() == 33 + 6
    saturday = Holiday.objects.get(date=D(2026, 2, 14))
    assert (saturday.name, saturday.is_day_off) == ("春节", False)
    years = {y.year: y for y in HolidayYear.objects.filter(year__gte=2020, year__lte=2026)}
    assert sorted(years) == [2020, 2021, 2022, 2023, 2024, 2025, 2026]
    assert {y.source for y in years.values()} == {HolidayYear.Source.CHINESECALENDAR}
    assert not HolidayYear.objects.filter(year__lt=2020).exists()


def test_next_working_day_over_spring_festival_2026(db):
    assert next_working_day(D(2026, 2, 13)) == D(2026, 2, 13)  # Friday: itself
    assert next_working_day(D(2026, 2, 14)) == D(2026, 2, 14)  # Saturday, worked (调休)
    assert next_working_day(D(2026, 2, 15)) == D(2026, 2, 24)  # 15–23 off: Tuesday
    assert next_working_day(D(2026, 2, 21)) == D(2026, 2, 24)  # an ordinary Saturday inside the holiday
    assert next_working_day(D(2026, 2, 28)) == D(2026, 2, 28)  # the second 调休 Saturday
    assert next_working_day(D(2026, 3, 1)) == D(2026, 3, 2)  # Sunday: Monday


def test_is_working_day_follows_days_off_and_adjusted_weekends(db):
    assert is_working_day(D(2026, 2, 14)) is True  # Saturday worked
    assert is_working_day(D(2026, 2, 16)) is False  # Monday of Spring Festival
    assert is_working_day(D(2026, 2, 24)) is True
    assert is_working_day(D(2026, 3, 1)) is False  # ordinary Sunday
    assert is_working_day(D(2026, 3, 2)) is True  # ordinary Monday


def test_add_working_days_counts_from_the_day_after(db):
    # Thursday 12 Feb + 3: Friday 13 (1), Saturday 14 worked (2), Tuesday 24 (3).
    assert add_working_days(D(2026, 2, 12), 3) == D(2026, 2, 24)
    # Tuesday 24 + 4: 25, 26, 27, then Saturday 28 worked.
    assert add_working_days(D(2026, 2, 24), 4) == D(2026, 2, 28)
    assert add_working_days(D(2026, 2, 15), 0) == D(2026, 2, 15)
    with pytest.raises(ValueError):
        add_working_days(D(2026, 2, 15), -1)


def test_working_days_lists_the_next_n_in_one_query(db, django_assert_num_queries):
    with django_assert_num_queries(1):
        days = working_days(D(2026, 2, 12), 6)
    assert days == [D(2026, 2, 12), D(2026, 2, 13), D(2026, 2, 14), D(2026, 2, 24), D(2026, 2, 25), D(2026, 2, 26)]
    # Mid-autumn (25–27 Sep) is behind; National Day 1–7 Oct, Saturday 10 Oct worked.
    with django_assert_num_queries(1):
        days = working_days(D(2026, 9, 28), 6)
    assert days == [D(2026, 9, 28), D(2026, 9, 29), D(2026, 9, 30), D(2026, 10, 8), D(2026, 10, 9), D(2026, 10, 10)]
    assert working_days(D(2026, 2, 12), 0) == []


def test_working_days_still_answer_past_a_very_long_closure(db, django_assert_num_queries):
    # 1 January – 15 February 2030 closed (46 days, longer than one query's window).
    Holiday.objects.bulk_create(
        Holiday(date=D(2030, 1, 1) + datetime.timedelta(days=i), name="停业", is_day_off=True) for i in range(46)
    )
    with django_assert_num_queries(2):
        # Friday 15 Feb is the last closed day: Monday 18 February.
        assert next_working_day(D(2030, 1, 1)) == D(2030, 2, 18)


def test_a_year_without_data_is_answered_by_weekends_and_reported_unknown(known_until_2026):
    # Saturday 6 February 2027 (Spring Festival eve) has no data: the guess is Monday.
    assert next_working_day(D(2027, 2, 6)) == D(2027, 2, 8)
    assert is_working_day(D(2027, 2, 8)) is True
    assert is_known(D(2026, 12, 31)) is True
    assert is_known(D(2027, 1, 1)) is False
    assert unknown_years(D(2026, 6, 1), D(2028, 3, 1)) == [2027, 2028]
    assert unknown_years(D(2026, 1, 1), D(2026, 12, 31)) == []


def test_calendar_gaps_looks_sixty_days_ahead(known_until_2026, django_assert_num_queries):
    # 1 Nov + 60 days = 31 Dec: still 2026. 2 Nov + 60 days = 1 Jan 2027.
    assert calendar_gaps(D(2026, 11, 1)) == []
    assert calendar_gaps(D(2026, 11, 2)) == [2027]
    with django_assert_num_queries(1):
        assert calendar_gaps(D(2026, 12, 3)) == [2027]
    # 3 Dec 2026 + 400 days = 7 Jan 2028.
    assert calendar_gaps(D(2026, 12, 3), days=400) == [2027, 2028]
    assert calendar_gaps(D(2026, 12, 3), days=28) == []  # 31 December
