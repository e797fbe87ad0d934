"""The club events and referral pages.

``/loyalty/events/``: the stores' events with places taken and, for managers,
the form to create one. ``/loyalty/events/<id>/``: the registrations, a search
to register a customer, cancelling, and (managers) the SMS invitation.
``/loyalty/referrals/``: record who referred whom, the list with status, and
the free service a rewarded referrer picks.

Every action is a plain POST that redirects back with a message; a refused
one shows the service's message and keeps what was typed. Every event,
registration, customer and referral is read through a scoped selector: one
outside the user's stores is a 404, for the page and each action alike.
Advisors register and cancel; managers also create events and invite."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from loyalty.events_forms import (
    EventForm,
    InviteForm,
    ReferralFilterForm,
    ReferralForm,
    RewardForm,
    add_service_errors,
)
from loyalty.events_selectors import (
    event_audiences,
    event_customer_candidates,
    event_customer_for_user,
    event_get_for_user,
    event_list,
    event_registrations,
    event_stores,
    referral_counts,
    referral_customer_candidates,
    referral_get_for_user,
    referral_list,
    registration_get_for_user,
)
from loyalty.events_services import (
    TAKES_A_PLACE,
    RewardService,
    event_cancel_registration,
    event_create,
    event_invite,
    event_register,
    is_manager,
    referral_add,
    referral_choose_reward,
)
from loyalty.models import ClubEvent, EventRegistration, Referral

EVENTS_PER_PAGE = 30
REFERRALS_PER_PAGE = 50


def _posted_id(request: HttpRequest, name: str) -> int:
    raw = (request.POST.get(name) or "").strip()
    if not raw.isdigit():
        raise Http404
    return int(raw)


# --- The events list ----------------------------------------------------------------------------
@login_required
@require_http_methods(["GET", "POST"])
def event_list_view(request: HttpRequest) -> HttpResponse:
    user = request.user
    manager = is_manager(user)
    stores = list(event_stores(user=user)) if manager and user.is_group_level else None
    form = EventForm(request.POST or None, stores=stores) if manager else None
    status = 200
    if request.method == "POST":
        if not manager or (stores is None and user.dealership_id is None):
            raise PermissionDenied
        if form.is_valid():
            data = form.cleaned_data
            store = next(s for s in stores if s.pk == data["dealership"]) if stores is not None else user.dealership
            try:
                event = event_create(
                    dealership=store,
                    title=data["title"],
                    starts_at=data["starts_at"],
                    capacity=data["capacity"],
                    description=data["description"],
                    by=user,
                )
            except ValidationError as exc:
                add_service_errors(form, exc)
            else:
                messages.success(request, _("Event “%(title)s” created.") % {"title": event.title})
                return redirect("loyalty:event", pk=event.pk)
        status = 400
    page = Paginator(event_list(user=user), EVENTS_PER_PAGE).get_page(request.GET.get("page"))
    context = {"page": page, "form": form, "is_manager": manager, "show_store": user.is_group_level}
    return render(request, "loyalty/events/event_list.html", context, status=status)


# --- One event -----------------------------------------------------------------------------------
def _event_context(request: HttpRequest, event: ClubEvent, **bound) -> dict:
    manager = is_manager(request.user)
    q = (request.GET.get("q") or "").strip()[:50]
    registrations = event_registrations(event=event)
    context = {
        "event": event,
        "registrations": registrations,
        "places_left": max(event.capacity - event.taken, 0),
        "q": q,
        "candidates": event_customer_candidates(user=request.user, event=event, q=q) if q else None,
        "is_manager": manager,
        "taking_a_place": TAKES_A_PLACE,
        "registered": EventRegistration.Status.REGISTERED,
    }
    if manager and "invite_form" not in bound:
        bound["invite_form"] = InviteForm(audiences=event_audiences(event=event))
    context.update(bound)
    return context


def _back_to_event(event: ClubEvent, q: str = "") -> HttpResponse:
    url = reverse("loyalty:event", args=[event.pk])
    return redirect(f"{url}?{urlencode({'q': q})}" if q else url)


@login_required
@require_GET
def event_detail_view(request: HttpRequest, pk: int) -> HttpResponse:
    event = event_get_for_user(user=request.user, pk=pk)
    return render(request, "loyalty/events/event_detail.html", _event_context(request, event))


@login_required
@require_POST
def event_register_view(request: HttpRequest, pk: int) -> HttpResponse:
    """An advisor (or manager) registers a customer of the event's store."""
    event = event_get_for_user(user=request.user, pk=pk)
    customer = event_customer_for_user(user=request.user, event=event, pk=_posted_id(request, "customer"))
    try:
        event_register(event=event, customer=customer, by=request.user, source=EventRegistration.Source.ADVISOR)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("%(name)s is registered.") % {"name": customer.name})
    return _back_to_event(event, (request.POST.get("q") or "").strip()[:50])


@login_required
@require_POST
def event_cancel_view(request: HttpRequest, pk: int, registration_pk: int) -> HttpResponse:
    event = event_get_for_user(user=request.user, pk=pk)
    registration = registration_get_for_user(user=request.user, event=event, pk=registration_pk)
    try:
        event_cancel_registration(registration=registration, by=request.user)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(request, _("The registration is cancelled; its place is free again."))
    return _back_to_event(event)


@login_required
@require_POST
def event_invite_view(request: HttpRequest, pk: int) -> HttpResponse:
    """A manager invites the store's members (all, or one level) by SMS."""
    event = event_get_for_user(user=request.user, pk=pk)
    if not is_manager(request.user):
        raise PermissionDenied
    form = InviteForm(request.POST, audiences=event_audiences(event=event))
    if form.is_valid():
        try:
            invited = event_invite(event=event, audience=form.cleaned_data["audience"], by=request.user)
        except ValidationError as exc:
            add_service_errors(form, exc)
        else:
            if invited:
                messages.success(
                    request,
                    _("%(n)d members invited. Only customers who agreed to marketing messages receive the SMS.")
                    % {"n": len(invited)},
                )
            else:
                messages.info(request, _("Nobody to invite: every member chosen is already registered."))
            return _back_to_event(event)
    context = _event_context(request, event, invite_form=form)
    return render(request, "loyalty/events/event_detail.html", context, status=400)


# --- Referrals ---------------------------------------------------------------------------------
SIDES = ("referrer", "referred")


def _referral_record(request: HttpRequest, form: ReferralForm) -> Referral | None:
    """Find both customers from what was typed (or ticked among several) and
    record the referral; None with the reasons on the form otherwise."""
    candidates = {
        side: referral_customer_candidates(user=request.user, q=form.data.get(form.add_prefix(f"{side}_q"), ""))
        for side in SIDES
    }
    for side in SIDES:
        form.offer(side, candidates[side])
    if not form.is_valid():
        return None
    found = {}
    for side in SIDES:
        matches = candidates[side]
        if not matches:
            form.add_error(
                f"{side}_q", _("No customer matches “%(q)s”.") % {"q": form.cleaned_data[f"{side}_q"].strip()}
            )
        elif len(matches) == 1:
            found[side] = matches[0]
        else:
            chosen = form.cleaned_data.get(side)
            found[side] = next((c for c in matches if c.pk == chosen), None)
            if found[side] is None:
                form.add_error(side, _("Several customers match: choose one."))
    if form.errors:
        return None
    try:
        return referral_add(referrer=found["referrer"], referred=found["referred"], by=request.user)
    except ValidationError as exc:
        add_service_errors(form, exc, rename={"referrer": "referrer_q", "referred": "referred_q"})
        return None


@login_required
@require_http_methods(["GET", "POST"])
def referral_list_view(request: HttpRequest) -> HttpResponse:
    form = ReferralForm(request.POST or None)
    status = 200
    if request.method == "POST":
        referral = _referral_record(request, form)
        if referral is not None:
            messages.success(
                request,
                _("Referral recorded: %(referrer)s referred %(referred)s.")
                % {"referrer": referral.referrer.name, "referred": referral.referred.name},
            )
            return redirect("loyalty:referrals")
        status = 400
    filters = ReferralFilterForm(request.GET or None)
    chosen_status = filters.cleaned_data["status"] if filters.is_valid() else ""
    page = Paginator(referral_list(user=request.user, status=chosen_status), REFERRALS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    query.pop("page", None)
    counts = referral_counts(user=request.user)
    context = {
        "form": form,
        "filters": filters,
        "page": page,
        "counts": [(value, label, counts[value]) for value, label in Referral.Status.choices],
        "querystring": query.urlencode(),
        "rewards": RewardService.choices,
        "rewarded": Referral.Status.REWARDED,
        "offer_referrer": len(form.fields["referrer"].choices) > 1,
        "offer_referred": len(form.fields["referred"].choices) > 1,
    }
    return render(request, "loyalty/events/referral_list.html", context, status=status)


@login_required
@require_POST
def referral_reward_view(request: HttpRequest, pk: int) -> HttpResponse:
    """The rewarded referrer's free service, picked from ``RewardService``."""
    referral = referral_get_for_user(user=request.user, pk=pk)
    form = RewardForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose one of the free services."))
    else:
        try:
            referral_choose_reward(referral=referral, service=form.cleaned_data["service"], by=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(
                request,
                _("Free service for %(name)s: %(service)s.")
                % {"name": referral.referrer.name, "service": RewardService(form.cleaned_data["service"]).label},
            )
    return redirect(f"{reverse('loyalty:referrals')}#referral-{referral.pk}")
