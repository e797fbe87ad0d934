"""The overview's store figures by month: churn, complaints, satisfaction, NPS and insurance."""

from django.utils.translation import gettext as _

from analytics import kpis
from analytics.kpi_views.base import Chart, Drill, Section, _month
from analytics.kpis import Filter
from crm.tables import Table


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
