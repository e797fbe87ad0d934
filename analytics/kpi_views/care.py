"""The care funnel and advisors pages: what the care touches became, advisor by advisor."""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics import kpis
from analytics.kpi_views.base import Chart, Drill, Section
from analytics.kpis import Filter, KpiFilters
from crm.tables import Table

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
