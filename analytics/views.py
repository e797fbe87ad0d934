"""The tiers and churn page (/analytics/tiers/): tiers, month-on-month movement, churn, lost
reasons and the watch list, for a month.

Each table is built from one selector call into a plain ``Table`` (header and
rows), which the page renders and ``?export=<table>`` writes as CSV
(``&format=xlsx``: XLSX)."""

import datetime

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from analytics.forms import DashboardFilterForm
from analytics.selectors import (
    CHURN_STATES,
    NEW,
    ROLLED_UP,
    TIERS,
    AnalyticsFilters,
    BreakdownRow,
    Dimension,
    churn_funnel,
    lost_reasons,
    repaired_elsewhere_places,
    tier_distribution,
    tier_movement,
    watch_list,
)
from care.models import WinbackReason
from crm.tables import ExportFormat, Table, csv_response, export_response
from customers.models import Customer
from customers.selectors import customer_watch_text


def _can_see(user) -> bool:
    """Managers and admins (and superusers); advisors work their queue instead."""
    return user.role in (user.Role.MANAGER, user.Role.ADMIN) or user.is_superuser


def _dimension_title(dimension: str) -> str:
    return str(dict(Dimension.choices)[dimension])


def _footer(rows: list[list]) -> list:
    """Column sums of the count cells (all but the first)."""
    width = len(rows[0]) if rows else 0
    return [_("Total"), *(sum(row[i] for row in rows) for i in range(1, width))]


def _breakdown(rows: list[BreakdownRow], keys: list[str]) -> list[list]:
    return [[row.label, *(row.counts[key] for key in keys)] for row in rows]


def _tiers_table(*, user, filters: AnalyticsFilters, today: datetime.date) -> Table:
    keys = [*TIERS, "total"]
    rows = _breakdown(tier_distribution(user=user, filters=filters, today=today), keys)
    return Table(
        name="tiers",
        title=_("Tier distribution"),
        header=[_dimension_title(filters.dimension), *TIERS, _("Total")],
        rows=rows,
        footer=_footer(rows) if rows else None,
        note=_("Active customers by value tier."),
    )


def _movement_table(*, user, filters: AnalyticsFilters, today: datetime.date) -> Table:
    matrix = tier_movement(user=user, filters=filters, today=today)
    columns = [*TIERS, "left"]
    rows = []
    for source in [*TIERS, NEW]:
        counts = [matrix[source][column] for column in columns]
        label = _("New (no snapshot the month before)") if source == NEW else source
        rows.append([label, *counts, sum(counts)])
    return Table(
        name="movement",
        title=_("Month-on-month movement"),
        header=[
            _("%(before)s → %(month)s")
            % {"before": f"{filters.previous_month:%Y-%m}", "month": f"{filters.month:%Y-%m}"},
            *TIERS,
            _("No longer counted"),
            _("Total"),
        ],
        rows=rows,
        footer=_footer(rows),
        note=_("Rows: the tier the month before; columns: the tier in the month."),
    )


def _churn_table(*, user, filters: AnalyticsFilters, today: datetime.date) -> Table:
    keys = [*CHURN_STATES, "turned_at_risk", "turned_lost", "recovered"]
    rows = _breakdown(churn_funnel(user=user, filters=filters, today=today), keys)
    states = dict(Customer.ChurnState.choices)
    return Table(
        name="churn",
        title=_("Churn funnel"),
        header=[
            _dimension_title(filters.dimension),
            *(str(states[state]) for state in CHURN_STATES),
            _("Turned at risk in the month"),
            _("Turned lost in the month"),
            _("Recovered in the month"),
        ],
        rows=rows,
        footer=_footer(rows) if rows else None,
        note=_("Customers in each churn state, and the month's moves between them."),
    )


def _reasons_table(*, user, filters: AnalyticsFilters, today: datetime.date) -> Table:
    keys = [*WinbackReason.values, "repaired_elsewhere", "total"]
    rows = _breakdown(lost_reasons(user=user, filters=filters, today=today), keys)
    return Table(
        name="reasons",
        title=_("Lost reasons"),
        header=[
            _dimension_title(filters.dimension),
            *(str(label) for label in WinbackReason.labels),
            _("Repaired elsewhere"),
            _("Customers surveyed"),
        ],
        rows=rows,
        footer=_footer(rows) if rows else None,
        note=_("Win-back surveys of the month; a customer may give several reasons."),
    )


def _places_table(*, user, filters: AnalyticsFilters, today: datetime.date) -> Table:
    rows = [[place, n] for place, n in repaired_elsewhere_places(user=user, filters=filters)]
    return Table(
        name="places",
        title=_("Where they went instead"),
        header=[_("Where"), _("Customers")],
        rows=rows,
        note=_("The ten most frequent answers of the month's win-back surveys."),
    )


def _watch_table(*, user, filters: AnalyticsFilters, today: datetime.date) -> Table:
    customers = list(watch_list(user=user, filters=filters))
    return Table(
        name="watch",
        title=_("Watch list"),
        header=[_("name"), _("value tier"), _("Reason"), _("Since"), _("advisor")],
        rows=[[c.name, c.value_tier, customer_watch_text(c), c.watch_since, str(c.advisor or "")] for c in customers],
        links=[reverse("customers:detail", args=[c.pk]) for c in customers],
        note=_("Customers flagged by the nightly recompute, newest first (at most 50)."),
        numeric=False,
        empty=_("Nobody is on the watch list."),
    )


TABLES = {
    "tiers": _tiers_table,
    "movement": _movement_table,
    "churn": _churn_table,
    "reasons": _reasons_table,
    "places": _places_table,
    "watch": _watch_table,
}


def _csv_response(table: Table, filters: AnalyticsFilters) -> HttpResponse:
    return csv_response(table, filename=f"{table.name}-{filters.month:%Y-%m}.csv")


@login_required
@require_GET
def tiers_view(request: HttpRequest) -> HttpResponse:
    """Tiers, movement, churn, lost reasons and the watch list of the user's scope, for a month."""
    if not _can_see(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    params = request.GET.copy()
    export = params.pop("export", [""])[-1]
    export_format = params.pop("format", [ExportFormat.CSV])[-1]
    form = DashboardFilterForm(params or None, user=request.user, today=today)
    filters = form.filters()
    problems = [str(error) for errors in (form.errors if form.is_bound else {}).values() for error in errors]
    if export and export not in TABLES:
        problems.append(_("There is no table “%(name)s” to export.") % {"name": export[:30]})
    elif export and export_format not in ExportFormat.values:
        problems.append(_("Choose CSV or XLSX to export."))
    elif export and not problems:
        table = TABLES[export](user=request.user, filters=filters, today=today)
        return export_response(table, stem=f"{table.name}-{filters.month:%Y-%m}", export_format=export_format)
    tables = {name: build(user=request.user, filters=filters, today=today) for name, build in TABLES.items()}
    return render(
        request,
        "analytics/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "problems": problems,
            "tables": tables,
            "querystring": form.querystring(),
            "is_current_month": filters.month == today.replace(day=1),
            # The breakdowns by the newest car are read live; the others from last night's rollups.
            "live": filters.dimension not in ROLLED_UP,
            "dimension_title": _dimension_title(filters.dimension),
            "xlsx": True,
        },
    )
