"""/analytics/complaints/: the managers' complaint numbers for a month, each table
downloadable as CSV (``?export=<table>``, as on the dashboard).

On a page of its own so that the dashboard keeps its query count; the filters
are the dashboard's month and store."""

import datetime
from functools import cached_property

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from analytics.complaint_selectors import (
    Attribution,
    ClosedCases,
    ComplaintRates,
    TrendRow,
    closed_cases,
    complaint_rates,
    complaint_trend,
)
from analytics.forms import ComplaintFilterForm
from analytics.selectors import AnalyticsFilters
from analytics.views import _can_see, _csv_response
from crm.tables import Table

# A group's month has a row per advisor and technician of every store: the page shows the ones
# with the most complaints, the CSV all of them.
GROUP_PAGE_ROWS = 50
LONG_ATTRIBUTIONS = (Attribution.ADVISOR, Attribution.TECHNICIAN)


class _Numbers:
    """The month's figures, each read once however many tables show it. ``page_rows``: the rows
    the page shows of the tables by advisor and technician (None: all, as the exports)."""

    def __init__(self, *, user, filters: AnalyticsFilters, attributions: list[str], page_rows: int | None = None):
        self.user, self.filters, self.page_rows = user, filters, page_rows
        self.attributions = attributions

    @cached_property
    def _all_rates(self) -> tuple[int, dict[str, ComplaintRates]]:
        # Every breakdown at once: three queries, not two per breakdown.
        return complaint_rates(user=self.user, filters=self.filters, attributions=self.attributions)

    @property
    def customers(self) -> int:
        return self._all_rates[0]

    def rates(self, attribution: str) -> ComplaintRates:
        return self._all_rates[1][attribution]

    @cached_property
    def closed(self) -> ClosedCases:
        return closed_cases(user=self.user, filters=self.filters)

    @cached_property
    def trend(self) -> list[TrendRow]:
        return complaint_trend(user=self.user, filters=self.filters)


def _summary_table(numbers: _Numbers) -> Table:
    rates, closed = numbers.rates(Attribution.CATEGORY), numbers.closed
    return Table(
        name="complaint-summary",
        title=_("Complaints in the month"),
        header=[_("Figure"), _("Value")],
        rows=[
            [_("Complaints received"), rates.complaints],
            [_("Customers with a visit"), rates.customers],
            [_("Complaint rate (%)"), rates.rate],
            [_("Cases closed"), closed.closed],
            [_("Response on time (%)"), closed.response_rate],
            [_("Resolution on time (%)"), closed.resolution_rate],
            [_("Reopen rate (%)"), closed.reopen_rate],
            [_("Median hours to resolve"), closed.median_hours],
            [_("Goodwill cost (yuan)"), closed.goodwill],
        ],
        note=_(
            "Complaint rate: complaints received in the month / customers with a repair order opened in it. "
            "Of the cases closed in the month: response on time (acknowledged and the customer first contacted "
            "by their due times), resolution on time (closed by the resolution due time, pauses included), "
            "reopened at least once, the median hours from received to closed, and the goodwill they cost."
        ),
    )


RATE_TITLES = {
    Attribution.CATEGORY: (gettext_lazy("Complaint rate by category"), gettext_lazy("category")),
    Attribution.ADVISOR: (gettext_lazy("Complaint rate by advisor"), gettext_lazy("advisor")),
    Attribution.TECHNICIAN: (gettext_lazy("Complaint rate by technician"), gettext_lazy("technician")),
    Attribution.MODEL: (gettext_lazy("Complaint rate by model"), gettext_lazy("model")),
    Attribution.DEALERSHIP: (gettext_lazy("Complaint rate by dealership"), gettext_lazy("dealership")),
}
RATE_NOTES = {
    Attribution.CATEGORY: gettext_lazy("Each category's cases over all the month's customers with a visit."),
    Attribution.ADVISOR: gettext_lazy(
        "The repair order's advisor, else the customer's; customers with a visit counted the same way."
    ),
    Attribution.TECHNICIAN: gettext_lazy(
        "The technician of the case's repair order, and of the month's repair orders."
    ),
    Attribution.MODEL: gettext_lazy("The model of the case's car, and of the cars in for the month's repair orders."),
    Attribution.DEALERSHIP: gettext_lazy("The store of the case, and of the month's repair orders."),
}


def _rate_table(numbers: _Numbers, attribution: str) -> Table:
    rates = numbers.rates(attribution)
    title, column = RATE_TITLES[attribution]
    rows, note = rates.rows, str(RATE_NOTES[attribution])
    if numbers.page_rows is not None and attribution in LONG_ATTRIBUTIONS and len(rows) > numbers.page_rows:
        # Most complaints first already (_sorted): the page keeps the head, the CSV has every row.
        rows = rows[: numbers.page_rows]
        note += " " + _(
            "The %(n)s with the most complaints of %(all)s; the CSV lists them all, and choosing a store shows "
            "all of its own."
        ) % {"n": numbers.page_rows, "all": len(rates.rows)}
    return Table(
        name=f"complaint-{attribution}",
        title=str(title),
        header=[str(column), _("Complaints received"), _("Customers with a visit"), _("Complaint rate (%)")],
        rows=[[row.label, row.complaints, row.customers, row.rate] for row in rows],
        # All the month's customers with a visit, not a sum: one may see several advisors.
        footer=[_("All"), rates.complaints, rates.customers, rates.rate],
        note=note,
    )


def _trend_table(numbers: _Numbers) -> Table:
    return Table(
        name="complaint-trend",
        title=_("Month on month"),
        header=[_("Month"), _("Cases received"), _("Cases closed"), _("Cases with a clock breached")],
        rows=[[f"{row.month:%Y-%m}", row.received, row.closed, row.breached] for row in numbers.trend],
        note=_("The last twelve months: cases received, closed, and with an SLA clock breached in the month."),
    )


def _tables(*, group_level: bool) -> dict:
    """The page's tables in order; the by-store rates only for group-level users (a store sees one row)."""
    attributions = [Attribution.CATEGORY, Attribution.ADVISOR, Attribution.TECHNICIAN, Attribution.MODEL]
    if group_level:
        attributions.append(Attribution.DEALERSHIP)
    tables = {"complaint-summary": _summary_table}
    for attribution in attributions:
        tables[f"complaint-{attribution}"] = lambda numbers, a=attribution: _rate_table(numbers, a)
    tables["complaint-trend"] = _trend_table
    return tables


@login_required
@require_GET
def complaints_view(request: HttpRequest) -> HttpResponse:
    """The complaint numbers of the user's scope, for a month."""
    if not _can_see(request.user):
        raise PermissionDenied
    today: datetime.date = timezone.localdate()
    params = request.GET.copy()
    export = params.pop("export", [""])[-1]
    form = ComplaintFilterForm(params or None, user=request.user, today=today)
    filters = form.filters()
    problems = [str(error) for errors in (form.errors if form.is_bound else {}).values() for error in errors]
    builders = _tables(group_level=form.group_level)
    if export and export not in builders:
        problems.append(_("There is no table “%(name)s” to export.") % {"name": export[:30]})
    elif export and not problems:
        # The breakdown the table shows (the summary's is the categories'), nothing more.
        shown = export.removeprefix("complaint-")
        attributions = [shown] if shown in Attribution.values else [Attribution.CATEGORY] if shown == "summary" else []
        numbers = _Numbers(user=request.user, filters=filters, attributions=attributions)
        return _csv_response(builders[export](numbers), filters)
    group_wide = form.group_level and filters.dealership_id is None
    numbers = _Numbers(
        user=request.user,
        filters=filters,
        attributions=[a for a in Attribution.values if form.group_level or a != Attribution.DEALERSHIP],
        page_rows=GROUP_PAGE_ROWS if group_wide else None,
    )
    return render(
        request,
        "analytics/complaints.html",
        {
            "form": form,
            "filters": filters,
            "problems": problems,
            "tables": {name: build(numbers) for name, build in builders.items()},
            "querystring": form.querystring(),
        },
    )
