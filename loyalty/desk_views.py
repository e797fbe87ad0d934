"""The service desk (``/loyalty/desk/``): find a customer by plate, mobile or
card number, see what their card has left this card year, redeem a benefit,
renew, refund (managers), join the club, and mark a club event attended.

Every action is a plain POST that redirects back to the card with a message;
sent by htmx it answers with the card's work area re-rendered in place. A
refused action puts the service's message on its form and keeps what was
typed (htmx swaps only a 200, so it gets one; the plain page is a 400). Every
card, customer and registration is read scoped: outside the user's stores it
is a 404, for the page and every action alike."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from crm.tenancy import scope_for_user
from loyalty.desk_forms import DeskSearchForm, JoinForm, RedeemForm, RefundForm, RenewForm, add_service_errors
from loyalty.desk_selectors import (
    card_desk,
    desk_card_get_for_user,
    desk_customer_get_for_user,
    desk_events,
    desk_registration_get_for_user,
    desk_search,
)
from loyalty.desk_services import event_attend
from loyalty.models import Benefit, Level, MembershipCard
from loyalty.services import benefit_redeem, card_join, card_refund, card_renew, policy_for

CARD_WORK = "loyalty/desk/partials/card_work.html"
EVENTS = "loyalty/desk/partials/events.html"


def _is_manager(user) -> bool:
    return user.role != user.Role.ADVISOR


def _today():
    return timezone.localdate()


# --- Search ------------------------------------------------------------------------------------
@login_required
@require_GET
def desk_view(request: HttpRequest) -> HttpResponse:
    """The desk's search: customers of the user's stores with their active card."""
    form = DeskSearchForm(request.GET or None)
    q = form.cleaned_data["q"].strip() if form.is_valid() else ""
    context = {"form": form, "q": q, "results": desk_search(user=request.user, q=q) if q else []}
    if request.htmx and request.htmx.target == "desk-results":
        return render(request, "loyalty/desk/partials/results.html", context)
    return render(request, "loyalty/desk/desk.html", context)


# --- One card ------------------------------------------------------------------------------------
def _card_context(request: HttpRequest, card: MembershipCard, **bound) -> dict:
    """The card page's context; ``bound`` holds the one form re-shown with its
    errors (``redeem`` for a benefit's, ``renew_form``, ``refund_form``)."""
    day = _today()
    desk = card_desk(card=card, day=day)
    redeem = bound.pop("redeem", None)
    for line in desk.counted:
        line.form = (
            redeem if redeem is not None and redeem.benefit == line.benefit else RedeemForm(benefit=line.benefit)
        )
    context = {
        "card": card,
        "desk": desk,
        "is_manager": _is_manager(request.user),
        "renew_form": RenewForm(),
        "refund_form": RefundForm(),
        "events": desk_events(user=request.user, customer=card.customer, day=day),
        "attend_error": None,
    }
    context.update(bound)
    return context


@login_required
@require_GET
def card_view(request: HttpRequest, pk: int) -> HttpResponse:
    card = desk_card_get_for_user(user=request.user, pk=pk)
    return render(request, "loyalty/desk/card.html", _card_context(request, card))


def _done(request: HttpRequest, card: MembershipCard, message: str) -> HttpResponse:
    """After an action: htmx gets the card's work area afresh; a plain post, a redirect."""
    messages.success(request, message)
    if request.htmx:
        card = desk_card_get_for_user(user=request.user, pk=card.pk)
        return render(request, CARD_WORK, _card_context(request, card))
    return redirect("loyalty:desk-card", pk=card.pk)


def _refused(request: HttpRequest, card: MembershipCard, **bound) -> HttpResponse:
    context = _card_context(request, card, **bound)
    if request.htmx:
        return render(request, CARD_WORK, context)
    return render(request, "loyalty/desk/card.html", context, status=400)


@login_required
@require_POST
def redeem_view(request: HttpRequest, pk: int, benefit: str) -> HttpResponse:
    """Use one counted benefit (a wash, 35 km of towing…) in this card year."""
    card = desk_card_get_for_user(user=request.user, pk=pk)
    if benefit not in Benefit.values:
        raise Http404
    form = RedeemForm(request.POST, benefit=benefit)
    if form.is_valid():
        try:
            use = benefit_redeem(
                card=card,
                benefit=benefit,
                quantity=form.cleaned_data["quantity"],
                by=request.user,
                day=_today(),
                note=form.cleaned_data["note"],
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request,
                card,
                _("%(number)s: %(benefit)s × %(quantity)d redeemed.")
                % {"number": card.number, "benefit": Benefit(benefit).label, "quantity": use.quantity},
            )
    return _refused(request, card, redeem=form)


@login_required
@require_POST
def renew_view(request: HttpRequest, pk: int) -> HttpResponse:
    card = desk_card_get_for_user(user=request.user, pk=pk)
    form = RenewForm(request.POST)
    if form.is_valid():
        try:
            card = card_renew(card=card, by=request.user, day=_today())
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request,
                card,
                _("%(number)s renewed: valid until %(until)s.")
                % {"number": card.number, "until": card.valid_until.isoformat()},
            )
    return _refused(request, card, renew_form=form)


@login_required
@require_POST
def refund_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A paid card's fee back within the refund period: managers only."""
    card = desk_card_get_for_user(user=request.user, pk=pk)
    if not _is_manager(request.user):
        raise PermissionDenied(_("Only a manager can refund a card."))
    form = RefundForm(request.POST)
    if form.is_valid():
        try:
            card = card_refund(card=card, by=request.user, day=_today(), reason=form.cleaned_data["reason"])
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            return _done(
                request,
                card,
                _("%(number)s refunded: %(fee)s yuan back to the customer.")
                % {"number": card.number, "fee": card.fee_paid},
            )
    return _refused(request, card, refund_form=form)


# --- Joining the club ---------------------------------------------------------------------------
def _join_context(request: HttpRequest, customer, form: JoinForm) -> dict:
    policy = policy_for(customer.dealership_id)
    day = _today()
    return {
        "customer": customer,
        "form": form,
        "fees": [(label, policy.fee(level)) for level, label in Level.choices],
        "events": desk_events(user=request.user, customer=customer, day=day),
        "attend_error": None,
    }


def _active_card(user, customer) -> MembershipCard | None:
    return (
        scope_for_user(MembershipCard.objects.all(), user)
        .filter(customer=customer, status=MembershipCard.Status.ACTIVE)
        .order_by("-valid_from", "-pk")
        .first()
    )


@login_required
@require_http_methods(["GET", "POST"])
def join_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A customer without a card joins: by the fee (ordinary or silver; gold is
    earned, never sold) or in a campaign."""
    customer = desk_customer_get_for_user(user=request.user, pk=pk)
    form = JoinForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            card = card_join(
                customer=customer,
                level=form.cleaned_data["level"],
                route=form.cleaned_data["obtained"],
                by=request.user,
                day=_today(),
            )
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if card.fee_paid:
                message = _("%(number)s issued: %(level)s, fee %(fee)s yuan paid.") % {
                    "number": card.number,
                    "level": Level(card.level).label,
                    "fee": card.fee_paid,
                }
            else:
                message = _("%(number)s issued: %(level)s.") % {
                    "number": card.number,
                    "level": Level(card.level).label,
                }
            messages.success(request, message)
            return redirect("loyalty:desk-card", pk=card.pk)
    elif request.method == "GET":
        card = _active_card(request.user, customer)
        if card is not None:
            return redirect("loyalty:desk-card", pk=card.pk)
    status = 400 if request.method == "POST" else 200
    return render(request, "loyalty/desk/join.html", _join_context(request, customer, form), status=status)


# --- Club events ---------------------------------------------------------------------------------
@login_required
@require_POST
def attend_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a guest attended (the night earns the event's points). htmx gets
    the events section afresh; a plain post goes back to the customer's card
    (or the join page when they hold none)."""
    registration = desk_registration_get_for_user(user=request.user, pk=pk)
    customer = registration.customer
    error = None
    try:
        event_attend(registration=registration, by=request.user)
    except ValidationError as exc:
        error = " ".join(exc.messages)
    else:
        messages.success(
            request,
            _("%(customer)s attended %(event)s.") % {"customer": customer.name, "event": registration.event.title},
        )
    if request.htmx:
        context = {
            "events": desk_events(user=request.user, customer=customer, day=_today()),
            "attend_error": (registration.pk, error) if error else None,
        }
        return render(request, EVENTS, context)
    if error:
        messages.error(request, error)
    card = _active_card(request.user, customer)
    url = reverse("loyalty:desk-card", args=[card.pk]) if card else reverse("loyalty:desk-join", args=[customer.pk])
    return redirect(url)
