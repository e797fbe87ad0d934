"""What the club events and referral pages read, scoped to the user's stores:
another store's event, registration or referral is a 404 (``get_for_user_or_404``)."""

from dataclasses import dataclass

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery

from crm.models import Dealership
from crm.tenancy import get_for_user_or_404, scope_for_user
from customers.models import Customer
from customers.selectors import CustomerFilters, customer_list
from loyalty.events_services import TAKES_A_PLACE, Audience, event_invite_ids
from loyalty.models import ClubEvent, EventRegistration, MembershipCard, Referral

SEARCH_LIMIT = 10

# Chinese compound surnames (复姓) that take two characters; every other name's surname is its first.
COMPOUND_SURNAMES = frozenset(
    {
        "欧阳",
        "司马",
        "诸葛",
        "上官",
        "东方",
        "皇甫",
        "尉迟",
        "公孙",
        "慕容",
        "令狐",
        "长孙",
        "宇文",
        "司徒",
        "夏侯",
        "西门",
        "独孤",
        "南宫",
        "端木",
        "轩辕",
        "呼延",
    }
)


def surname(name: str) -> str:
    """The family name a page may greet a customer by, and nothing more of them."""
    name = (name or "").strip()
    if not name:
        return ""
    if name.isascii():
        return name.split()[-1]
    return name[:2] if name[:2] in COMPOUND_SURNAMES else name[:1]


def _taken():
    return Count("registrations", filter=Q(registrations__status__in=TAKES_A_PLACE))


# --- Events ----------------------------------------------------------------------------------
def event_list(*, user) -> QuerySet[ClubEvent]:
    """The user's stores' events, latest first, with ``taken`` places (one query)."""
    return (
        scope_for_user(ClubEvent.objects.all(), user)
        .select_related("dealership")
        .annotate(taken=_taken())
        .order_by("-starts_at", "-pk")
    )


def event_get_for_user(*, user, pk: int) -> ClubEvent:
    """One event of the user's stores with its ``taken`` places; else a 404."""
    qs = ClubEvent.objects.select_related("dealership").annotate(taken=_taken())
    return get_for_user_or_404(qs, user, pk=pk)


def event_registrations(*, event: ClubEvent) -> list[EventRegistration]:
    """The event's registrations with their customers (one query); the active ones first."""
    order = {status: i for i, status in enumerate(TAKES_A_PLACE)}
    rows = list(
        EventRegistration.objects.filter(event=event)
        .select_related("customer", "customer__advisor")
        .order_by("registered_at", "pk")
    )
    return sorted(rows, key=lambda r: order.get(r.status, len(order)))


def registration_get_for_user(*, user, event: ClubEvent, pk: int) -> EventRegistration:
    return get_for_user_or_404(EventRegistration.objects.filter(event=event), user, pk=pk)


def event_customer_candidates(*, user, event: ClubEvent, q: str) -> list[Customer]:
    """Customers of the event's store matching a mobile, plate or name (at most
    ``SEARCH_LIMIT``, with their cars), each with ``registration_status`` for the event."""
    q = (q or "").strip()[:50]
    if not q:
        return []
    status = EventRegistration.objects.filter(event=event, customer_id=OuterRef("pk")).values("status")[:1]
    qs = (
        customer_list(user=user, filters=CustomerFilters(q=q))
        .filter(dealership_id=event.dealership_id)
        .annotate(registration_status=Subquery(status))
    )
    return list(qs[:SEARCH_LIMIT])


def event_customer_for_user(*, user, event: ClubEvent, pk: int) -> Customer:
    """A customer of the event's store the user may see; else a 404."""
    return get_for_user_or_404(Customer.objects.filter(dealership_id=event.dealership_id), user, pk=pk)


def event_audiences(*, event: ClubEvent) -> list[tuple[str, str, int]]:
    """(audience, label, members not yet registered) for the invitation form (one query)."""
    registered = EventRegistration.objects.filter(event=event, status__in=TAKES_A_PLACE).values("customer_id")
    counts = dict(
        MembershipCard.objects.filter(
            dealership_id=event.dealership_id,
            status=MembershipCard.Status.ACTIVE,
            customer__status=Customer.Status.ACTIVE,
        )
        .exclude(customer_id__in=registered)
        .order_by()
        .values("level")
        .annotate(n=Count("customer_id", distinct=True))
        .values_list("level", "n")
    )
    rows = [(Audience.ALL.value, Audience.ALL.label, sum(counts.values()))]
    rows += [(a.value, a.label, counts.get(a.value, 0)) for a in Audience if a != Audience.ALL]
    return rows


def event_stores(*, user) -> QuerySet[Dealership]:
    """The stores a user may create events for (a group-level user chooses)."""
    return scope_for_user(Dealership.objects.filter(is_active=True), user).order_by("name")


# --- The public link ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicInvitation:
    event: ClubEvent
    customer: Customer
    greeting_surname: str
    registration_status: str  # "" when not registered
    places_left: int


def public_invitation(*, token: str) -> PublicInvitation | None:
    """What the customer's link opens: the event, the customer (read for their
    surname and title only), their registration and the places left; None for
    a bad token or rows that no longer match (two queries)."""
    ids = event_invite_ids(token)
    if ids is None:
        return None
    event_id, customer_id = ids
    event = ClubEvent.objects.select_related("dealership").annotate(taken=_taken()).filter(pk=event_id).first()
    if event is None:
        return None
    status = EventRegistration.objects.filter(event_id=event_id, customer_id=OuterRef("pk")).values("status")[:1]
    customer = (
        Customer.objects.filter(pk=customer_id, dealership_id=event.dealership_id)
        .annotate(registration_status=Subquery(status))
        .only("pk", "name", "gender", "dealership_id")
        .first()
    )
    if customer is None:
        return None
    return PublicInvitation(
        event=event,
        customer=customer,
        greeting_surname=surname(customer.name),
        registration_status=customer.registration_status or "",
        places_left=max(event.capacity - event.taken, 0),
    )


# --- Referrals -------------------------------------------------------------------------------
def referral_list(*, user, status: str = "") -> QuerySet[Referral]:
    qs = scope_for_user(Referral.objects.all(), user).select_related("referrer", "referred", "created_by", "dealership")
    if status:
        qs = qs.filter(status=status)
    return qs.order_by("-created_at", "-pk")


def referral_get_for_user(*, user, pk: int) -> Referral:
    return get_for_user_or_404(Referral.objects.all(), user, pk=pk)


def referral_counts(*, user) -> dict[str, int]:
    """Referrals per status in the user's stores (one query)."""
    rows = scope_for_user(Referral.objects.all(), user).order_by().values("status").annotate(n=Count("pk"))
    counts = dict.fromkeys(Referral.Status.values, 0)
    counts.update({row["status"]: row["n"] for row in rows})
    return counts


def referral_customer_candidates(*, user, q: str) -> list[Customer]:
    """Customers the user may see matching a mobile, plate or name (at most ``SEARCH_LIMIT``)."""
    q = (q or "").strip()[:50]
    if not q:
        return []
    return list(customer_list(user=user, filters=CustomerFilters(q=q))[:SEARCH_LIMIT])
