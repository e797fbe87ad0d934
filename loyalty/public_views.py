"""The page a customer opens from their club event invitation SMS, without
logging in: the event's title, time and store, a greeting by surname only,
and a button to register.

The link is a signed token of (event, customer) (``events_services``); a
tampered, malformed or expired one, or one whose event or customer is gone,
is a plain 404 page. The page never shows a full name, a mobile or a plate,
and every refusal (full, started) is a message on the page, never a 500."""

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from loyalty.events_selectors import public_invitation
from loyalty.events_services import TAKES_A_PLACE, event_register
from loyalty.models import EventRegistration

# What the customer reads when the service refuses, by the service's code.
_REFUSED = {
    "full": lambda: _("Sorry, the event is full: every place has been taken."),
    "closed": lambda: _("Registration is closed: the event has already started."),
    "already_registered": lambda: _("You are already registered. We look forward to seeing you."),
    "already_attended": lambda: _("You have already attended this event. Thank you!"),
}


def _not_found(request: HttpRequest) -> HttpResponse:
    message = _(
        "This invitation link is not valid or has expired. Please use the link from your SMS exactly as it "
        "was sent, or call the store."
    )
    return render(request, "loyalty/public/not_found.html", {"message": message}, status=404)


@require_http_methods(["GET", "POST"])
def invitation_view(request: HttpRequest, token: str) -> HttpResponse:
    invitation = public_invitation(token=token)
    if invitation is None:
        return _not_found(request)
    now = timezone.now()
    status = 200
    error = ""
    if request.method == "POST":
        if invitation.registration_status in TAKES_A_PLACE:
            return redirect(request.path)  # a second tap: nothing to do
        try:
            event_register(
                event=invitation.event,
                customer=invitation.customer,
                by=None,
                source=EventRegistration.Source.SMS_LINK,
                now=now,
            )
        except ValidationError as exc:
            refused = _REFUSED.get(getattr(exc, "code", None) or "")
            error = refused() if refused else " ".join(exc.messages)
            status = 409
        else:
            return redirect(request.path)
    context = {
        "invitation": invitation,
        "event": invitation.event,
        "store": invitation.event.dealership,
        "registered": invitation.registration_status in TAKES_A_PLACE,
        "attended": invitation.registration_status == EventRegistration.Status.ATTENDED,
        "started": invitation.event.starts_at <= now,
        "error": error,
    }
    return render(request, "loyalty/public/invitation.html", context, status=status)
