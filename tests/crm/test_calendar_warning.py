"""Telling managers and operators when the holiday calendar is about to run out:
the banner in the page layout and the system check crm.W001."""

import copy
import datetime
import io

import pytest
from django.conf import settings
from django.core.checks import run_checks
from django.core.management import call_command
from django.core.management.base import SystemCheckError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from crm.calendar import DayRange
from crm.models import HolidayYear
from crm.services import holiday_year_set

D = datetime.date
TODAY = D(2026, 12, 3)  # 2027 starts in 29 days
PAGE = reverse("customers:list")
BANNER = 'class="messages calendar-warning"'
PROCESSOR = "crm.context_processors.calendar_warning"


@pytest.fixture
def unknown_2027(db, monkeypatch):
    HolidayYear.objects.filter(year__gte=2027).delete()
    monkeypatch.setattr("crm.context_processors.localdate", lambda: TODAY)
    monkeypatch.setattr("crm.checks.localdate", lambda: TODAY)


@pytest.fixture
def without_processor(settings):
    """A function that turns the calendar context processor off."""

    def turn_off():
        templates = copy.deepcopy(settings.TEMPLATES)
        processors = templates[0]["OPTIONS"]["context_processors"]
        processors.remove(PROCESSOR)
        settings.TEMPLATES = templates

    return turn_off


def count_queries(client) -> tuple[int, str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(PAGE)
    assert response.status_code == 200
    return len(captured), response.content.decode()


def enter_2027() -> None:
    holiday_year_set(year=2027, days_off=[DayRange(D(2027, 2, 6), D(2027, 2, 13), "春节")], working_days=[], by=None)


def test_a_manager_sees_the_banner_and_it_goes_once_the_year_is_entered(client, manager, unknown_2027):
    client.force_login(manager)
    page = client.get(PAGE, HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert BANNER in page
    assert "The official holiday calendar has no data for 2027" in page
    assert "Ask an administrator" in page

    enter_2027()
    assert BANNER not in client.get(PAGE).content.decode()


def test_an_administrator_gets_a_link_to_the_year_form(client, group_admin, unknown_2027):
    client.force_login(group_admin)
    page = client.get(PAGE).content.decode()
    assert BANNER in page
    assert reverse("admin:crm_holidayyear_add") in page


def test_an_advisor_sees_no_banner_and_pays_no_query_for_it(client, advisor, unknown_2027, without_processor):
    client.force_login(advisor)
    client.get(PAGE)  # warm up: session and language
    with_processor, page = count_queries(client)
    assert BANNER not in page

    without_processor()
    assert count_queries(client)[0] == with_processor


def test_a_manager_pays_exactly_one_query_for_it(client, manager, unknown_2027, without_processor):
    client.force_login(manager)
    client.get(PAGE)  # warm up: session and language
    first, page = count_queries(client)
    second, page = count_queries(client)
    assert BANNER in page

    without_processor()
    bare, page = count_queries(client)
    assert BANNER not in page
    assert (first, second) == (bare + 1, bare + 1)


def test_the_check_warns_when_given_the_database(unknown_2027):
    warnings = [m for m in run_checks(tags=["calendar"], databases=["default"]) if m.id == "crm.W001"]
    assert len(warnings) == 1
    assert "2027" in warnings[0].msg

    enter_2027()
    assert [m for m in run_checks(tags=["calendar"], databases=["default"]) if m.id == "crm.W001"] == []


def test_the_check_never_reads_the_database_without_databases(unknown_2027, django_assert_num_queries):
    # What plain `check` and CI's `check --deploy --fail-level WARNING` run.
    with django_assert_num_queries(0):
        assert [m for m in run_checks() if m.id == "crm.W001"] == []
        assert [m for m in run_checks(include_deployment_checks=True) if m.id == "crm.W001"] == []


def test_manage_py_check_reports_it_with_database_and_deploy_stays_green(unknown_2027):
    err = io.StringIO()
    call_command("check", "--database", "default", "--tag", "calendar", stderr=err, stdout=io.StringIO())
    assert "crm.W001" in err.getvalue()
    with pytest.raises(SystemCheckError):
        call_command("check", "--database", "default", "--tag", "calendar", "--fail-level", "WARNING")
    # --deploy without --database: the calendar check does not fail the build on any date.
    call_command("check", "--deploy", "--tag", "calendar", "--fail-level", "WARNING", stdout=io.StringIO())


def test_the_processor_is_installed():
    assert PROCESSOR in settings.TEMPLATES[0]["OPTIONS"]["context_processors"]
