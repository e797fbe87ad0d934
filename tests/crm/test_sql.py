import datetime

import pytest
from django.db.models import DateField, IntegerField, Value

from crm.models import Dealership
from crm.sql import AddDays, AddMonths, DaysBetween

D = datetime.date


def evaluate(expression):
    return Dealership.objects.annotate(result=expression).values_list("result", flat=True).get()


@pytest.fixture
def one_row(dealership):
    return dealership


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (D(2026, 1, 15), 6, D(2026, 7, 15)),
        (D(2026, 1, 31), 1, D(2026, 2, 28)),  # clamps to the shorter month
        (D(2027, 12, 31), 2, D(2028, 2, 29)),  # leap year
        (D(2026, 8, 31), 12, D(2027, 8, 31)),
        (D(2026, 11, 30), 3, D(2027, 2, 28)),
    ],
)
def test_add_months_clamps_like_the_calendar(one_row, start, months, expected):
    assert evaluate(AddMonths(Value(start, DateField()), Value(months, IntegerField()))) == expected


@pytest.mark.parametrize(
    ("start", "days", "expected"),
    [(D(2026, 12, 30), 3, D(2027, 1, 2)), (D(2026, 3, 1), -1, D(2026, 2, 28)), (D(2026, 1, 1), 9.9, D(2026, 1, 10))],
)
def test_add_days_adds_whole_days(one_row, start, days, expected):
    assert evaluate(AddDays(Value(start, DateField()), Value(days))) == expected


def test_days_between_counts_calendar_days(one_row):
    assert evaluate(DaysBetween(Value(D(2027, 3, 1), DateField()), Value(D(2026, 3, 1), DateField()))) == 365
    assert evaluate(DaysBetween(Value(D(2028, 3, 1), DateField()), Value(D(2028, 2, 1), DateField()))) == 29
