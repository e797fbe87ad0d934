"""Pages customers open without logging in (the complaint form of a store, the
status of their case) and the staff page with a store's printable QR code.

The public pages stand alone (no staff layout, no navigation) and never show
a name, a mobile or a plate: the form shows what the visitor typed, the
status page the case number, its date and the steps reached."""

import segno
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from complaints import ratelimit
from complaints.links import status_path
from complaints.public_forms import HONEYPOT, PublicComplaintForm
from complaints.public_selectors import public_status, public_store
from complaints.public_services import complaint_file_online
from crm.models import Dealership, User
from crm.tenancy import get_for_user_or_404


def _not_found(request: HttpRequest, message: str) -> HttpResponse:
    return render(request, "complaints/public/not_found.html", {"message": message}, status=404)


def _public_url(request: HttpRequest, path: str) -> str:
    """The address customers reach ``path`` at (CRM_COMPLAINT_PUBLIC_BASE_URL, else this request's host)."""
    base = settings.CRM_COMPLAINT_PUBLIC_BASE_URL.rstrip("/")
    return f"{base}{path}" if base else request.build_absolute_uri(path)


def _over_limit(request: HttpRequest, mobile: str) -> bool:
    """Count this submission per IP address, then per mobile; True when either is over."""
    per_ip, per_mobile = ratelimit.complaint_form_limits()
    if not ratelimit.hit(per_ip, ratelimit.client_ip(request)):
        return True
    return not ratelimit.hit(per_mobile, mobile)


@require_http_methods(["GET", "POST"])
def form_view(request: HttpRequest, code: str) -> HttpResponse:
    """The store's complaint form; a good post opens a case and thanks the customer."""
    store = public_store(code=code)
    if store is None:
        return _not_found(request, _("There is no store with this address. Please check the link or the QR code."))
    context = {"store": store, "honeypot": HONEYPOT}
    if request.method == "POST":
        if request.POST.get(HONEYPOT, "").strip():
            # A bot filled the field people never see: it is thanked and nothing is kept.
            return render(request, "complaints/public/thanks.html", {**context, "case": None})
        form = PublicComplaintForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            if _over_limit(request, data["mobile"]):
                context.update(form=form, limited=True)
                return render(request, "complaints/public/form.html", context, status=429)
            case = complaint_file_online(store=store, **data)
            path = status_path(case)
            return render(
                request,
                "complaints/public/thanks.html",
                {**context, "case": case, "status_url": _public_url(request, path), "status_path": path},
            )
    else:
        form = PublicComplaintForm()
    return render(request, "complaints/public/form.html", {**context, "form": form})


@require_GET
def status_view(request: HttpRequest, token: str) -> HttpResponse:
    """The progress of one case, by its signed link: number, date and steps only."""
    status = public_status(token=token)
    if status is None:
        return _not_found(
            request, _("This status link is not valid. Please use the link from your SMS exactly as it was sent.")
        )
    return render(request, "complaints/public/status.html", {"status": status})


def _can_print_codes(user: User) -> bool:
    return user.is_superuser or user.role in {User.Role.MANAGER, User.Role.ADMIN}


@login_required
@require_GET
def qr_view(request: HttpRequest, code: str) -> HttpResponse:
    """The store's form link and its QR code, to print for the counter (managers of
    the store and group level; another store's is a 404, an advisor's a 403)."""
    store = get_for_user_or_404(Dealership.objects.filter(is_active=True), request.user, code=code)
    if not _can_print_codes(request.user):
        raise PermissionDenied
    url = _public_url(request, reverse("complaints-public:form", args=[store.code]))
    # Error correction M (15%) survives a worn or smudged print; segno raises it
    # further when the version's size allows. A 4-module quiet zone per the standard.
    qr = segno.make(url, error="m", micro=False)
    svg = qr.svg_inline(scale=8, border=4, title=url, omitsize=True)
    return render(request, "complaints/public/qr.html", {"store": store, "form_url": url, "qr_svg": mark_safe(svg)})
