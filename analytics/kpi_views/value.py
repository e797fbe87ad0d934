"""The customer value page: what each tier is worth and how the tiers move."""

from decimal import Decimal

from django.utils.translation import gettext as _

from analytics import kpis
from analytics.kpi_views.base import Chart, Drill, Section, _month, _total
from analytics.kpis import Filter, KpiFilters
from crm.tables import Table

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
