"""Tables of figures the managers' pages show and export as CSV (analytics, the club)."""

import csv
import dataclasses
import datetime

from django.http import HttpResponse

# Characters that make a spreadsheet read a cell as a formula (CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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

    @property
    def body(self) -> list[tuple[str | None, list]]:
        links = self.links or [None] * len(self.rows)
        return list(zip(links, self.rows, strict=True))


def csv_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime.date):
        return value.isoformat()
    text = str(value)
    if isinstance(value, str) and text.startswith(FORMULA_START):
        return "'" + text
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
