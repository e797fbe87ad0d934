"""The campaign pages (managers and admins; advisors get a 403):

- ``/analytics/campaigns/``: the campaigns of the user's stores with their
  results so far (members, holdout, lift, ROI, whether it is significant);
- ``/analytics/campaigns/new/``: the form, with the list upload;
- ``/analytics/campaigns/<id>/``: the two groups side by side, lift,
  incremental revenue, ROI, the confidence interval and the verdict in
  plain words; while nobody is drawn, a button (POST) draws the customers.

Every campaign is read through ``crm.tenancy``: another store's is a 404."""

import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from analytics.campaign_forms import CampaignForm, add_service_errors
from analytics.campaigns import campaign_create, campaign_draw
from analytics.campaigns_lists import campaign_list_read, reason_text
from analytics.campaigns_results import campaign_results, campaigns_results
from analytics.models import Campaign
from care.models import RecallCampaign
from crm.models import Dealership
from crm.tenancy import get_for_user_or_404, scope_for_user

PER_PAGE = 25


def _require_manager(user) -> None:
    """Managers and admins (and superusers); advisors work their queue instead."""
    if not (user.role in (user.Role.MANAGER, user.Role.ADMIN) or user.is_superuser):
        raise PermissionDenied


@login_required
@require_GET
def campaigns_view(request: HttpRequest) -> HttpResponse:
    _require_manager(request.user)
    today = timezone.localdate()
    campaigns = scope_for_user(Campaign.objects.select_related("dealership"), request.user)
    page = Paginator(campaigns, PER_PAGE).get_page(request.GET.get("page"))
    results = campaigns_results(campaigns=list(page.object_list), today=today)
    rows = [(campaign, results[campaign.pk]) for campaign in page.object_list]
    return render(
        request,
        "analytics/campaign_list.html",
        {"page": page, "rows": rows, "show_store": request.user.is_group_level},
    )


def _recalls(user, today: datetime.date) -> list[RecallCampaign]:
    """Recall campaigns still running that the user's store may use: its own and the group's."""
    recalls = RecallCampaign.objects.filter(end_date__gte=today)
    if not user.is_group_level:
        recalls = recalls.filter(Q(dealership__isnull=True) | Q(dealership_id=user.dealership_id))
    return list(recalls.order_by("-start_date", "pk")[:200])


@login_required
@require_http_methods(["GET", "POST"])
def campaign_new_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    _require_manager(user)
    if not user.is_group_level and user.dealership_id is None:
        raise PermissionDenied
    today = timezone.localdate()
    stores = list(scope_for_user(Dealership.objects.filter(is_active=True), user)) if user.is_group_level else None
    form = CampaignForm(request.POST or None, request.FILES or None, stores=stores, recalls=_recalls(user, today))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        store = next(s for s in stores if s.pk == data["dealership"]) if stores is not None else user.dealership
        try:
            audience = form.audience()
            if data["kind"] == Campaign.Kind.LIST:
                audience = campaign_list_read(dealership=store, upload=data["upload"]).audience
            campaign = campaign_create(
                dealership=store,
                name=data["name"],
                kind=data["kind"],
                starts_on=data["starts_on"],
                ends_on=data["ends_on"],
                cost=data["cost"],
                holdout_share=form.holdout_share,
                audience=audience,
                by=user,
            )
        except ValidationError as exc:
            # A list that cannot be read is a plain ValidationError: it belongs to the upload.
            if not hasattr(exc, "error_dict") and data["kind"] == Campaign.Kind.LIST:
                exc = ValidationError({"upload": exc.messages})
            add_service_errors(form, exc, rename={"holdout_share": "holdout_percent"})
        else:
            messages.success(request, _("Campaign “%(name)s” created.") % {"name": campaign.name})
            return redirect("analytics:campaign", pk=campaign.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "analytics/campaign_form.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def campaign_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    campaign = get_for_user_or_404(Campaign.objects.select_related("dealership", "rule"), request.user, pk=pk)
    if request.method == "POST":
        if request.POST.get("action") != "draw":
            return redirect("analytics:campaign", pk=campaign.pk)
        try:
            report = campaign_draw(campaign=campaign)
        except ValidationError as exc:
            for message in exc.messages:
                messages.error(request, message)
        else:
            messages.success(
                request,
                _("%(members)d customers drawn: %(holdout)d in the holdout, %(touches)d care touches made.")
                % {"members": report.members, "holdout": report.holdout, "touches": report.touches},
            )
        return redirect("analytics:campaign", pk=campaign.pk)
    results = campaign_results(campaign=campaign, today=timezone.localdate())
    audience = campaign.audience or {}
    return render(
        request,
        "analytics/campaign_detail.html",
        {
            "campaign": campaign,
            "results": results,
            "unmatched": [
                {"row": p.get("row"), "value": p.get("value"), "reason": reason_text(p.get("reason"), p.get("same_as"))}
                for p in audience.get("unmatched") or []
            ],
            "unmatched_count": audience.get("unmatched_count") or 0,
            "listed": len(audience.get("customer_ids") or []),
            "can_draw": campaign.drawn_at is None and timezone.localdate() <= campaign.ends_on,
        },
    )
