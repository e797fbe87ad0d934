"""The rows of the analytics tables written as HTML in Python.

A KPI page holds a thousand cells and more (24 months × 7 columns, each number a
link), and the template engine pays several microseconds per node for each: the
rows took most of a page's time. These functions write the same markup the
templates wrote (``partials/kpi_table.html``, ``partials/table.html``), with the
same escaping and number formatting as ``{{ cell }}``, for the templates to
insert whole; the header, the footer and the charts stay in the templates.
"""

import datetime
from decimal import Decimal

from django.conf import settings
from django.utils.formats import get_format, localize
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe
from django.utils.timezone import template_localtime

from crm.tables import Table

DASH = "—"


class _Cells:
    """How ``{{ cell }}`` writes a value in the current language: numbers by the language's
    decimal separator (read once per table), everything else through ``localize`` and
    ``conditional_escape`` as the template engine does."""

    def __init__(self):
        self.plain_numbers = not settings.USE_THOUSAND_SEPARATOR
        self.decimal_separator = get_format("DECIMAL_SEPARATOR")

    def text(self, value, *, dash: bool) -> str:
        if value is None and dash:
            return DASH
        kind = type(value)
        if self.plain_numbers and kind is int:
            return str(value)
        if self.plain_numbers and kind is Decimal and value.is_finite():
            text = format(value, "f")
            return text if self.decimal_separator == "." else text.replace(".", self.decimal_separator)
        if kind is str:
            return conditional_escape(value)
        if isinstance(value, datetime.datetime):
            value = template_localtime(value)  # an aware time in the local zone, as {{ }} shows it
        if isinstance(value, datetime.datetime | datetime.date | float | Decimal | bool | int):
            value = localize(value)
        return conditional_escape(value if isinstance(value, str) else str(value))


def _cell(cells: _Cells, value, link, *, first: bool, numeric: bool) -> str:
    if first:
        text = cells.text(value, dash=False)
        inner = f'<a href="{conditional_escape(link)}">{text}</a>' if link else text
        return f'<th scope="row">{inner}</th>'
    text = cells.text(value, dash=True)
    inner = f'<a href="{conditional_escape(link)}" class="drill">{text}</a>' if link else text
    return f'<td class="num">{inner}</td>' if numeric else f"<td>{inner}</td>"


def kpi_rows_html(table: Table) -> SafeString:
    """The body rows of a KPI table (``partials/kpi_table.html``): each cell a link where
    ``cell_links`` has one, a first cell without its own taking the row's link."""
    cells = _Cells()
    numeric = table.numeric
    out = []
    for row in table.linked_rows:
        parts = [_cell(cells, value, link, first=i == 0, numeric=numeric) for i, (value, link) in enumerate(row)]
        out.append(f"<tr>{''.join(parts)}</tr>")
    return mark_safe("\n".join(out))


def rows_html(table: Table) -> SafeString:
    """The body rows of a plain table (``partials/table.html``): the first cell links to the row's page."""
    cells = _Cells()
    numeric = table.numeric
    out = []
    for link, row in table.body:
        parts = [
            _cell(cells, value, link if i == 0 else None, first=i == 0, numeric=numeric) for i, value in enumerate(row)
        ]
        out.append(f"<tr>{''.join(parts)}</tr>")
    return mark_safe("\n".join(out))
