import datetime

from care.calendar import lunar_birthday_in_lunar_year, lunar_birthdays_between, solar_to_lunar

D = datetime.date


def test_ordinary_lunar_birthday_converts_to_its_solar_day():
    # Lunar 2026-08-15 (Mid-Autumn) is 2026-09-25 in the almanac.
    assert lunar_birthday_in_lunar_year(2026, 8, 15, False) == D(2026, 9, 25)


def test_leap_month_birthday_uses_the_leap_month_when_the_year_has_it():
    # 2025 has a leap 6th month: leap 6/01 is 2025-07-25, ordinary 6/01 is 2025-06-25.
    assert lunar_birthday_in_lunar_year(2025, 6, 1, True) == D(2025, 7, 25)
    assert lunar_birthday_in_lunar_year(2025, 6, 1, False) == D(2025, 6, 25)


def test_leap_month_birthday_falls_back_to_the_ordinary_month():
    # 2026 has no leap month: leap-6th-month people celebrate on ordinary 6/01, 2026-07-14.
    assert lunar_birthday_in_lunar_year(2026, 6, 1, True) == D(2026, 7, 14)


def test_day_30_in_a_29_day_month_is_celebrated_on_day_29():
    # The 12th month of lunar 2026 has 29 days; its day 29 is 2027-02-05 (eve of Spring Festival 2027-02-06).
    assert lunar_birthday_in_lunar_year(2026, 12, 30, False) == D(2027, 2, 5)


def test_birthdays_between_crosses_the_solar_year_boundary():
    # Spring Festival is 2026-02-17 and 2027-02-06, and both 12th months have
    # 29 days, so lunar 12/01 is 2026-01-19 (lunar year 2025) and 2027-01-08
    # (lunar year 2026): one lunar birthday, two lunar years, one solar window.
    assert lunar_birthdays_between(12, 1, False, D(2025, 12, 1), D(2027, 1, 31)) == [D(2026, 1, 19), D(2027, 1, 8)]


def test_solar_to_lunar_reports_leap_months():
    assert solar_to_lunar(D(2025, 7, 25)) == (2025, 6, 1, True)
    assert solar_to_lunar(D(2026, 2, 17)) == (2026, 1, 1, False)


def test_next_working_day_follows_the_official_calendar(db):
    from crm.calendar import next_working_day

    # National Day 2026: 1–7 October off; Saturday 2026-10-10 is an adjusted
    # working day (State Council notice for 2026).
    assert next_working_day(D(2026, 10, 1)) == D(2026, 10, 8)
    assert next_working_day(D(2026, 10, 10)) == D(2026, 10, 10)
    # An ordinary weekend.
    assert next_working_day(D(2026, 11, 21)) == D(2026, 11, 23)
