"""Exports of the KPI tables and the drill-down as CSV and XLSX (crm.tables): UTF-8, numbers as
numbers, and text that a spreadsheet would run as a formula neutralised."""

import csv
import datetime
import io
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_lazy
from openpyxl import load_workbook

from analytics.rollups import rollups_run
from crm.tables import XLSX_CONTENT_TYPE, Table, xlsx_bytes
from service.models import RepairOrder
from tests.analytics.kpi_rows import orders
from tests.customers.factories import CustomerFactory
from tests.vehicles.factories import VehicleFactory

SH = ZoneInfo("Asia/Shanghai")
BOM = "\ufeff"
MAY = {"period": "range", "start": "2025-05", "end": "2025-05"}


def get(client, user, name, **params):
    client.force_login(user)
    return client.get(reverse(f"analytics:{name}"), params, HTTP_ACCEPT_LANGUAGE="en")


def sheet_of(response):
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    return load_workbook(io.BytesIO(response.content)).active


def csv_of(response) -> list[list[str]]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    text = response.content.decode("utf-8")
    assert text.startswith(BOM)
    return list(csv.reader(io.StringIO(text[len(BOM) :])))


@pytest.fixture
def may(dealership):
    orders(dealership, datetime.date(2025, 5, 6), visits=12, revenue="6000.50")
    orders(dealership, datetime.date(2024, 5, 6), visits=10, revenue="5000.00")


def test_a_kpi_table_as_csv(client, manager, may):
    response = get(client, manager, "dashboard", export="visits", format="csv", **MAY)
    assert 'filename="visits-2025-05-2025-05.csv"' in response["Content-Disposition"]
    assert csv_of(response) == [
        [
            "Month",
            "Returning visits",
            "Same month last year",
            "Change (%)",
            "Revenue (yuan)",
            "Same month last year (yuan)",
            "Change (%)",
        ],
        ["2025-05", "12", "10", "20.0", "6000.50", "5000.00", "20.0"],
        ["Total", "12", "10", "20.0", "6000.50", "5000.00", "20.0"],
    ]


def test_csv_is_the_default_format(client, manager, may):
    assert csv_of(get(client, manager, "dashboard", export="visits", **MAY))[1][1] == "12"


def test_a_kpi_table_as_xlsx_keeps_numbers_as_numbers(client, manager, may):
    response = get(client, manager, "dashboard", export="visits", format="xlsx", **MAY)
    assert 'filename="visits-2025-05-2025-05.xlsx"' in response["Content-Disposition"]
    sheet = sheet_of(response)
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Month", "Returning visits", "Same month last year")
    assert rows[1] == ("2025-05", 12, 10, 20, 6000.5, 5000, 20)
    assert sheet.cell(row=2, column=2).data_type == "n"
    assert sheet.cell(row=1, column=1).font.bold
    assert sheet.cell(row=3, column=1).value == "Total" and sheet.cell(row=3, column=1).font.bold


def test_every_kpi_page_exports_its_tables_as_xlsx(client, manager):
    for name, table in [
        ("retention", "retention-maintenance"),
        ("care", "funnel-kinds"),
        ("advisors", "advisors"),
        ("value", "clv"),
        ("dashboard", "nps"),
    ]:
        sheet = sheet_of(get(client, manager, name, export=table, format="xlsx"))
        assert sheet.max_row >= 1, name


@pytest.fixture
def formula_customer(dealership):
    customer = CustomerFactory(dealership=dealership, name="=1+1")
    chinese = CustomerFactory(dealership=dealership, name="张三")
    for person in (customer, chinese):
        RepairOrder.objects.create(
            dealership=dealership,
            customer=person,
            vehicle=VehicleFactory(customer=person),
            number=f"RO-{person.pk}",
            kind="maintenance",
            opened_at=datetime.datetime(2025, 5, 6, 9, tzinfo=SH),
            closed_at=datetime.datetime(2025, 5, 6, 15, tzinfo=SH),
            mileage=1000,
        )
    return customer


def test_the_drill_down_as_xlsx_neutralises_a_formula_name(client, manager, formula_customer):
    response = get(client, manager, "customers", metric="visits", export="customers", format="xlsx", **MAY)
    assert 'filename="customers-visits-2025-05-2025-05.xlsx"' in response["Content-Disposition"]
    sheet = sheet_of(response)
    names = {sheet.cell(row=row, column=1).value: sheet.cell(row=row, column=1) for row in range(2, sheet.max_row + 1)}
    assert set(names) == {"'=1+1", "张三"}
    assert names["'=1+1"].data_type == "s"  # text, never a formula


def test_the_drill_down_as_csv_still_quotes_a_formula_name(client, manager, formula_customer):
    lines = csv_of(get(client, manager, "customers", metric="visits", export="customers", format="csv", **MAY))
    assert lines[0][:3] == ["name", "mobile", "value tier"]
    assert sorted(line[0] for line in lines[1:]) == ["'=1+1", "张三"]


def test_the_tier_page_exports_xlsx_too(client, manager, formula_customer):
    formula_customer.watch_reason, formula_customer.watch_since = "tier_down", datetime.date(2025, 5, 2)
    formula_customer.save(update_fields=["watch_reason", "watch_since"])
    rollups_run()  # the watch list as the night's rollups keep it
    sheet = sheet_of(get(client, manager, "tiers", export="watch", format="xlsx"))
    assert sheet.cell(row=2, column=1).value == "'=1+1"
    assert sheet.cell(row=2, column=4).value == datetime.datetime(2025, 5, 2)  # a date cell


def test_xlsx_cells_of_every_kind():
    table = Table(
        name="t",
        title="Title: with [bad] chars/",
        header=[gettext_lazy("name"), "amount"],
        rows=[["-3", Decimal("12.30")], ["@SUM(A1)", None], ["plain", 7]],
        footer=["+total", Decimal("19.30")],
    )
    with translation.override("en"):
        sheet = load_workbook(io.BytesIO(xlsx_bytes(table))).active
    assert sheet.title == "Title  with  bad  chars"
    assert list(sheet.iter_rows(values_only=True)) == [
        ("name", "amount"),
        ("'-3", 12.3),
        ("'@SUM(A1)", None),
        ("plain", 7),
        ("'+total", 19.3),
    ]
