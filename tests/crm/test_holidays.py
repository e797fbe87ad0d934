"""Entering a year of the official calendar: the service, the admin's year
form and the load_holidays command.

The 2027 arrangement below is an example (the notice is not out yet):
1 January 2027 is a Friday, so Saturday 6 – Saturday 13 February is
Spring Festival and Saturday 20 February is worked.
"""

import datetime
import io

import chinese_calendar
import pytest
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import translation

from crm.calendar import DayRange, calendar_gaps, is_known, is_working_day, next_working_day
from crm.forms import HolidayYearForm, parse_day_ranges
from crm.models import Holiday, HolidayYear
from crm.services import holiday_year_set

D = datetime.date
ADD_URL = reverse("admin:crm_holidayyear_add")

DAYS_OFF_2027 = "2027-01-01 元旦\n2027-02-06..2027-02-13 春节\n"
WORKING_2027 = "2027-02-20 春节\n"


@pytest.fixture
def known_until_2026(db):
    HolidayYear.objects.filter(year__gte=2027).delete()
    Holiday.objects.filter(date__gte=D(2027, 1, 1)).delete()


def rows(year: int) -> list[tuple]:
    days = Holiday.objects.filter(date__gte=D(year, 1, 1), date__lte=D(year, 12, 31)).order_by("date")
    return list(days.values_list("date", "name", "is_day_off"))


def spring_festival_2027() -> dict:
    return {
        "days_off": [DayRange(D(2027, 1, 1), D(2027, 1, 1), "元旦"), DayRange(D(2027, 2, 6), D(2027, 2, 13), "春节")],
        "working_days": [DayRange(D(2027, 2, 20), D(2027, 2, 20), "春节")],
    }


def test_holiday_year_set_replaces_the_year_and_records_it(known_until_2026, group_admin):
    holiday_year_set(year=2027, **spring_festival_2027(), by=group_admin)
    assert rows(2027) == [
        (D(2027, 1, 1), "元旦", True),
        *[(D(2027, 2, day), "春节", True) for day in range(6, 14)],
        (D(2027, 2, 20), "春节", False),
    ]
    record = HolidayYear.objects.get(year=2027)
    assert (record.source, record.loaded_by) == (HolidayYear.Source.ADMIN, group_admin)

    # Entered again, differently: the old days are gone, 2026 untouched.
    holiday_year_set(year=2027, days_off=[DayRange(D(2027, 2, 7), D(2027, 2, 13), "春节")], working_days=[], by=None)
    assert rows(2027) == [(D(2027, 2, day), "春节", True) for day in range(7, 14)]
    assert HolidayYear.objects.filter(year=2027).count() == 1
    assert len(rows(2026)) == 39


def test_holiday_year_set_refuses_a_weekday_as_adjusted_working_day_and_saves_nothing(known_until_2026):
    with translation.override("en"), pytest.raises(ValidationError) as error:
        holiday_year_set(
            year=2027,
            days_off=[DayRange(D(2027, 2, 6), D(2027, 2, 13), "春节")],
            working_days=[DayRange(D(2027, 2, 18), D(2027, 2, 18), "春节")],
            by=None,
        )
    assert error.value.message_dict == {
        "working_days": ["2027-02-18 is a Thursday: only a Saturday or Sunday can be an adjusted working day."]
    }
    assert rows(2027) == []
    assert not HolidayYear.objects.filter(year=2027).exists()


@pytest.mark.parametrize(
    ("days_off", "working_days", "expected"),
    [
        (
            "2027-02-06..2027-02-13 春节\n2027-02-12..2027-02-14 春节",
            "",
            {"days_off": ["2027-02-06..2027-02-13 春节 and 2027-02-12..2027-02-14 春节 overlap."]},
        ),
        ("2028-01-01 元旦", "", {"days_off": ["2028-01-01 元旦 is not in 2027."]}),
        (
            "2027-02-13..2027-02-06 春节",
            "",
            {"days_off": ["2027-02-13..2027-02-06 春节: the last day comes before the first."]},
        ),
        ("2027-02-06..2027-02-13", "", {"days_off": ["2027-02-06..2027-02-13: give the holiday's name."]}),
        (
            "2027-02-01..2027-02-28 春节",
            "",
            {"days_off": ["2027-02-01..2027-02-28 春节 is longer than 14 days: check the dates."]},
        ),
        (
            "2027-02-06..2027-02-13 春节",
            "2027-02-13 春节",
            {"working_days": ["2027-02-13 春节 is also entered as a day off (2027-02-13)."]},
        ),
        ("2027-02-30 春节", "", {"days_off": ["Line 1: 2027-02-30 is not a date."]}),
        (
            "2027-01-01 元旦\n春节 from the 6th",
            "",
            {"days_off": ["Line 2: “春节 from the 6th” has no date; write e.g. “2027-02-06..2027-02-13 春节”."]},
        ),
        ("", "", {"days_off": ["This field is required."]}),
    ],
)
def test_the_year_form_reports_each_bad_line_on_its_field(known_until_2026, days_off, working_days, expected):
    with translation.override("en"):
        form = HolidayYearForm(data={"year": "2027", "days_off": days_off, "working_days": working_days})
        assert not form.is_valid()
        assert form.errors == expected


def test_the_year_form_reads_ranges_either_way_round_and_names_bare_working_days():
    assert parse_day_ranges("# comment\n\n春节 2027-02-06..2027-02-13\n2027-2-20 ~ 2027-2-21 春节") == [
        DayRange(D(2027, 2, 6), D(2027, 2, 13), "春节"),
        DayRange(D(2027, 2, 20), D(2027, 2, 21), "春节"),
    ]
    assert parse_day_ranges("2027-02-20", default_name="调休") == [DayRange(D(2027, 2, 20), D(2027, 2, 20), "调休")]


def test_admin_saves_a_2027_arrangement_and_the_calendar_then_skips_it(client, known_until_2026, group_admin):
    client.force_login(group_admin)
    assert next_working_day(D(2027, 2, 6)) == D(2027, 2, 8)  # before: a weekend guess

    response = client.post(ADD_URL, {"year": "2027", "days_off": DAYS_OFF_2027, "working_days": WORKING_2027})

    assert response.status_code == 302
    record = HolidayYear.objects.get(year=2027)
    assert (record.source, record.loaded_by) == (HolidayYear.Source.ADMIN, group_admin)
    assert len(rows(2027)) == 1 + 8 + 1
    # Saturday 13 and Sunday 14 February follow the holiday: Monday 15.
    assert next_working_day(D(2027, 2, 6)) == D(2027, 2, 15)
    assert next_working_day(D(2027, 1, 1)) == D(2027, 1, 4)
    assert is_working_day(D(2027, 2, 20)) is True
    assert is_known(D(2027, 2, 6)) is True
    assert calendar_gaps(D(2026, 12, 3)) == []


def test_admin_shows_bad_lines_as_field_errors_and_saves_nothing(client, known_until_2026, group_admin):
    client.force_login(group_admin)
    response = client.post(
        ADD_URL,
        {"year": "2027", "days_off": DAYS_OFF_2027, "working_days": "2027-02-18 春节"},
        HTTP_ACCEPT_LANGUAGE="en",
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["working_days"]
    assert rows(2027) == []
    assert not HolidayYear.objects.filter(year=2027).exists()


def test_admin_change_page_shows_the_year_as_ranges(client, group_admin):
    client.force_login(group_admin)
    year = HolidayYear.objects.get(year=2026)
    response = client.get(reverse("admin:crm_holidayyear_change", args=[year.pk]))
    assert response.status_code == 200
    initial = response.context["adminform"].form.initial
    assert initial["days_off"].splitlines() == [
        "2026-01-01..2026-01-03 元旦",
        "2026-02-15..2026-02-23 春节",
        "2026-04-04..2026-04-06 清明",
        "2026-05-01..2026-05-05 劳动节",
        "2026-06-19..2026-06-21 端午",
        "2026-09-25..2026-09-27 中秋",
        "2026-10-01..2026-10-07 国庆节",
    ]
    assert initial["working_days"].splitlines() == [
        "2026-01-04 元旦",
        "2026-02-14 春节",
        "2026-02-28 春节",
        "2026-05-09 劳动节",
        "2026-09-20 国庆节",
        "2026-10-10 国庆节",
    ]


def test_admin_changing_a_year_replaces_its_days(client, group_admin):
    client.force_login(group_admin)
    year = HolidayYear.objects.get(year=2026)
    response = client.post(
        reverse("admin:crm_holidayyear_change", args=[year.pk]),
        {"days_off": "2026-10-01..2026-10-08 国庆节", "working_days": "2026-10-10"},
    )
    assert response.status_code == 302
    assert rows(2026) == [
        *[(D(2026, 10, day), "国庆节", True) for day in range(1, 9)],
        (D(2026, 10, 10), "调休", False),
    ]


def test_managers_may_read_the_years_but_not_enter_them(client, manager):
    client.force_login(manager)
    assert client.get(reverse("admin:crm_holidayyear_changelist")).status_code == 200
    assert client.get(ADD_URL).status_code == 403


def test_load_holidays_loads_chinesecalendar_and_reports_missing_years(db):
    Holiday.objects.filter(date__gte=D(2026, 1, 1), date__lte=D(2026, 12, 31)).delete()
    HolidayYear.objects.filter(year=2026).delete()
    out, err = io.StringIO(), io.StringIO()
    release = chinese_calendar.__version__

    with translation.override("en"):
        call_command("load_holidays", "--year", "2026", "--year", "2099", stdout=out, stderr=err)

    assert out.getvalue() == f"2026: 33 days off and 6 adjusted working days from chinesecalendar {release}.\n"
    assert err.getvalue() == f"chinesecalendar {release} has no data for 2099: enter it in admin (Holiday years).\n"
    assert len(rows(2026)) == 39
    assert rows(2026)[4:6] == [(D(2026, 2, 14), "春节", False), (D(2026, 2, 15), "春节", True)]
    record = HolidayYear.objects.get(year=2026)
    assert (record.source, record.release, record.loaded_by) == (HolidayYear.Source.CHINESECALENDAR, release, None)


def test_load_holidays_fails_when_it_loads_nothing(db):
    with translation.override("en"), pytest.raises(CommandError) as error:
        call_command("load_holidays", "--year", "2099", stdout=io.StringIO(), stderr=io.StringIO())
    assert str(error.value) == f"Nothing loaded: chinesecalendar {chinese_calendar.__version__} has none of 2099."


def test_load_holidays_defaults_to_this_year_and_the_next(db, monkeypatch):
    monkeypatch.setattr("crm.management.commands.load_holidays.localdate", lambda: D(2026, 12, 3))
    out, err = io.StringIO(), io.StringIO()
    with translation.override("en"):
        call_command("load_holidays", stdout=out, stderr=err)
    assert out.getvalue().startswith("2026: ")
    # 2027 is reported unless the installed release already has it.
    if not HolidayYear.objects.filter(year=2027, source=HolidayYear.Source.CHINESECALENDAR).exists():
        assert "has no data for 2027" in err.getvalue()


def test_the_years_list_warns_about_coming_years_without_data(client, known_until_2026, group_admin, monkeypatch):
    monkeypatch.setattr("crm.admin.localdate", lambda: D(2026, 12, 3))
    client.force_login(group_admin)
    response = client.get(reverse("admin:crm_holidayyear_changelist"), HTTP_ACCEPT_LANGUAGE="en")
    assert [str(m) for m in response.context["messages"]] == [
        "No official holiday data for 2027 yet: add the year when its notice is published."
    ]
