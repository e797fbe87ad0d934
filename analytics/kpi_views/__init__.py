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

from analytics.kpi_views.base import (
    FILTER_NAMES,
    Chart,
    Drill,
    Page,
    Section,
    _cache_key,
    _cache_seconds,
    _ignored_text,
    _kpi_page,
    _month,
    _number,
    _problems,
    _sections_context,
    _total,
)
from analytics.kpi_views.care import PER_STORE_REMARK, STAGE_NAMES, _funnel_table, advisor_sections, care_sections
from analytics.kpi_views.customers import (
    DRILL_COUNT_MAX,
    DRILL_EXPORT_MAX,
    DRILL_PAGE_SIZE,
    _CappedCount,
    _customers_table,
    _drill_description,
    customers_view,
)
from analytics.kpi_views.overview import _breakdown_section, _visits_sections, overview_sections
from analytics.kpi_views.pages import PAGES, advisors_view, care_view, overview_view, retention_view, value_view
from analytics.kpi_views.retention import retention_sections
from analytics.kpi_views.store_figures import (
    _churn_section,
    _complaints_section,
    _insurance_section,
    _nps_section,
    _satisfaction_section,
)
from analytics.kpi_views.value import value_sections

__all__ = [
    "DRILL_COUNT_MAX",
    "DRILL_EXPORT_MAX",
    "DRILL_PAGE_SIZE",
    "FILTER_NAMES",
    "PAGES",
    "PER_STORE_REMARK",
    "STAGE_NAMES",
    "Chart",
    "Drill",
    "Page",
    "Section",
    "_CappedCount",
    "_breakdown_section",
    "_cache_key",
    "_cache_seconds",
    "_churn_section",
    "_complaints_section",
    "_customers_table",
    "_drill_description",
    "_funnel_table",
    "_ignored_text",
    "_insurance_section",
    "_kpi_page",
    "_month",
    "_nps_section",
    "_number",
    "_problems",
    "_satisfaction_section",
    "_sections_context",
    "_total",
    "_visits_sections",
    "advisor_sections",
    "advisors_view",
    "care_sections",
    "care_view",
    "customers_view",
    "overview_sections",
    "overview_view",
    "retention_sections",
    "retention_view",
    "value_sections",
    "value_view",
]
