"""The managers' club page (``/loyalty/``): members by level and store, the
month-by-month movement of cards, the points outstanding, benefit use and the
store's insurance renewal rate.

Each table is built from one selector call into a plain ``Table`` (header and
rows), which the page renders and ``?export=<table>`` writes as CSV, like
/analytics/ does."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from crm.tables import Table, csv_response
from loyalty.forms import ClubFilterForm
from loyalty.models import LEVEL_ORDER, CardEvent, Level
from loyalty.selectors import (
    MOVEMENT_ACTIONS,
    NEW_CAR_DAYS,
    RENEWAL_GRACE_DAYS,
    ClubFilters,
    StoreLevels,
    benefit_use,
    card_movement,
    insurance_renewal,
    members_by_level,
    points_outstanding,
)


def _can_see(user) -> bool:
    """Managers and admins (and superusers), as for /analytics/; advisors work the desk."""
    return user.role in (user.Role.MANAGER, user.Role.ADMIN) or user.is_superuser


def _footer(rows: list[list]) -> list | None:
    """Column sums of the count cells (all but the first); None without rows."""
    if not rows:
        return None
    return [_("Total"), *(sum(row[i] or 0 for row in rows) for i in range(1, len(rows[0])))]


def _level_rows(lines: list[StoreLevels]) -> list[list]:
    return [[line.store, *(line.by_level[level] for level in LEVEL_ORDER), line.total] for line in lines]


def _level_header() -> list[str]:
    return [_("dealership"), *(str(Level(level).label) for level in LEVEL_ORDER), _("Total")]


def _members_table(*, user, filters: ClubFilters) -> Table:
    rows = _level_rows(members_by_level(user=user, filters=filters))
    return Table(
        name="members",
        title=_("Members by level"),
        header=_level_header(),
        rows=rows,
        footer=_footer(rows),
        note=_("Active cards today, per store."),
        empty=_("No active card."),
    )


def _movement_table(*, user, filters: ClubFilters) -> Table:
    labels = dict(CardEvent.Action.choices)
    rows = [
        [f"{month:%Y-%m}", *(counts[action] for action in MOVEMENT_ACTIONS)]
        for month, counts in card_movement(user=user, filters=filters)
    ]
    return Table(
        name="movement",
        title=_("Joins, upgrades, renewals, lapses and refunds"),
        header=[_("Month"), *(str(labels[action]) for action in MOVEMENT_ACTIONS)],
        rows=rows,
        footer=_footer(rows),
        note=_("The twelve months up to the month chosen, from the cards' events."),
    )


def _points_table(*, user, filters: ClubFilters) -> Table:
    rows = _level_rows(points_outstanding(user=user, filters=filters))
    return Table(
        name="points",
        title=_("Points outstanding"),
        header=_level_header(),
        rows=rows,
        footer=_footer(rows),
        note=_(
            "The programme's liability today: the points ledger of active cards. In points only: the club "
            "policy gives a point no value in yuan."
        ),
        empty=_("No points outstanding."),
    )


def _benefits_table(*, user, filters: ClubFilters) -> Table:
    rows = [
        [line.label, line.month_times, line.month_quantity, line.year_times, line.year_quantity]
        for line in benefit_use(user=user, filters=filters)
    ]
    return Table(
        name="benefits",
        title=_("Benefits used"),
        header=[
            _("Benefit"),
            _("Times in %(month)s") % {"month": f"{filters.month:%Y-%m}"},
            _("Quantity in %(month)s") % {"month": f"{filters.month:%Y-%m}"},
            _("Times in %(year)s") % {"year": filters.month.year},
            _("Quantity in %(year)s") % {"year": filters.month.year},
        ],
        rows=rows,
        note=_(
            "Redemptions at the desk, in the month and in its year up to the month's end. Quantities are "
            "times, or kilometres for towing."
        ),
    )


def _insurance_table(*, user, filters: ClubFilters) -> Table:
    lines = insurance_renewal(user=user, filters=filters)
    rows = [[line.store, line.due, line.renewed, line.rate] for line in lines]
    footer = None
    if lines:
        due, renewed = sum(line.due for line in lines), sum(line.renewed for line in lines)
        footer = [_("Total"), due, renewed, round(100 * renewed / due, 1) if due else None]
    return Table(
        name="insurance",
        title=_("Insurance renewal rate"),
        header=[_("dealership"), _("Cars due"), _("Renewed here"), _("Rate (%)")],
        rows=rows,
        footer=footer,
        note=_(
            "Cars due: the store's cars whose insurance ended in %(month)s (the end of a policy on record, the "
            "car's insurance expiry date, or the day before a renewal placed here started). Renewed here: a "
            "renewal placed at the store starting within %(grace)d days of the day after that end. A policy "
            "starting within %(new)d days of the purchase is the new car's first insurance, not a renewal."
        )
        % {"month": f"{filters.month:%Y-%m}", "grace": RENEWAL_GRACE_DAYS, "new": NEW_CAR_DAYS},
        empty=_("No car's insurance ended in this month."),
    )


TABLES = {
    "members": _members_table,
    "movement": _movement_table,
    "points": _points_table,
    "benefits": _benefits_table,
    "insurance": _insurance_table,
}


def _csv_response(table: Table, filters: ClubFilters) -> HttpResponse:
    return csv_response(table, filename=f"club-{table.name}-{filters.month:%Y-%m}.csv")


@login_required
@require_GET
def dashboard_view(request: HttpRequest) -> HttpResponse:
    """The club's figures for the user's stores; ``?month=YYYY-MM``, ``?dealership=``
    (group level) and ``?export=<table>`` for a table as CSV."""
    if not _can_see(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    params = request.GET.copy()
    export = params.pop("export", [""])[-1]
    form = ClubFilterForm(params or None, user=request.user, today=today)
    filters = form.filters()
    problems = [str(error) for errors in (form.errors if form.is_bound else {}).values() for error in errors]
    if export and export not in TABLES:
        problems.append(_("There is no table “%(name)s” to export.") % {"name": export[:30]})
    elif export and not problems:
        return _csv_response(TABLES[export](user=request.user, filters=filters), filters)
    tables = {name: build(user=request.user, filters=filters) for name, build in TABLES.items()}
    return render(
        request,
        "loyalty/dashboard.html",
        {
            "form": form,
            "filters": filters,
            "problems": problems,
            "tables": tables,
            "querystring": form.querystring(),
        },
    )
