from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.template.loader import render_to_string
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from customers.forms import CustomerEditForm, CustomerSearchForm
from customers.models import Customer
from customers.panels import panels_for
from customers.selectors import CustomerFilters, customer_get_for_user, customer_list, customer_watch_text
from customers.services import customer_save

PAGE_SIZE = 50


@login_required
@require_GET
def customer_list_view(request: HttpRequest) -> HttpResponse:
    form = CustomerSearchForm(request.GET)
    filters = CustomerFilters(**form.cleaned_data) if form.is_valid() else CustomerFilters()
    if request.GET.get("mine") and request.user.role == request.user.Role.ADVISOR:
        filters = CustomerFilters(**{**filters.__dict__, "advisor_id": request.user.pk})
    page = Paginator(customer_list(user=request.user, filters=filters), PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/customer_list.html", {"form": form, "page": page, "filters": filters})


@login_required
@require_GET
def customer_search_view(request: HttpRequest) -> HttpResponse:
    """The global search box: name, mobile, plate or VIN."""
    q = request.GET.get("q", "").strip()[:50]
    page = None
    if q:
        results = customer_list(user=request.user, filters=CustomerFilters(q=q))
        page = Paginator(results, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "customers/search.html", {"q": q, "page": page})


@login_required
@require_GET
def customer_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The customer 360: profile, cars, visits, and the panels higher apps add (contacts, touches, messages)."""
    customer: Customer = customer_get_for_user(user=request.user, pk=pk)
    repair_orders = customer.repair_orders.select_related("vehicle", "technician").order_by("-opened_at")[:20]
    return render(
        request,
        "customers/customer_detail.html",
        {
            "customer": customer,
            "vehicles": customer.vehicles.all(),
            "repair_orders": repair_orders,
            "tier_changes": customer.tier_changes.select_related("by")[:12],
            "watch_text": customer_watch_text(customer),
            "panels": [
                render_to_string(panel.template, {**context, "customer": customer}, request=request)
                for panel, context in panels_for(customer=customer, user=request.user)
            ],
        },
    )


@login_required
def customer_edit_view(request: HttpRequest, pk: int) -> HttpResponse:
    customer: Customer = customer_get_for_user(user=request.user, pk=pk)
    form = CustomerEditForm(request.POST or None, instance=customer)
    if request.method == "POST" and form.is_valid():
        customer_save(form=form, by=request.user)
        messages.success(request, _("Saved."))
        return redirect("customers:detail", pk=customer.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "customers/customer_form.html", {"customer": customer, "form": form}, status=status)
