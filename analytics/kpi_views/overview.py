"""The overview's order figures: visits and revenue, and their breakdown by kind and payer."""

from dateutil.relativedelta import relativedelta
from django.utils.translation import gettext as _

from analytics import kpis
from analytics.kpi_views.base import Chart, Drill, Section, _month, _total
from analytics.kpi_views.store_figures import (
    _churn_section,
    _complaints_section,
    _insurance_section,
    _nps_section,
    _satisfaction_section,
)
from analytics.kpis import KpiFilters
from crm.tables import Table

# --- The overview ----------------------------------------------------------------------------------


def _visits_sections(months: list[kpis.OrderMonth], drill: Drill) -> list[Section]:
    labels = [_month(row.month) for row in months]
    rows, links = [], []
    for row in months:
        last_year = row.month - relativedelta(years=1)
        rows.append(
            [
                _month(row.month),
                row.visits,
                row.visits_last_year,
                row.visits_change,
                row.revenue,
                row.revenue_last_year,
                row.revenue_change,
            ]
        )
        links.append(
            [
                None,
                drill("visits", row.visits, month=row.month, dims=True),
                drill("visits", row.visits_last_year, month=last_year, dims=True),
                None,
                drill("visits", row.visits, month=row.month, dims=True),
                drill("visits", row.visits_last_year, month=last_year, dims=True),
                None,
            ]
        )
    visits, before = _total(r.visits for r in months), _total(r.visits_last_year for r in months)
    revenue, revenue_before = _total(r.revenue for r in months), _total(r.revenue_last_year for r in months)
    table = Table(
        name="visits",
        title=_("Returning visits and revenue by month"),
        header=[
            _("Month"),
            _("Returning visits"),
            _("Same month last year"),
            _("Change (%)"),
            _("Revenue (yuan)"),
            _("Same month last year (yuan)"),
            _("Change (%)"),
        ],
        rows=rows,
        cell_links=links,
        footer=[
            _("Total"),
            visits,
            before,
            kpis.change(visits, before),
            revenue,
            revenue_before,
            kpis.change(revenue, revenue_before),
        ],
        note=_(
            "Returning visits (进厂台次): closed, not voided repair orders, counted on the day the car came in; "
            "revenue (产值): their labour and parts. Each month beside the same month a year before."
        ),
    )
    charts = [
        Chart(
            "line",
            _("Returning visits"),
            labels,
            [(_("This year"), [r.visits for r in months]), (_("A year before"), [r.visits_last_year for r in months])],
        ),
        Chart(
            "line",
            _("Revenue (yuan)"),
            labels,
            [
                (_("This year"), [r.revenue for r in months]),
                (_("A year before"), [r.revenue_last_year for r in months]),
            ],
            unit="¥",
        ),
    ]
    return [Section(table, charts)]


def _breakdown_section(
    name: str, title: str, lines: list[kpis.BreakdownLine], breakdown: kpis.OrderBreakdown, drill: Drill, key: str
) -> Section:
    table = Table(
        name=name,
        title=title,
        header=[
            _("Kind") if key == "kind" else _("Paid by"),
            _("Returning visits"),
            _("Share of visits (%)"),
            _("Revenue (yuan)"),
            _("Labour (yuan)"),
            _("Parts (yuan)"),
            _("Revenue per visit (yuan)"),
        ],
        rows=[
            [
                line.label,
                line.visits,
                line.share_of_visits,
                line.revenue,
                line.labor,
                line.parts,
                line.revenue_per_visit,
            ]
            for line in lines
        ],
        cell_links=[
            [None, drill("visits", line.visits, dims=True, **{key: line.key}), None, None, None, None, None]
            for line in lines
        ],
        footer=[
            _("Total"),
            breakdown.visits,
            kpis.share(breakdown.visits, breakdown.visits),
            breakdown.revenue,
            _total(line.labor for line in lines),
            _total(line.parts for line in lines),
            kpis.per(breakdown.revenue, breakdown.visits),
        ],
        note=_("Over the whole period."),
    )
    chart = Chart(
        "bar",
        title,
        [line.label for line in lines],
        [
            (_("Returning visits"), [line.visits for line in lines]),
            (_("Revenue (yuan)"), [line.revenue for line in lines]),
        ],
        two_axes=True,
    )
    return Section(table, [chart])


def overview_sections(*, user, filters: KpiFilters, drill: Drill) -> list[Section]:
    """Three queries: the orders by month, kind and payer (the period and the year before), the
    store's month, and the churn rate's monthly base."""
    orders, breakdown = kpis.order_figures(user=user, filters=filters)
    months = kpis.store_months(user=user, filters=filters, orders=orders)
    kpis.churn_bases(user=user, filters=filters, months=months)
    totals = kpis.store_totals(months)
    return [
        *_visits_sections(orders, drill),
        _breakdown_section("kinds", _("By order kind"), breakdown.by_kind, breakdown, drill, "kind"),
        _breakdown_section("payers", _("By payer"), breakdown.by_payer, breakdown, drill, "payer"),
        _churn_section(months, totals, drill),
        _complaints_section(months, totals, drill),
        _satisfaction_section(months, totals, drill),
        _nps_section(totals, drill),
        _insurance_section(months, totals, drill),
    ]
