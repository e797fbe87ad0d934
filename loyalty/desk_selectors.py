"""What the service desk reads: customers found by plate, mobile or card
number with their active card, and one card's year at a glance (benefits
left, points, what can be done with it today).

Each read is scoped (``crm.tenancy``): a card or customer outside the user's
stores is not found, a 404. Each costs a fixed number of queries whatever the
number of cars, uses or registrations.
"""

import dataclasses
import datetime
import re
from decimal import Decimal

from django.db.models import Prefetch, Q, QuerySet, Sum
from django.utils import timezone

from crm.tenancy import get_for_user_or_404, scope_for_user
from crm.validators import PLATE_PROVINCES, normalize_mobile, normalize_plate
from customers.models import Customer
from loyalty.models import (
    DEFAULT_BENEFITS,
    Benefit,
    BenefitAllowance,
    BenefitUse,
    EventRegistration,
    LoyaltyPolicy,
    MembershipCard,
)
from loyalty.services import add_years, card_balance, card_year_start, policy_for

Status = MembershipCard.Status
SEARCH_LIMIT = 20
RECENT_USES = 10
# Registrations of events that began up to this many days ago still show, so
# an attendance forgotten on the day can be marked the next morning.
EVENTS_LOOKBACK_DAYS = 7
CARD_NUMBER_RE = re.compile(r"^M\d{1,8}$")


# --- Search ------------------------------------------------------------------------------------
def desk_search_q(q: str) -> Q | None:
    """Plate, mobile or card number as typed at the desk (spaces, dashes, ``+86``,
    lower case, ``m12`` for ``M00000012``); None when the text can match nothing."""
    q = (q or "").strip()
    if not q:
        return None
    condition = Q(pk__in=[])
    digits = normalize_mobile(q)
    if digits.isdigit() and len(digits) >= 4:
        condition |= Q(phone__contains=digits)
    number = re.sub(r"[\s\-]", "", q).upper()
    if CARD_NUMBER_RE.match(number):
        condition |= Q(membership_cards__number__in={number, "M" + number[1:].zfill(8)})
    plate = normalize_plate(q)
    # "沪A" is already a useful plate prefix; two Latin characters are not.
    if len(plate) >= 3 or plate[:1] in PLATE_PROVINCES:
        condition |= Q(vehicles__plate_number__icontains=plate)
    return condition


def desk_search(*, user, q: str) -> list[Customer]:
    """Customers of the user's stores matching ``q``, each with ``vehicle_list``
    and ``active_cards`` (their active card in the user's scope, if any). Three queries."""
    condition = desk_search_q(q)
    if condition is None:
        return []
    # The joins on cars and cards can repeat a customer: filter by id.
    matching = Customer.objects.filter(condition).values("pk")
    cards = scope_for_user(MembershipCard.objects.filter(status=Status.ACTIVE), user).order_by("-valid_from", "-pk")
    customers = (
        scope_for_user(Customer.objects.filter(pk__in=matching), user)
        .select_related("dealership")
        .prefetch_related(
            Prefetch("vehicles", to_attr="vehicle_list"),
            Prefetch("membership_cards", queryset=cards, to_attr="active_cards"),
        )
        .order_by("name", "pk")
    )
    return list(customers[:SEARCH_LIMIT])


# --- One card ------------------------------------------------------------------------------------
def desk_card_get_for_user(*, user, pk: int) -> MembershipCard:
    """A card with its customer and store; a card outside the user's stores is a 404."""
    queryset = MembershipCard.objects.select_related("customer", "dealership")
    return get_for_user_or_404(queryset, user, pk=pk)


def desk_customer_get_for_user(*, user, pk: int) -> Customer:
    """A customer (with their store) for the join page; outside the user's stores, a 404."""
    return get_for_user_or_404(Customer.objects.select_related("dealership"), user, pk=pk)


def desk_registration_get_for_user(*, user, pk: int) -> EventRegistration:
    queryset = EventRegistration.objects.select_related("event", "customer")
    return get_for_user_or_404(queryset, user, pk=pk)


@dataclasses.dataclass
class BenefitLine:
    benefit: str
    label: str
    allowance: int | None  # None: a perk, not counted
    used: int = 0

    @property
    def left(self) -> int:
        return max((self.allowance or 0) - self.used, 0)

    @property
    def counted(self) -> bool:
        return self.allowance is not None

    @property
    def in_km(self) -> bool:
        return self.benefit == Benefit.TOWING_KM


@dataclasses.dataclass
class CardDesk:
    """One card as the desk sees it on ``day``."""

    card: MembershipCard
    day: datetime.date
    policy: LoyaltyPolicy
    year_start: datetime.date
    year_end: datetime.date
    balance: int
    counted: list[BenefitLine]
    perks: list[BenefitLine]
    labour_discount: int
    valid_today: bool
    renewal_opens: datetime.date
    can_renew: bool
    renewal_fee: Decimal | None
    refund_until: datetime.date | None
    can_refund: bool
    recent_uses: list[BenefitUse]


def _allowances(policy: LoyaltyPolicy, level: str) -> list[tuple[str, int | None]]:
    """The level's benefits under the policy, in the order ``Benefit`` lists them."""
    if policy.pk is None:  # no policy row at all: the defaults
        rows = DEFAULT_BENEFITS[level].items()
    else:
        rows = BenefitAllowance.objects.filter(policy=policy, level=level).values_list("benefit", "allowance")
    order = {value: n for n, value in enumerate(Benefit.values)}
    return sorted(rows, key=lambda row: order.get(row[0], len(order)))


def card_desk(*, card: MembershipCard, day: datetime.date) -> CardDesk:
    """The card's year on ``day``: benefits with allowance / used / left in the
    card year ``day`` falls in, the perks, points, labour discount, and whether
    it can be renewed or refunded. Five queries (policy, allowances, uses this
    year, recent uses, balance)."""
    policy = policy_for(card.dealership_id)
    year_start = card_year_start(card, day)
    next_anniversary = add_years(card.valid_from, _years_since(card.valid_from, year_start) + 1)
    year_end = min(next_anniversary - datetime.timedelta(days=1), card.valid_until)
    used = dict(
        BenefitUse.objects.filter(card=card, card_year=year_start)
        .order_by()
        .values("benefit")
        .annotate(n=Sum("quantity"))
        .values_list("benefit", "n")
    )
    labels = dict(Benefit.choices)
    lines = [
        BenefitLine(benefit=benefit, label=str(labels.get(benefit, benefit)), allowance=allowance)
        for benefit, allowance in _allowances(policy, card.level)
    ]
    for line in lines:
        line.used = used.get(line.benefit, 0)
    active = card.status == Status.ACTIVE
    opens = card.valid_until - datetime.timedelta(days=policy.renewal_window_days)
    paid = card.fee_paid > 0
    refund_until = card.valid_from + datetime.timedelta(days=policy.refund_days) if paid else None
    recent = list(
        BenefitUse.objects.filter(card=card, card_year=year_start)
        .select_related("by")
        .order_by("-at", "-pk")[:RECENT_USES]
    )
    return CardDesk(
        card=card,
        day=day,
        policy=policy,
        year_start=year_start,
        year_end=year_end,
        balance=card_balance(card),
        counted=[line for line in lines if line.counted],
        perks=[line for line in lines if not line.counted],
        labour_discount=policy.labour_discount(card.level),
        valid_today=active and card.valid_from <= day <= card.valid_until,
        renewal_opens=opens,
        can_renew=active and opens <= day <= card.valid_until,
        renewal_fee=policy.fee(card.level) if card.obtained == MembershipCard.Route.FEE else None,
        refund_until=refund_until,
        can_refund=active and paid and day <= refund_until,
        recent_uses=recent,
    )


def _years_since(start: datetime.date, day: datetime.date) -> int:
    years = day.year - start.year
    return years - 1 if add_years(start, years) > day else years


# --- Club events at the desk ----------------------------------------------------------------------
def desk_registrations(*, user, customer: Customer, day: datetime.date) -> QuerySet[EventRegistration]:
    """The customer's registrations (registered or attended) to club events of
    the user's stores that begin ``EVENTS_LOOKBACK_DAYS`` before ``day`` or
    later, soonest first. One query."""
    since = day - datetime.timedelta(days=EVENTS_LOOKBACK_DAYS)
    start = timezone.make_aware(datetime.datetime.combine(since, datetime.time()))
    registrations = scope_for_user(EventRegistration.objects.all(), user).filter(
        customer=customer,
        status__in=[EventRegistration.Status.REGISTERED, EventRegistration.Status.ATTENDED],
        event__starts_at__gte=start,
    )
    return registrations.select_related("event").order_by("event__starts_at", "pk")


@dataclasses.dataclass
class DeskRegistration:
    registration: EventRegistration
    starts_on: datetime.date
    can_attend: bool


def desk_events(*, user, customer: Customer, day: datetime.date) -> list[DeskRegistration]:
    """``desk_registrations`` with what the desk may do with each on ``day``."""
    rows = []
    for registration in desk_registrations(user=user, customer=customer, day=day):
        starts_on = timezone.localdate(registration.event.starts_at)
        can_attend = registration.status == EventRegistration.Status.REGISTERED and starts_on <= day
        rows.append(DeskRegistration(registration=registration, starts_on=starts_on, can_attend=can_attend))
    return rows
