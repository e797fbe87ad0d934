import datetime

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from service.forms import AppointmentDayForm
from service.selectors import appointment_day_list, appointment_get_for_user, appointment_groups
from service.services import ARRIVABLE_STATUSES, appointment_mark_arrived


@login_required
@require_GET
def appointment_list_view(request: HttpRequest) -> HttpResponse:
    """The front desk's day: one store's appointments grouped by advisor, the user's own first."""
    today = timezone.localdate()
    form = AppointmentDayForm(request.GET, user=request.user)
    form.is_valid()
    # A bad value shows its message and falls back (today, every store); the rest still applies.
    day = form.cleaned_data.get("day") or today
    dealership = form.cleaned_data.get("dealership")
    appointments = list(
        appointment_day_list(user=request.user, day=day, dealership_id=dealership.pk if dealership else None)
    )
    one_day = datetime.timedelta(days=1)
    context = {
        "form": form,
        "day": day,
        "today": today,
        "tomorrow": today + one_day,
        "previous_day": day - one_day,
        "next_day": day + one_day,
        "dealership": dealership,
        "groups": appointment_groups(appointments=appointments, user=request.user),
        "count": len(appointments),
        "show_dealership": request.user.is_group_level,
        "arrivable": ARRIVABLE_STATUSES,
        # Back here after "arrived": the day shown, never a bad value that was typed.
        "next_url": _day_url(day, dealership.pk if dealership else None),
    }
    return render(request, "service/appointment_list.html", context)


@login_required
@require_POST
def appointment_arrived_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark one appointment arrived: htmx swaps its row, a plain form post comes back to the page."""
    appointment = appointment_get_for_user(user=request.user, pk=pk)
    error = ""
    try:
        appointment_mark_arrived(appointment=appointment, by=request.user, now=timezone.now())
    except ValidationError as exc:
        error = " ".join(exc.messages)
    day = timezone.localdate(appointment.scheduled_at)
    next_url = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = _day_url(day)
    if request.htmx:
        context = {
            "a": appointment,
            "error": error,
            "show_dealership": request.user.is_group_level,
            "arrivable": ARRIVABLE_STATUSES,
            "next_url": next_url,
        }
        return render(request, "service/partials/appointment_row.html", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, _("%(customer)s has arrived.") % {"customer": appointment.customer.name})
    return redirect(next_url)


def _day_url(day: datetime.date, dealership_id: int | None = None) -> str:
    url = f"{reverse('service:appointments')}?day={day:%Y-%m-%d}"
    return f"{url}&dealership={dealership_id}" if dealership_id else url
