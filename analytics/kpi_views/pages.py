"""The KPI pages (``PAGES``) and their views."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from analytics.kpi_views.base import Page, _kpi_page
from analytics.kpi_views.care import advisor_sections, care_sections
from analytics.kpi_views.overview import overview_sections
from analytics.kpi_views.retention import retention_sections
from analytics.kpi_views.value import value_sections

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
