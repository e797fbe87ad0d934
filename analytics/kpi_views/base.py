"""The shared machinery of the KPI pages: charts, sections, drill links, the cache and the page view."""

import dataclasses
import datetime
import hashlib
from collections.abc import Callable
from decimal import Decimal
from urllib.parse import quote_plus

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from analytics.forms import KpiFilterForm, Period
from analytics.kpis import Filter, KpiFilters
from analytics.models import RollupRun
from analytics.views import _can_see
from crm.tables import ExportFormat, Table, export_response

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


# --- The pages -------------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Page:
    url_name: str
    title: str
    build: Callable[..., list[Section]]
    intro: str = ""


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
