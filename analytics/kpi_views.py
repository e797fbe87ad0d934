"""The KPI dashboards: ``/analytics/`` (the overview) and its sub-pages for retention,
the care funnel, the advisors and customer value.

Every page reads the nightly rollups through ``analytics.kpis`` (a fixed number of
queries whatever the data), shows each figure as a table with its chart above it
(the table is what screen readers and the exports read), links each number to the
customers behind it (``/analytics/customers/``) and exports each table as CSV or
XLSX (``?export=<table>&format=csv|xlsx``).

Charts: the view prepares each chart's data (categories and series); the
template writes it with ``json_script`` and ``static/analytics/charts.js`` draws
it with the vendored ECharts. No inline script, for the coming CSP.
"""

import dataclasses
import datetime
import hashlib
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import quote_plus

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from analytics import kpis
from analytics.forms import DrillFilterForm, KpiFilterForm, Period
from analytics.kpis import Filter, KpiFilters
from analytics.models import RetentionStats, RollupRun
from analytics.views import _can_see
from crm.models import User
from crm.tables import ExportFormat, Table, export_response
from crm.tenancy import scope_for_user
from service.models import RepairOrder

# --- Charts and sections ------------------------------------------------------------------------


@dataclasses.dataclass
class Chart:
    """One chart's data, as ``static/analytics/charts.js`` reads it."""

    kind: str  # "line" or "bar"
    title: str
    categories: list[str]
    series: list[tuple[str, list]]
    unit: str = ""  # after the values on the axis and in the tooltip: "%", "¥"
    stacked: bool = False
    # The second series on an axis of its own (visits and yuan in one chart).
    two_axes: bool = False

    def data(self) -> dict:
        return {
            "type": self.kind,
            "title": str(self.title),
            "categories": [str(category) for category in self.categories],
            "series": [{"name": str(name), "data": [_number(v) for v in values]} for name, values in self.series],
            "unit": self.unit,
            "stacked": self.stacked,
            "twoAxes": self.two_axes,
        }


def _number(value) -> float | int | None:
    # JSON numbers for the chart (DjangoJSONEncoder would write a Decimal as a string).
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


FILTER_NAMES = {
    Filter.STORE: gettext_lazy("store"),
    Filter.PERIOD: gettext_lazy("period"),
    Filter.MODEL: gettext_lazy("model"),
    Filter.TIER: gettext_lazy("value tier"),
}


@dataclasses.dataclass
class Section:
    table: Table
    charts: list[Chart] = dataclasses.field(default_factory=list)
    # The filters this table does not follow (Filter names), said under it when they are set.
    ignored: tuple[str, ...] = ()
    # Written below the table's note (e.g. why the churn-adjusted NPS matters).
    remark: str = ""


def _ignored_text(section: Section, filters: KpiFilters) -> str:
    in_force = {Filter.MODEL: filters.model_id is not None, Filter.TIER: bool(filters.tier), Filter.PERIOD: True}
    names = [str(FILTER_NAMES[name]) for name in section.ignored if in_force.get(name)]
    if not names:
        return ""
    return _("This table does not follow the %(filters)s filter.") % {"filters": _(", ").join(names)}


def _month(month: datetime.date) -> str:
    # Plain arithmetic: strftime costs more, and a page writes a month a few hundred times.
    return f"{month.year:04d}-{month.month:02d}"


class Drill:
    """Links to the customers behind a number: ``/analytics/customers/?metric=…``, with the
    store filter, and the model and tier filters where the figure follows them.

    A page writes a few hundred of these: the parts every link shares are encoded once, and
    each value once (``_quoted``), instead of a ``urlencode`` per link."""

    def __init__(self, filters: KpiFilters):
        self.filters = filters
        self.url = reverse("analytics:customers")
        self._period = f"start={_month(filters.start)}&end={_month(filters.end)}"
        self._store = f"&dealership={filters.dealership_id}" if filters.dealership_id is not None else ""
        dims = ""
        if filters.model_id is not None:
            dims += f"&model={filters.model_id}"
        if filters.tier:
            dims += f"&tier={quote_plus(filters.tier)}"
        self._dims = dims
        self._quoted: dict[str, str] = {}

    def _quote(self, value) -> str:
        text = str(value)
        quoted = self._quoted.get(text)
        if quoted is None:
            quoted = self._quoted[text] = quote_plus(text)
        return quoted

    def __call__(
        self, metric: str, count, *, month: datetime.date | None = None, dims: bool = False, **extra
    ) -> str | None:
        if not count:
            return None  # nobody behind a zero
        # In urlencode's order: metric, period, store, model, tier, then the extras (an extra
        # ``dealership`` — a store's row of a group's table — stands in for the store filter's).
        period = self._period if month is None else f"start={_month(month)}&end={_month(month)}"
        store = self._store
        if "dealership" in extra:
            chosen = extra.pop("dealership")
            store = f"&dealership={self._quote(chosen)}" if chosen is not None else store
        query = f"metric={self._quote(metric)}&{period}{store}{self._dims if dims else ''}"
        for key, value in extra.items():
            if value is not None:
                query += f"&{key}={self._quote(value)}"
        return f"{self.url}?{query}"


def _total(values) -> int | Decimal:
    # Not ``value or 0``: Decimal("0.00") is falsy, and the total keeps its cents.
    return sum(value for value in values if value is not None)


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


def _churn_section(months: list[kpis.StoreMonth], totals: kpis.StoreTotals, drill: Drill) -> Section:
    table = Table(
        name="churn",
        title=_("Churn and recovery by month"),
        header=[
            _("Month"),
            _("New customers"),
            _("Turned at risk"),
            _("Lost"),
            _("Recovered"),
            _("Active or at risk at the month's end"),
            _("Churn rate (%)"),
        ],
        rows=[
            [
                _month(m.month),
                m.new_customers,
                m.at_risk_customers,
                m.lost_customers,
                m.recovered_customers,
                m.base,
                m.churn_rate,
            ]
            for m in months
        ],
        cell_links=[
            [
                None,
                drill("new", m.new_customers, month=m.month),
                drill("at_risk", m.at_risk_customers, month=m.month),
                drill("lost", m.lost_customers, month=m.month),
                drill("recovered", m.recovered_customers, month=m.month),
                None,
                None,
            ]
            for m in months
        ],
        footer=[
            _("Total"),
            totals.new_customers,
            totals.at_risk_customers,
            totals.lost_customers,
            totals.recovered_customers,
            None,
            None,
        ],
        note=_(
            "Churn rate = customers lost in the month ÷ (customers active or at risk in the month's tier snapshot "
            "+ those lost in the month): of the customers not yet lost, the share the month lost. At risk: 6 months "
            "without a visit; lost: 12; recovered: back with a closed repair order."
        ),
    )
    labels = [_month(m.month) for m in months]
    charts = [
        Chart(
            "line",
            _("Churn and recovery"),
            labels,
            [
                (_("Turned at risk"), [m.at_risk_customers for m in months]),
                (_("Lost"), [m.lost_customers for m in months]),
                (_("Recovered"), [m.recovered_customers for m in months]),
            ],
        ),
        Chart("line", _("Churn rate (%)"), labels, [(_("Churn rate (%)"), [m.churn_rate for m in months])], unit="%"),
    ]
    return Section(table, charts, ignored=(Filter.MODEL, Filter.TIER))


def _complaints_section(months: list[kpis.StoreMonth], totals: kpis.StoreTotals, drill: Drill) -> Section:
    table = Table(
        name="complaint-rate",
        title=_("Complaint rate by month"),
        header=[_("Month"), _("Complaints received"), _("Returning visits"), _("Complaints per 100 visits")],
        rows=[[_month(m.month), m.complaints, m.visits, m.complaint_rate] for m in months],
        cell_links=[
            [None, drill("complaints", m.complaints, month=m.month), drill("visits", m.visits, month=m.month), None]
            for m in months
        ],
        footer=[_("Total"), totals.complaints, totals.visits, totals.complaint_rate],
        note=_("Complaints received in the month per 100 returning visits of the month (all models and tiers)."),
    )
    chart = Chart(
        "line",
        _("Complaints per 100 visits"),
        [_month(m.month) for m in months],
        [(_("Complaints per 100 visits"), [m.complaint_rate for m in months])],
    )
    return Section(table, [chart], ignored=(Filter.MODEL, Filter.TIER))


def _satisfaction_section(months: list[kpis.StoreMonth], totals: kpis.StoreTotals, drill: Drill) -> Section:
    table = Table(
        name="satisfaction",
        title=_("CSAT and NPS by month"),
        header=[
            _("Month"),
            _("CSAT answers"),
            _("CSAT (% 4–5)"),
            _("Average CSAT (1–5)"),
            _("NPS answers (returning)"),
            _("NPS (returning)"),
            _("NPS answers (with lapsed)"),
            _("NPS (with lapsed)"),
        ],
        rows=[
            [
                _month(m.month),
                m.csat_count,
                m.csat,
                m.csat_average,
                m.nps_count,
                m.nps,
                m.nps_all_count,
                m.nps_with_lapsed,
            ]
            for m in months
        ],
        cell_links=[
            [
                None,
                drill("csat", m.csat_count, month=m.month),
                None,
                None,
                drill("nps", m.nps_count, month=m.month, group="returning"),
                None,
                drill("nps", m.nps_all_count, month=m.month, group="all"),
                None,
            ]
            for m in months
        ],
        footer=[
            _("Total"),
            totals.csat_count,
            totals.csat,
            totals.csat_average,
            totals.nps_count,
            totals.nps,
            totals.nps_all_count,
            totals.nps_with_lapsed,
        ],
        note=_(
            "CSAT: % of the answers that were 4 or 5. NPS: % promoters (9–10) − % detractors (0–6), "
            "from −100 to +100; returning customers' answers alone, then with the lapsed customers' answers."
        ),
    )
    chart = Chart(
        "line",
        _("CSAT and NPS"),
        [_month(m.month) for m in months],
        [
            (_("CSAT (% 4–5)"), [m.csat for m in months]),
            (_("NPS (returning)"), [m.nps for m in months]),
            (_("NPS (with lapsed)"), [m.nps_with_lapsed for m in months]),
        ],
    )
    return Section(table, [chart], ignored=(Filter.MODEL, Filter.TIER))


def _nps_section(totals: kpis.StoreTotals, drill: Drill) -> Section:
    """The churn-adjusted NPS (★): returning customers' NPS beside the one that hears the lapsed too."""
    groups = [
        ("returning", _("Returning customers"), totals.nps_count, totals.nps_promoters, totals.nps_detractors),
        (
            "lapsed",
            _("Lapsed customers (at risk or lost)"),
            totals.lapsed_nps_count,
            totals.lapsed_nps_promoters,
            totals.lapsed_nps_detractors,
        ),
        (
            "all",
            _("Everyone asked (churn-adjusted)"),
            totals.nps_all_count,
            totals.nps_promoters + totals.lapsed_nps_promoters,
            totals.nps_detractors + totals.lapsed_nps_detractors,
        ),
    ]
    rows, links = [], []
    for group, label, answers, promoters, detractors in groups:
        passives = answers - promoters - detractors
        rows.append(
            [
                label,
                answers,
                promoters,
                passives,
                detractors,
                kpis.nps_from_counts(promoters=promoters, detractors=detractors, answers=answers),
            ]
        )
        links.append(
            [
                None,
                drill("nps", answers, group=group),
                drill("promoters", promoters, group=group),
                drill("passives", passives, group=group),
                drill("detractors", detractors, group=group),
                None,
            ]
        )
    table = Table(
        name="nps",
        title=_("Churn-adjusted NPS"),
        header=[
            _("Who answered"),
            _("Answers"),
            _("Promoters (9–10)"),
            _("Passives (7–8)"),
            _("Detractors (0–6)"),
            _("NPS"),
        ],
        rows=rows,
        cell_links=links,
        note=_("The period's answers to “how likely are you to recommend us” (0–10)."),
    )
    chart = Chart(
        "bar",
        _("NPS"),
        [row[0] for row in rows],
        [(_("NPS"), [row[5] for row in rows])],
    )
    remark = _(
        "An NPS that hears only from the customers who came back flatters the store: the ones who left are "
        "asked too (the win-back call and an SMS to at-risk and lost customers), and the second figure counts them."
    )
    return Section(table, [chart], ignored=(Filter.MODEL, Filter.TIER), remark=remark)


def _insurance_section(months: list[kpis.StoreMonth], totals: kpis.StoreTotals, drill: Drill) -> Section:
    table = Table(
        name="insurance",
        title=_("Insurance renewals and club joins by month"),
        header=[_("Month"), _("Policies ending"), _("Renewed here"), _("Renewal rate (%)"), _("Club cards started")],
        rows=[
            [_month(m.month), m.insurance_due, m.insurance_renewed, m.insurance_renewal_rate, m.membership_joins]
            for m in months
        ],
        cell_links=[
            [
                None,
                drill("insurance_due", m.insurance_due, month=m.month),
                drill("insurance_renewed", m.insurance_renewed, month=m.month),
                None,
                drill("joins", m.membership_joins, month=m.month),
            ]
            for m in months
        ],
        footer=[
            _("Total"),
            totals.insurance_due,
            totals.insurance_renewed,
            totals.insurance_renewal_rate,
            totals.membership_joins,
        ],
        note=_("Renewal rate: policies renewed here ÷ policies ending in the month."),
    )
    labels = [_month(m.month) for m in months]
    charts = [
        Chart(
            "line",
            _("Renewal rate (%)"),
            labels,
            [(_("Renewal rate (%)"), [m.insurance_renewal_rate for m in months])],
            unit="%",
        ),
        Chart(
            "bar", _("Club cards started"), labels, [(_("Club cards started"), [m.membership_joins for m in months])]
        ),
    ]
    return Section(table, charts, ignored=(Filter.MODEL, Filter.TIER))


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


# --- Retention -------------------------------------------------------------------------------------


def retention_sections(*, user, filters: KpiFilters, drill: Drill) -> list[Section]:
    """One query: RetentionStats by dimension and band."""
    retention = kpis.retention(user=user, filters=filters)
    as_of = f"{retention.as_of:%Y-%m-%d}" if retention.as_of else "—"
    age, age_total = retention.by_age, kpis.Retention.total(retention.by_age)

    def age_link(line, *, returned: bool | None = None, count=None):
        return drill("cars", count, dims=True, dimension="age", band=line.band or None, returned=returned)

    age_table = Table(
        name="retention-age",
        title=_("Retention by vehicle age"),
        header=[_("Vehicle age"), _("Cars"), _("Came back in the last 12 months"), _("Retention (%)")],
        rows=[[line.label, line.cars, line.returned, line.rate] for line in age],
        cell_links=[
            [None, age_link(line, count=line.cars), age_link(line, returned=1, count=line.returned), None]
            for line in age
        ],
        footer=[_("All"), age_total.cars, age_total.returned, age_total.rate],
        note=_("Cars in use by their age as of %(day)s, and those with a maintenance visit in the 12 months before.")
        % {"day": as_of},
    )
    cohorts, cohort_total = retention.by_maintenance, kpis.Retention.total(retention.by_maintenance)

    def cohort_link(line, number: int | None, count):
        return drill("cars", count, dims=True, dimension="maintenance", band=line.band or None, returned=number)

    cohort_table = Table(
        name="retention-maintenance",
        title=_("Return rate by maintenance number"),
        header=[
            _("Bought in"),
            _("Cars"),
            _("Back for the 1st maintenance"),
            _("1st maintenance return rate (%)"),
            _("Back for the 2nd"),
            _("2nd (%)"),
            _("Back for the 3rd"),
            _("3rd (%)"),
        ],
        rows=[
            [
                line.label,
                line.cars,
                line.returned,
                line.rate,
                line.returned_2,
                line.rate_2,
                line.returned_3,
                line.rate_3,
            ]
            for line in cohorts
        ],
        cell_links=[
            [
                None,
                cohort_link(line, None, line.cars),
                cohort_link(line, 1, line.returned),
                None,
                cohort_link(line, 2, line.returned_2),
                None,
                cohort_link(line, 3, line.returned_3),
                None,
            ]
            for line in cohorts
        ],
        footer=[
            _("All"),
            cohort_total.cars,
            cohort_total.returned,
            cohort_total.rate,
            cohort_total.returned_2,
            cohort_total.rate_2,
            cohort_total.returned_3,
            cohort_total.rate_3,
        ],
        note=_(
            "The cars sold here in each year whose first maintenance is due (the model's months after the "
            "purchase), and how many came back for their first (首保回厂率), second and third maintenance, each as "
            "%% of the year's cars, as of %(day)s."
        )
        % {"day": as_of},
    )
    charts_age = [
        Chart(
            "bar",
            _("Retention (%)"),
            [line.label for line in age],
            [(_("Retention (%)"), [line.rate for line in age])],
            unit="%",
        )
    ]
    charts_cohort = [
        Chart(
            "bar",
            _("Return rate by maintenance number"),
            [line.label for line in cohorts],
            [
                (_("1st (%)"), [line.rate for line in cohorts]),
                (_("2nd (%)"), [line.rate_2 for line in cohorts]),
                (_("3rd (%)"), [line.rate_3 for line in cohorts]),
            ],
            unit="%",
        )
    ]
    ignored = (Filter.PERIOD, Filter.TIER)
    return [Section(age_table, charts_age, ignored=ignored), Section(cohort_table, charts_cohort, ignored=ignored)]


# --- The care funnel -------------------------------------------------------------------------------


def _funnel_table(
    name: str, title: str, column: str, lines: list[kpis.FunnelLine], total, drill: Drill, key: str
) -> Table:
    def row(line):
        cells = [line.label, line.counts["generated"]]
        for stage in kpis.FUNNEL_STAGES[1:]:
            cells += [line.counts[stage], line.rate(stage)]
        return [*cells, line.revenue]

    def links(line):
        extra = {key: line.key} if key else {}
        if key == "advisor" and line.key is None:
            extra = {"advisor": "none"}
        # A store's line (a group-level user's funnel by store) lists that store's customers.
        cells = [None, drill("care", line.counts["generated"], stage="generated", **extra)]
        for stage in kpis.FUNNEL_STAGES[1:]:
            cells += [drill("care", line.counts[stage], stage=stage, **extra), None]
        return [*cells, None]

    header = [column, _("Touches generated")]
    for stage in kpis.FUNNEL_STAGES[1:]:
        header += [str(STAGE_NAMES[stage]), _("%")]
    header.append(_("Revenue of the visits (yuan)"))
    return Table(
        name=name,
        title=title,
        header=header,
        rows=[row(line) for line in lines],
        cell_links=[links(line) for line in lines],
        footer=[_("Total"), *row(total)[1:]],
        note=(
            _(
                # xgettext:no-python-format
                "The touches generated in the period, and how many were contacted, reached the customer, booked a "
                "visit and arrived (a closed repair order), each as % of the touches generated; the revenue of the "
                "visits they brought."
            )
        ),
    )


# Said under the tables a group-level user sees by store instead of by advisor.
PER_STORE_REMARK = gettext_lazy("By store: choose a store in the filters to see its advisors one by one.")

STAGE_NAMES = {
    "generated": gettext_lazy("Generated"),
    "contacted": gettext_lazy("Contacted"),
    "reached": gettext_lazy("Reached"),
    "booked": gettext_lazy("Booked"),
    "arrived": gettext_lazy("Arrived"),
}


def care_sections(*, user, filters: KpiFilters, drill: Drill) -> list[Section]:
    """One query: MonthlyCareStats by kind and advisor (by store for a group-level user without a
    store chosen)."""
    funnel = kpis.care_funnel(user=user, filters=filters)
    stage_names = [str(STAGE_NAMES[stage]) for stage in kpis.FUNNEL_STAGES]
    overall = Chart(
        "bar",
        _("Care funnel"),
        stage_names,
        [(_("Touches"), [funnel.total.counts[stage] for stage in kpis.FUNNEL_STAGES])],
    )
    by_kind = Chart(
        "bar",
        _("Care funnel by kind"),
        [line.label for line in funnel.by_kind],
        [
            (name, [line.counts[stage] for line in funnel.by_kind])
            for name, stage in zip(stage_names, kpis.FUNNEL_STAGES, strict=True)
        ],
    )
    per_store = funnel.per_store
    by_advisor = Chart(
        "bar",
        _("Care funnel by store") if per_store else _("Care funnel by advisor"),
        [line.label for line in funnel.by_advisor],
        [
            (name, [line.counts[stage] for line in funnel.by_advisor])
            for name, stage in zip(stage_names, kpis.FUNNEL_STAGES, strict=True)
        ],
    )
    ignored = (Filter.MODEL, Filter.TIER)
    return [
        Section(
            _funnel_table(
                "funnel-kinds", _("Care funnel by kind"), _("Kind"), funnel.by_kind, funnel.total, drill, "kind"
            ),
            [overall, by_kind],
            ignored=ignored,
        ),
        Section(
            _funnel_table(
                "funnel-advisors",
                _("Care funnel by store") if per_store else _("Care funnel by advisor"),
                _("dealership") if per_store else _("advisor"),
                funnel.by_advisor,
                funnel.total,
                drill,
                "dealership" if per_store else "advisor",
            ),
            [by_advisor],
            ignored=ignored,
            remark=PER_STORE_REMARK if per_store else "",
        ),
    ]


# --- Advisors --------------------------------------------------------------------------------------


def advisor_sections(*, user, filters: KpiFilters, drill: Drill) -> list[Section]:
    """Two queries: the care funnel by advisor and MonthlyAdvisorStats by advisor (both by store for
    a group-level user without a store chosen)."""
    funnel = kpis.care_funnel(user=user, filters=filters)
    lines = kpis.advisor_lines(user=user, filters=filters, funnel=funnel)
    per_store = funnel.per_store

    def whose(line) -> dict:
        # The drill-down narrows to the advisor, or to the store on a store's line.
        if per_store:
            return {"dealership": line.dealership_id}
        return {"advisor": "none" if line.advisor_id is None else line.advisor_id}

    table = Table(
        name="advisors",
        title=_("Advisors by store") if per_store else _("Advisors"),
        header=[
            _("dealership") if per_store else _("advisor"),
            _("Calls made"),
            _("Reached (%)"),
            _("Booked (%)"),
            _("Arrived (%)"),
            _("Revenue from their touches (yuan)"),
            _("CSAT answers of their customers"),
            _("CSAT (% 4–5)"),
            _("Average CSAT (1–5)"),
            _("Touches overdue"),
        ],
        rows=[
            [
                line.label,
                line.calls,
                line.reached_rate,
                line.booked_rate,
                line.arrived_rate,
                line.revenue,
                line.csat_count,
                line.csat,
                line.csat_average,
                line.overdue,
            ]
            for line in lines
        ],
        cell_links=[
            [
                None,
                drill("calls", line.calls, **whose(line)),
                None,
                None,
                drill("care", line.arrived, stage="arrived", **whose(line)),
                None,
                drill("csat", line.csat_count, **whose(line)),
                None,
                None,
                drill("overdue", line.overdue, **whose(line)),
            ]
            for line in lines
        ],
        note=(
            _(
                # xgettext:no-python-format
                "Reached: calls that reached the customer, % of the calls made. Booked: calls ending in a booking, "
                "% of the calls that reached the customer. Arrived: their booked touches whose customer came in, "
                "% of the booked touches. Revenue: the visits their touches brought. CSAT: their customers' answers "
                "that were 4 or 5, % of the answers (1–5), and their average. Overdue: their touches past due at the "
                "end of the period's last day."
            )
        ),
    )
    labels = [line.label for line in lines]
    charts = [
        Chart(
            "bar",
            _("Calls"),
            labels,
            [
                (_("Calls made"), [line.calls for line in lines]),
                (_("Reached"), [line.reached for line in lines]),
                (_("Booked"), [line.booked for line in lines]),
            ],
        ),
        Chart(
            "bar",
            _("Rates (%)"),
            labels,
            [
                (_("Reached (%)"), [line.reached_rate for line in lines]),
                (_("Booked (%)"), [line.booked_rate for line in lines]),
                (_("Arrived (%)"), [line.arrived_rate for line in lines]),
            ],
            unit="%",
        ),
    ]
    remark = PER_STORE_REMARK if per_store else ""
    return [Section(table, charts, ignored=(Filter.MODEL, Filter.TIER), remark=remark)]


# --- Customer value --------------------------------------------------------------------------------


def value_sections(*, user, filters: KpiFilters, drill: Drill) -> list[Section]:
    """Three queries: revenue by tier, the live customers by tier, the monthly tier snapshots."""
    values = kpis.tier_values(user=user, filters=filters)
    customers = _total(v.customers for v in values)
    revenue = _total(v.revenue for v in values)
    visits = _total(v.visits for v in values)
    clv = Table(
        name="clv",
        title=_("Customer value by tier"),
        header=[
            _("value tier"),
            _("Customers"),
            _("Returning visits"),
            _("Revenue (yuan)"),
            _("Customer value (yuan per customer)"),
            _("Visits per customer"),
        ],
        rows=[[v.tier, v.customers, v.visits, v.revenue, v.value_per_customer, v.visits_per_customer] for v in values],
        cell_links=[
            [None, drill("tier", v.customers, tier=v.tier), drill("visits", v.visits, tier=v.tier), None, None, None]
            for v in values
        ],
        footer=[
            _("All"),
            customers,
            visits,
            revenue,
            kpis.per(revenue, customers),
            kpis.per(visits, customers, places=Decimal("0.1")),
        ],
        note=_(
            "Customer value (CLV) here = the revenue of a tier's customers over the period ÷ the active customers "
            "of that tier today: what a customer of the tier brought in the period. The tier of a visit is the "
            "customer's tier when the nightly rollup counted it."
        ),
    )
    months = kpis.tier_months(user=user, filters=filters)
    tiers = [filters.tier] if filters.tier else list(kpis.TIERS)
    month_rows = [
        [_month(month), *(counts[t] for t in tiers), sum(counts[t] for t in tiers)] for month, counts in months.items()
    ]
    tier_table = Table(
        name="tier-months",
        title=_("Customers by tier, month by month"),
        header=[_("Month"), *tiers, _("Total")],
        rows=month_rows,
        cell_links=[
            [None, *(drill("snapshot", counts[t], month=month, tier=t) for t in tiers), None]
            for month, counts in months.items()
        ],
        note=_("Active customers in each month's tier snapshot (the nightly tier recompute)."),
    )
    clv_chart = Chart(
        "bar",
        _("Customer value (yuan per customer)"),
        [v.tier for v in values],
        [(_("Customer value (yuan per customer)"), [v.value_per_customer for v in values])],
        unit="¥",
    )
    tier_chart = Chart(
        "bar",
        _("Customers by tier"),
        [_month(month) for month in months],
        [(tier, [counts[tier] for counts in months.values()]) for tier in tiers],
        stacked=True,
    )
    return [
        Section(clv, [clv_chart], ignored=(Filter.MODEL,)),
        Section(tier_table, [tier_chart], ignored=(Filter.MODEL,)),
    ]


# --- The pages -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Page:
    url_name: str
    title: str
    build: Callable[..., list[Section]]
    intro: str = ""


PAGES = {
    "dashboard": Page(
        "dashboard",
        gettext_lazy("Key figures"),
        overview_sections,
        gettext_lazy(
            "Visits and revenue, churn, complaints, satisfaction, insurance and the club, month by month, "
            "from the nightly rollups (figures up to last night)."
        ),
    ),
    "retention": Page(
        "retention",
        gettext_lazy("Retention"),
        retention_sections,
        gettext_lazy("Which cars keep coming back: by age, and for their first, second and third maintenance."),
    ),
    "care": Page(
        "care",
        gettext_lazy("Care funnel"),
        care_sections,
        gettext_lazy("What the care touches became: contacted, reached, booked, arrived, and the revenue."),
    ),
    "advisors": Page(
        "advisors",
        gettext_lazy("Advisors"),
        advisor_sections,
        gettext_lazy("Each advisor's calls and what they brought."),
    ),
    "value": Page(
        "value",
        gettext_lazy("Customer value"),
        value_sections,
        gettext_lazy("What a customer of each tier is worth, and how the tiers move month by month."),
    ),
}


def _problems(form) -> list[str]:
    return [str(error) for errors in (form.errors if form.is_bound else {}).values() for error in errors]


def _cache_seconds() -> int:
    """How long a page's rendered figures are kept (``CRM_KPI_CACHE_SECONDS``; 0: not cached)."""
    return getattr(settings, "CRM_KPI_CACHE_SECONDS", 0)


def _cache_key(request: HttpRequest, page: Page, querystring: str) -> str | None:
    """The key of a page's rendered figures: they change only when the rollups run, so the last
    finished run is in the key (a new run, a new key; one small indexed query). A store's users
    share their store's, the group-level users the group's. None without a run to key on."""
    run = RollupRun.objects.filter(finished_at__isnull=False).order_by("-started_at", "-pk").first()
    if run is None:
        return None
    user = request.user
    scope = "group" if user.is_group_level else f"store-{user.dealership_id}"
    raw = "|".join(
        [page.url_name, str(run.pk), run.started_at.isoformat(), translation.get_language(), scope, querystring]
    )
    return "analytics:kpi:" + hashlib.sha256(raw.encode()).hexdigest()


def _sections_context(sections: list[Section], filters: KpiFilters) -> list[dict]:
    return [
        {
            "table": section.table,
            "charts": [
                {"id": f"chart-{section.table.name}-{i}", "data": chart.data(), "title": chart.title}
                for i, chart in enumerate(section.charts)
            ],
            "ignored": _ignored_text(section, filters),
            "remark": section.remark,
        }
        for section in sections
    ]


def _kpi_page(request: HttpRequest, page: Page) -> HttpResponse:
    """A KPI page. Its figures (the tables and charts, everything below the filters) may be served
    from the cache (``CRM_KPI_CACHE_SECONDS``): they are rendered once per night's rollups, filters,
    language and scope. Exports and pages with a problem are always built afresh."""
    if not _can_see(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    params = request.GET.copy()
    export = params.pop("export", [""])[-1]
    export_format = params.pop("format", [ExportFormat.CSV])[-1]
    form = KpiFilterForm(params or None, user=request.user, today=today, default_period=Period.LAST_24)
    filters = form.filters()
    problems = _problems(form)
    querystring = form.querystring()
    context = {"page": page, "form": form, "filters": filters, "problems": problems, "querystring": querystring}
    key = _cache_key(request, page, querystring) if _cache_seconds() and not export and not problems else None
    cached = cache.get(key) if key else None
    if cached is not None:
        return render(request, "analytics/kpi_page.html", {**context, "sections_html": mark_safe(cached)})
    sections = page.build(user=request.user, filters=filters, drill=Drill(filters))
    tables = {section.table.name: section.table for section in sections}
    if export:
        if export not in tables:
            problems.append(_("There is no table “%(name)s” to export.") % {"name": export[:30]})
        elif export_format not in ExportFormat.values:
            problems.append(_("Choose CSV or XLSX to export."))
        elif not problems:
            stem = f"{export}-{filters.start:%Y-%m}-{filters.end:%Y-%m}"
            return export_response(tables[export], stem=stem, export_format=export_format)
    context.update({"sections": _sections_context(sections, filters), "tables": tables})
    sections_html = render_to_string("analytics/partials/kpi_sections.html", context, request)
    if key:
        cache.set(key, str(sections_html), _cache_seconds())
    return render(request, "analytics/kpi_page.html", {**context, "sections_html": mark_safe(sections_html)})


@login_required
@require_GET
def overview_view(request: HttpRequest) -> HttpResponse:
    return _kpi_page(request, PAGES["dashboard"])


@login_required
@require_GET
def retention_view(request: HttpRequest) -> HttpResponse:
    return _kpi_page(request, PAGES["retention"])


@login_required
@require_GET
def care_view(request: HttpRequest) -> HttpResponse:
    return _kpi_page(request, PAGES["care"])


@login_required
@require_GET
def advisors_view(request: HttpRequest) -> HttpResponse:
    return _kpi_page(request, PAGES["advisors"])


@login_required
@require_GET
def value_view(request: HttpRequest) -> HttpResponse:
    return _kpi_page(request, PAGES["value"])


# --- The customers behind a number -----------------------------------------------------------------

DRILL_PAGE_SIZE = 50
# An export of a drill-down holds at most this many customers (one query).
DRILL_EXPORT_MAX = 10_000
# The list counts its customers up to this many ("more than 1,000"): a group's figure may stand
# for hundreds of thousands, and counting them all costs more than the page.
DRILL_COUNT_MAX = 1_000


class _CappedCount:
    """A queryset for the Paginator whose count stops at ``cap`` + 1 (one ``COUNT`` over a
    ``LIMIT``): pages past the cap are not offered."""

    def __init__(self, queryset, cap: int):
        self.queryset, self.cap = queryset, cap

    def count(self) -> int:
        return self.queryset.order_by()[: self.cap + 1].count()

    def __getitem__(self, key):
        return self.queryset[key]

    def __len__(self) -> int:
        return self.count()


def _drill_description(drill: kpis.DrillFilters, form: DrillFilterForm, *, user) -> list[str]:
    """What the list is, in words: the figure, then each narrowing in force (one query for an
    advisor's name, in the user's scope)."""
    period = drill.period
    parts = [str(dict(kpis.Metric.choices)[drill.metric])]
    if drill.metric in (kpis.Metric.TIER, kpis.Metric.OVERDUE):
        parts.append(_("today") if drill.metric == kpis.Metric.OVERDUE else _("active customers today"))
    elif period.start == period.end:
        parts.append(_month(period.start))
    else:
        parts.append(f"{_month(period.start)} – {_month(period.end)}")
    if drill.kind:
        parts.append(
            kpis.kind_label(drill.kind)
            if drill.metric == kpis.Metric.CARE
            else str(dict(RepairOrder.Kind.choices).get(drill.kind, drill.kind))
        )
    if drill.payer:
        parts.append(str(kpis.PAYER_LABELS.get(drill.payer, drill.payer)))
    if drill.stage:
        parts.append(str(STAGE_NAMES[drill.stage]))
    if drill.group:
        parts.append(str(dict(kpis.SurveyGroup.choices)[drill.group]))
    if drill.dimension:
        parts.append(str(dict(RetentionStats.Dimension.choices)[drill.dimension]))
    if drill.band:
        parts.append(drill.band)
    if drill.returned:
        parts.append(_("came back for maintenance no. %(n)s") % {"n": drill.returned})
    if drill.advisor == kpis.NO_ADVISOR:
        parts.append(_("No advisor"))
    elif drill.advisor is not None:
        advisor = scope_for_user(User.objects.filter(pk=drill.advisor), user).first()
        parts.append(str(advisor) if advisor else _("an advisor of another store"))
    if period.model_id is not None and form.cleaned_data.get("model"):
        parts.append(str(form.cleaned_data["model"]))
    if period.tier:
        parts.append(_("tier %(tier)s") % {"tier": period.tier})
    return parts


def _customers_table(customers, *, group_level: bool, title: str) -> Table:
    header = [_("name"), _("mobile"), _("value tier"), _("churn state"), _("last visit"), _("advisor")]
    if group_level:
        header.append(_("dealership"))

    def row(c) -> list:
        cells = [c.name, c.phone, c.value_tier, c.get_churn_state_display(), c.last_visit_date, str(c.advisor or "")]
        return [*cells, c.dealership.name] if group_level else cells

    customers = list(customers)
    return Table(
        name="customers",
        title=title,
        header=header,
        rows=[row(c) for c in customers],
        links=[reverse("customers:detail", args=[c.pk]) for c in customers],
        numeric=False,
        empty=_("No customers behind this figure."),
    )


@login_required
@require_GET
def customers_view(request: HttpRequest) -> HttpResponse:
    """/analytics/customers/?metric=…: the customers behind a figure of the KPI pages, live,
    paginated (a count and a page), exportable as CSV or XLSX."""
    if not _can_see(request.user):
        raise PermissionDenied
    today = timezone.localdate()
    params = request.GET.copy()
    export = params.pop("export", [""])[-1]
    export_format = params.pop("format", [ExportFormat.CSV])[-1]
    page_number = params.pop("page", ["1"])[-1]
    form = DrillFilterForm(params or None, user=request.user, today=today)
    drill = form.drill()
    problems = _problems(form)
    if drill is None and not problems:
        problems.append(_("Say which figure's customers to list."))
    context = {
        "form": form,
        "problems": problems,
        "back": f"{reverse('analytics:dashboard')}?{form.querystring()}",
    }
    if drill is None:
        return render(request, "analytics/customers.html", context, status=400)
    customers = kpis.drilldown_customers(user=request.user, drill=drill, today=today)
    description = _drill_description(drill, form, user=request.user)
    title = " · ".join(description)
    if export:
        if export != "customers":
            problems.append(_("There is no table “%(name)s” to export.") % {"name": export[:30]})
        elif export_format not in ExportFormat.values:
            problems.append(_("Choose CSV or XLSX to export."))
        else:
            table = _customers_table(customers[:DRILL_EXPORT_MAX], group_level=form.group_level, title=title)
            stem = f"customers-{drill.metric}-{drill.period.start:%Y-%m}-{drill.period.end:%Y-%m}"
            return export_response(table, stem=stem, export_format=export_format)
    page = Paginator(_CappedCount(customers, DRILL_COUNT_MAX), DRILL_PAGE_SIZE).get_page(page_number)
    query = params.copy()
    context.update(
        {
            "drill": drill,
            "title": title,
            "page": page,
            "table": _customers_table(page.object_list, group_level=form.group_level, title=title),
            "querystring": query.urlencode(),
            "export_max": DRILL_EXPORT_MAX,
            "count_max": DRILL_COUNT_MAX,
            "more": page.paginator.count > DRILL_COUNT_MAX,
        }
    )
    return render(request, "analytics/customers.html", context)
