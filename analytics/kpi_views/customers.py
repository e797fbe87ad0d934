"""The customers behind a number: the drill-down list ``/analytics/customers/`` and its export."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from analytics import kpis
from analytics.forms import DrillFilterForm
from analytics.kpi_views.base import _month, _problems
from analytics.kpi_views.care import STAGE_NAMES
from analytics.models import RetentionStats
from analytics.views import _can_see
from crm.models import User
from crm.tables import ExportFormat, Table, export_response
from crm.tenancy import scope_for_user
from service.models import RepairOrder

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
