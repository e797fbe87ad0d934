"""Club events and referrals: the writes of the managers' and advisors' pages
and of the customer's SMS link.

A registration takes a place under the event's row lock, so two desks (or a
desk and a customer's phone) taking the last place at once give one success.
Attendance is marked at the desk (``loyalty.desk_services``) and earns points
at night (``loyalty.services.loyalty_nightly``); a referral is confirmed and
rewarded at night too. The customer's invitation link is a signed token of
(event, customer): no login, nothing personal in it but two ids.
"""

import datetime

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from crm.models import Dealership, User
from customers.models import Customer
from loyalty.models import ClubEvent, EventRegistration, Level, MembershipCard, Referral
from loyalty.services import referral_record
from loyalty.signals import club_event_invitations

RegStatus = EventRegistration.Status
Source = EventRegistration.Source

# What takes a place: a cancelled registration frees its place.
TAKES_A_PLACE = (RegStatus.REGISTERED, RegStatus.ATTENDED)

# The moves this module makes on a registration (the desk marks attendance).
REGISTRATION_MOVES: dict[str, frozenset[str]] = {
    RegStatus.REGISTERED: frozenset({RegStatus.CANCELLED}),
    RegStatus.CANCELLED: frozenset({RegStatus.REGISTERED}),
    RegStatus.ATTENDED: frozenset(),
}


class RewardService(models.TextChoices):
    """The free services a referrer picks from as their thanks (seed 004 子方案5)."""

    WASH = "wash", gettext_lazy("Car wash and interior clean")
    OIL_CHANGE = "oil_change", gettext_lazy("Oil and filter change")
    ALIGNMENT = "alignment", gettext_lazy("Wheel alignment")
    AIR_CONDITIONING = "air_con", gettext_lazy("Air-conditioning service")
    CHECK_UP = "check_up", gettext_lazy("Full vehicle check-up")


class Audience(models.TextChoices):
    """Whom an SMS invitation goes to: the store's active members, or one level."""

    ALL = "all", gettext_lazy("All active members")
    ORDINARY = Level.ORDINARY.value, Level.ORDINARY.label
    SILVER = Level.SILVER.value, Level.SILVER.label
    GOLD = Level.GOLD.value, Level.GOLD.label


def is_manager(user: User | None) -> bool:
    """Managers and admins manage events; advisors register their customers."""
    return user is not None and (user.is_superuser or user.role in {User.Role.MANAGER, User.Role.ADMIN})


def _may_manage(user: User | None, dealership_id: int) -> bool:
    return is_manager(user) and (user.is_group_level or user.dealership_id == dealership_id)


# --- Events ----------------------------------------------------------------------------------
def event_create(
    *,
    dealership: Dealership,
    title: str,
    starts_at: datetime.datetime,
    capacity: int,
    by: User,
    description: str = "",
    now: datetime.datetime | None = None,
) -> ClubEvent:
    """A manager of the store (or of the group) creates a club event: a title, a
    start in the future and at least one place."""
    if not _may_manage(by, dealership.pk):
        raise ValidationError(_("Only a manager of the store can create its events."), code="manager_only")
    now = now or timezone.now()
    errors: dict[str, list[str]] = {}
    title = (title or "").strip()
    if not title:
        errors["title"] = [_("Give the event a title.")]
    if starts_at is None or timezone.is_naive(starts_at):
        errors["starts_at"] = [_("Enter when the event starts.")]
    elif starts_at <= now:
        errors["starts_at"] = [_("An event starts in the future.")]
    if not isinstance(capacity, int) or capacity < 1:
        errors["capacity"] = [_("An event has at least one place.")]
    if errors:
        raise ValidationError(errors)
    event = ClubEvent(
        dealership=dealership,
        title=title,
        description=(description or "").strip(),
        starts_at=starts_at,
        capacity=capacity,
        created_at=now,
    )
    event.full_clean()
    event.save()
    return event


def _places_taken(event_id: int) -> int:
    return EventRegistration.objects.filter(event_id=event_id, status__in=TAKES_A_PLACE).count()


def event_register(
    *,
    event: ClubEvent,
    customer: Customer,
    by: User | None,
    source: str,
    now: datetime.datetime | None = None,
) -> EventRegistration:
    """Register a customer of the event's store: by an advisor, or by the
    customer from their SMS link (``by`` None) until the event starts.

    The event's row is locked while the places are counted: the (capacity+1)-th
    registration is refused however close together the requests come. A
    customer registers once; a cancelled registration is taken up again."""
    if source not in Source.values:
        raise ValidationError(_("Say how the customer registers."), code="bad_source")
    if customer.dealership_id != event.dealership_id:
        raise ValidationError({"customer": [_("The customer is not of the event's store.")]}, code="other_store")
    now = now or timezone.now()
    with transaction.atomic():
        event = ClubEvent.objects.select_for_update().get(pk=event.pk)
        if source == Source.SMS_LINK and event.starts_at <= now:
            raise ValidationError(_("Registration is closed: the event has already started."), code="closed")
        current = EventRegistration.objects.filter(event=event, customer=customer).first()
        if current is not None and current.status == RegStatus.REGISTERED:
            raise ValidationError(_("The customer is already registered for this event."), code="already_registered")
        if current is not None and current.status == RegStatus.ATTENDED:
            raise ValidationError(_("The customer has already attended this event."), code="already_attended")
        taken = _places_taken(event.pk)
        if taken >= event.capacity:
            raise ValidationError(
                _("The event is full: all %(capacity)d places are taken.") % {"capacity": event.capacity},
                code="full",
            )
        if current is None:
            return EventRegistration.objects.create(
                event=event, customer=customer, status=RegStatus.REGISTERED, source=source, registered_at=now
            )
        # A cancelled registration comes back (one row per customer and event).
        current.status = RegStatus.REGISTERED
        current.source = source
        current.registered_at = now
        current.attended_at = None
        current.save(update_fields=["status", "source", "registered_at", "attended_at"])
        return current


def event_cancel_registration(
    *, registration: EventRegistration, by: User | None, now: datetime.datetime | None = None
) -> EventRegistration:
    """Cancel a registration (its place frees up); an attended one stays, a
    cancelled one is left as it is."""
    with transaction.atomic():
        # The event first, as event_register locks it: the same order, no deadlock.
        ClubEvent.objects.select_for_update().filter(pk=registration.event_id).first()
        registration = EventRegistration.objects.select_for_update().get(pk=registration.pk)
        if registration.status == RegStatus.CANCELLED:
            return registration
        if RegStatus.CANCELLED not in REGISTRATION_MOVES[registration.status]:
            raise ValidationError(_("An attended registration cannot be cancelled."), code="transition_not_allowed")
        registration.status = RegStatus.CANCELLED
        registration.save(update_fields=["status"])
    return registration


def event_invitees(*, event: ClubEvent, audience: str) -> list[int]:
    """The customers an invitation to ``audience`` goes to: active customers with
    an active card of the event's store (of the level, unless all), not already
    registered. Whether each may get marketing SMS is care's to check."""
    cards = MembershipCard.objects.filter(
        dealership_id=event.dealership_id,
        status=MembershipCard.Status.ACTIVE,
        customer__status=Customer.Status.ACTIVE,
    )
    if audience != Audience.ALL:
        cards = cards.filter(level=audience)
    registered = EventRegistration.objects.filter(event=event, status__in=TAKES_A_PLACE).values("customer_id")
    return list(
        cards.exclude(customer_id__in=registered)
        .order_by("customer_id")
        .values_list("customer_id", flat=True)
        .distinct()
    )


def event_invite(*, event: ClubEvent, audience: str, by: User, now: datetime.datetime | None = None) -> list[int]:
    """A manager invites members to the event by SMS: announces
    ``club_event_invitations`` with the customers chosen (care sends to those
    with marketing consent and no opt-out). Returns the customers' ids."""
    if not _may_manage(by, event.dealership_id):
        raise ValidationError(_("Only a manager of the store can send invitations."), code="manager_only")
    if audience not in Audience.values:
        raise ValidationError({"audience": [_("Choose whom to invite.")]})
    now = now or timezone.now()
    if event.starts_at <= now:
        raise ValidationError(_("The event has already started: invitations are closed."), code="closed")
    with transaction.atomic():
        customer_ids = event_invitees(event=event, audience=audience)
        if customer_ids:
            # Inside the transaction: care's receiver queues its messages with it.
            club_event_invitations.send(sender=ClubEvent, event=event, customer_ids=customer_ids, by=by, now=now)
    return customer_ids


# --- The customer's invitation link ------------------------------------------------------------
_SALT = "loyalty.events.invite"
# A link older than this is refused even when the event is later (an SMS forwarded for months).
INVITE_LINK_MAX_AGE = datetime.timedelta(days=180)


def _pk(value) -> int:
    return value if isinstance(value, int) else value.pk


def event_invite_token(event: ClubEvent | int, customer: Customer | int) -> str:
    """A signed, timestamped token of (event id, customer id), short enough for an SMS."""
    return signing.dumps([_pk(event), _pk(customer)], salt=_SALT, compress=True)


def event_invite_ids(token: str) -> tuple[int, int] | None:
    """(event id, customer id) of a genuine token younger than ``INVITE_LINK_MAX_AGE``;
    None for a tampered, malformed or expired one."""
    try:
        value = signing.loads(token, salt=_SALT, max_age=INVITE_LINK_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is one too
        return None
    except ValueError:  # a well-signed payload that is not JSON: cannot happen from us
        return None
    if (
        not isinstance(value, list)
        or len(value) != 2
        or not all(isinstance(v, int) and not isinstance(v, bool) for v in value)
    ):
        return None
    return value[0], value[1]


def event_invite_path(event: ClubEvent | int, customer: Customer | int) -> str:
    return reverse("loyalty:event-public", args=[event_invite_token(event, customer)])


def event_invite_link(event: ClubEvent | int, customer: Customer | int) -> str:
    """The address the customer registers at, for the SMS: the public pages'
    host (``CRM_COMPLAINT_PUBLIC_BASE_URL``, where customers reach the CRM's
    public pages) and the signed path; the bare path without that setting.
    Takes objects or ids."""
    base = (getattr(settings, "CRM_COMPLAINT_PUBLIC_BASE_URL", "") or "").rstrip("/")
    return f"{base}{event_invite_path(event, customer)}"


# --- Referrals -------------------------------------------------------------------------------
def referral_add(*, referrer: Customer, referred: Customer, by: User | None) -> Referral:
    """``loyalty.services.referral_record``, with the referred-twice race (two
    desks at once) answered by the same message instead of a database error."""
    try:
        return referral_record(referrer=referrer, referred=referred, by=by)
    except IntegrityError as exc:
        raise ValidationError({"referred": [_("This customer was already referred.")]}) from exc


def referral_choose_reward(*, referral: Referral, service: str, by: User | None) -> Referral:
    """The referrer picks their free service once the referral is rewarded
    (``RewardService``); choosing again changes the choice."""
    if service not in RewardService.values:
        raise ValidationError({"service": [_("Choose one of the free services.")]})
    with transaction.atomic():
        referral = Referral.objects.select_for_update().get(pk=referral.pk)
        if referral.status != Referral.Status.REWARDED:
            raise ValidationError(
                _("The free service is chosen once the referral is rewarded (it is %(status)s).")
                % {"status": Referral.Status(referral.status).label},
                code="not_rewarded",
            )
        if referral.reward_service != service:
            referral.reward_service = service
            # Only the field written is checked (created_by is empty when no user recorded it).
            referral.clean_fields(exclude=[f.name for f in Referral._meta.fields if f.name != "reward_service"])
            referral.save(update_fields=["reward_service"])
    return referral
