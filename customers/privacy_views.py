"""A customer's PIPL rights in pages: the privacy page (export links, the
erasure form, the requests so far), the export as a JSON file or a readable
page, and the erasure (POST, typed confirmation). Managers and above; every
export and erasure is recorded with the user and their address."""

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from customers.models import Customer, PrivacyRequest
from customers.privacy import (
    customer_erase,
    customer_export,
    erasure_refusals,
    export_as_json,
)
from customers.selectors import customer_get_for_user


def _require_manager(user) -> None:
    if not (user.is_superuser or user.role != user.Role.ADVISOR):
        raise PermissionDenied(_("Only a manager can see and act on a customer's personal data rights."))


def _ip(request: HttpRequest) -> str | None:
    # REMOTE_ADDR: a forwarded header is written by the client and proves nothing.
    return request.META.get("REMOTE_ADDR") or None


def _privacy_page(request: HttpRequest, customer: Customer, *, error: list[str] | None = None, status: int = 200):
    return render(
        request,
        "customers/privacy.html",
        {
            "customer": customer,
            "refusals": erasure_refusals(customer=customer),
            "requests": PrivacyRequest.objects.filter(customer=customer).select_related("by")[:50],
            "confirmation_hint": _("the customer's mobile") if customer.phone else f"#{customer.pk}",
            "errors": error or [],
        },
        status=status,
    )


@login_required
@require_GET
def customer_privacy_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    return _privacy_page(request, customer_get_for_user(user=request.user, pk=pk))


@login_required
@require_GET
def customer_export_json_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    customer = customer_get_for_user(user=request.user, pk=pk)
    data = customer_export(customer=customer, by=request.user, ip=_ip(request), format=PrivacyRequest.Format.JSON)
    body = json.dumps(export_as_json(data), ensure_ascii=False, indent=2, cls=DjangoJSONEncoder)
    response = HttpResponse(body, content_type="application/json; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}-personal-data.json"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def customer_export_html_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    customer = customer_get_for_user(user=request.user, pk=pk)
    data = customer_export(customer=customer, by=request.user, ip=_ip(request), format=PrivacyRequest.Format.HTML)
    labels = data["customer_fields"]
    response = render(
        request,
        "customers/privacy_export.html",
        {
            "customer": customer,
            "data": data,
            "record": [(labels[k], v) for k, v in data["customer"].items()],
        },
    )
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def customer_erase_view(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request.user)
    customer = customer_get_for_user(user=request.user, pk=pk)
    try:
        customer_erase(
            customer=customer, by=request.user, ip=_ip(request), confirmation=request.POST.get("confirmation", "")
        )
    except ValidationError as exc:
        return _privacy_page(request, customer, error=exc.messages, status=400)
    messages.success(request, _("The customer's personal data was erased; orders and statistics stay."))
    return redirect("customers:privacy", pk=customer.pk)
