"""Likely duplicate customers of a store, and their merge (preview, then a
POST to confirm). Managers and above; advisors get a 403. Both customers
are fetched through the user's scope: another store's customer is a 404."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from crm.models import Dealership
from crm.tenancy import scope_for_user
from customers import panels
from customers.merge import (
    RULE_LABELS,
    customer_merge,
    duplicate_groups,
    duplicate_groups_with_customers,
    merge_preview,
    merge_refusal,
    merges_of,
)
from customers.models import Customer
from customers.selectors import customer_get_for_user

GROUPS_PER_PAGE = 20


def _require_manager(user) -> None:
    if not (user.is_superuser or user.role != user.Role.ADVISOR):
        raise PermissionDenied(_("Only a manager can merge customers."))


def _store_for(request: HttpRequest) -> Dealership | None:
    """The user's store; a group-level user picks one with ``?store=<id>``."""
    if not request.user.is_group_level:
        return request.user.dealership
    raw = request.GET.get("store", "")
    if not raw.isdigit():
        return None
    return scope_for_user(Dealership.objects.all(), request.user).filter(pk=int(raw)).first()


@login_required
@require_GET
def duplicate_list_view(request: HttpRequest) -> HttpResponse:
    """The store's likely duplicates, a page of groups at a time: the groups
    in one UNION query (counted and sliced by the paginator), their customers
    and cars in two more, whatever the page holds."""
    _require_manager(request.user)
    store = _store_for(request)
    stores = None
    page = None
    if store is None:
        stores = scope_for_user(Dealership.objects.all(), request.user).order_by("name")
    else:
        page = Paginator(duplicate_groups(dealership_id=store.pk), GROUPS_PER_PAGE).get_page(request.GET.get("page"))
        groups = duplicate_groups_with_customers(dealership_id=store.pk, groups=list(page.object_list))
        for group in groups:
            group.label = RULE_LABELS[group.rule]
        page.groups = groups
    return render(request, "customers/duplicate_list.html", {"store": store, "stores": stores, "page": page})


def _pair(request: HttpRequest, data) -> tuple[Customer, Customer] | None:
    kept_raw, merged_raw = data.get("kept", ""), data.get("merged", "")
    if not (kept_raw.isdigit() and merged_raw.isdigit()):
        return None
    kept = customer_get_for_user(user=request.user, pk=int(kept_raw))
    merged = customer_get_for_user(user=request.user, pk=int(merged_raw))
    return kept, merged


@login_required
@require_http_methods(["GET", "POST"])
def customer_merge_view(request: HttpRequest) -> HttpResponse:
    """GET ``?kept=&merged=``: what would move, per table. POST the same two:
    merge, then go to the kept customer."""
    _require_manager(request.user)
    data = request.POST if request.method == "POST" else request.GET
    pair = _pair(request, data)
    if pair is None:
        return render(
            request, "customers/merge_preview.html", {"error": _("Choose the two customers to merge.")}, status=400
        )
    kept, merged = pair
    error = merge_refusal(kept=kept, merged=merged, by=request.user)
    if request.method == "POST" and not error:
        try:
            record = customer_merge(kept=kept, merged=merged, by=request.user)
        except ValidationError as exc:
            error = " ".join(exc.messages)
        else:
            moved = sum(record.moved.values())
            messages.success(
                request,
                _("Customer #%(merged)s merged into this record: %(rows)d rows moved.")
                % {"merged": merged.pk, "rows": moved},
            )
            return redirect("customers:detail", pk=kept.pk)
    rows = merge_preview(kept=kept, merged=merged)
    return render(
        request,
        "customers/merge_preview.html",
        {"kept": kept, "merged": merged, "rows": rows, "error": error},
        status=400 if error else 200,
    )


# --- The 360 panel ---------------------------------------------------------------------------
def _merge_panel_context(*, customer: Customer, user) -> dict:
    # Advisors do not merge: their page spends no query on it.
    if not (user.is_superuser or user.role != user.Role.ADVISOR):
        return {"show": False}
    return {"show": True, "merges": list(merges_of(customer=customer)[:20])}


def register_panels() -> None:
    panels.register(
        panels.Panel(
            name="customer-merges",
            template="customers/partials/merge_panel.html",
            context=_merge_panel_context,
            order=90,
        )
    )
