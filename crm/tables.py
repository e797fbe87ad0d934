"""Tables of figures the managers' pages show and export as CSV or XLSX (analytics, the club)."""

import csv
import dataclasses
import datetime
import io
import re
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from openpyxl import Workbook
from openpyxl.styles import Font

# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExportFormat:
    CSV = "csv"
    XLSX = "xlsx"

    values = (CSV, XLSX)


@dataclasses.dataclass
class Table:
    name: str  # the export name: ?export=<name>
    title: str
    header: list[str]
    rows: list[list]
    footer: list | None = None
    # The link of each row's first cell, if any.
    links: list[str] | None = None
    note: str = ""
    numeric: bool = True  # the cells after the first are counts (right-aligned)
    empty: str = ""
    # A link per cell (None where a cell has none): the drill-down to the customers behind a number.
    cell_links: list[list[str | None]] | None = None

    @property
    def body(self) -> list[tuple[str | None, list]]:
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=True))

    @property
    def linked_rows(self) -> list[list[tuple[object, str | None]]]:
        """Each row as (cell, link) pairs; a first cell without a link of its own takes the row's link."""
        cell_links = self.cell_links or [[None] * len(row) for row in self.rows]
        row_links = self.links or [None] * len(self.rows)
        result = []
        for row, links, row_link in zip(self.rows, cell_links, row_links, strict=True):
            pairs = list(zip(row, links, strict=True))
            if pairs and pairs[0][1] is None and row_link:
                pairs[0] = (pairs[0][0], row_link)
            result.append(pairs)
        return result


def safe_text(text: str) -> str:
    """Text a spreadsheet will not run: a leading formula character is quoted with an apostrophe."""
    if text.startswith(FORMULA_START):
        return "'" + text
    return text


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str):
        return safe_text(text)
    return text


def csv_response(table: Table, *, filename: str) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    # The byte-order mark makes Excel read the file as UTF-8 (Chinese names, headers).
    response.write("\ufeff")
    writer = csv.writer(response)
    writer.writerow([csv_cell(str(cell)) for cell in table.header])
    for row in table.rows:
        writer.writerow([csv_cell(cell) for cell in row])
    if table.footer:
        writer.writerow([csv_cell(cell) for cell in table.footer])
    return response


def xlsx_cell(value):
    """A value as openpyxl should store it: numbers stay numbers, dates dates, and any
    text (lazy translations included) is plain text that cannot start a formula."""
    if value is None:
        return None
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal | datetime.datetime | datetime.date):
        if isinstance(value, datetime.datetime) and value.tzinfo is not None:
            # Excel has no time zones: the local wall-clock time, as the pages show it.
            return timezone.localtime(value).replace(tzinfo=None)
        return value
    return safe_text(str(value))


# Characters a sheet title may not hold.
_SHEET_TITLE_BAD = re.compile(r"[\[\]:*?/\\]")


def xlsx_bytes(table: Table) -> bytes:
    """The table as an XLSX workbook of one sheet: header and footer in bold."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = (_SHEET_TITLE_BAD.sub(" ", str(table.title)).strip() or table.name)[:31]
    bold = Font(bold=True)
    sheet.append([xlsx_cell(str(cell)) for cell in table.header])
    for cell in sheet[1]:
        cell.font = bold
    for row in table.rows:
        sheet.append([xlsx_cell(cell) for cell in row])
    if table.footer:
        sheet.append([xlsx_cell(cell) for cell in table.footer])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
    sheet.freeze_panes = "A2"
    for index, header in enumerate(table.header, start=1):
        width = max([len(str(header))] + [len(str(row[index - 1])) for row in table.rows if len(row) >= index])
        sheet.column_dimensions[sheet.cell(row=1, column=index).column_letter].width = min(max(width + 2, 8), 50)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def xlsx_response(table: Table, *, filename: str) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(table), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def export_response(table: Table, *, stem: str, export_format: str = ExportFormat.CSV) -> HttpResponse:
    """The table as ``<stem>.csv`` or ``<stem>.xlsx``."""
    if export_format == ExportFormat.XLSX:
        return xlsx_response(table, filename=f"{stem}.xlsx")
    return csv_response(table, filename=f"{stem}.csv")
