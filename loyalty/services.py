"""The club's writes: joining, renewing, refunding, upgrading and lapsing cards,
the points ledger, and redeeming benefits at the desk.

``card_transition`` is the one writer of ``MembershipCard.status``, with its
allowed moves and a ``CardEvent`` per change. The nightly job
(``loyalty_nightly``) is set-based: a fixed number of statements per policy,
whatever the number of customers, orders or cards.
"""

import dataclasses
import datetime
import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Case,
    CharField,
    Count,
    DateField,
    DecimalField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import (
    Cast,
    Coalesce,
    Concat,
    ExtractYear,
    Floor,
    LPad,
    TruncDate,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from crm.sql import AddMonths, insert_select
from customers.models import Customer
from loyalty.models import (
    DEFAULT_BENEFITS,
    LEVEL_ORDER,
    BenefitAllowance,
    BenefitUse,
    CardEvent,
    EventRegistration,
    Level,
    LoyaltyPolicy,
    MembershipCard,
    PointsEntry,
    Referral,
)
from service.models import InsurancePolicy, RepairOrder
from vehicles.models import Vehicle

Status = MembershipCard.Status
Route = MembershipCard.Route
Kind = PointsEntry.Kind

# The moves a card's status may make (one writer: card_transition).
ALLOWED: dict[str, frozenset[str]] = {
    Status.ACTIVE: frozenset({Status.LAPSED, Status.REFUNDED, Status.REPLACED}),
    Status.LAPSED: frozenset(),
    Status.REFUNDED: frozenset(),
    Status.REPLACED: frozenset(),
}


# --- Policies --------------------------------------------------------------------------------
def loyalty_defaults_install() -> int:
    """The group's policy and its benefits when missing (post_migrate); returns rows made."""
    policy, made = LoyaltyPolicy.objects.get_or_create(dealership=None)
    existing = set(BenefitAllowance.objects.filter(policy=policy).values_list("level", "benefit"))
    rows = [
        BenefitAllowance(policy=policy, level=level, benefit=benefit, allowance=allowance)
        for level, benefits in DEFAULT_BENEFITS.items()
        for benefit, allowance in benefits.items()
        if (level, benefit) not in existing
    ]
    BenefitAllowance.objects.bulk_create(rows)
    return int(made) + len(rows)


def policy_for(dealership_id: int) -> LoyaltyPolicy:
    """The store's own policy, else the group's (one query)."""
    policies = list(LoyaltyPolicy.objects.filter(Q(dealership_id=dealership_id) | Q(dealership__isnull=True)))
    own = next((p for p in policies if p.dealership_id == dealership_id), None)
    return own or next((p for p in policies if p.dealership_id is None), None) or LoyaltyPolicy()


def effective_policies() -> list[tuple[LoyaltyPolicy, list[int] | None]]:
    """Each policy with the stores it governs: a store's own for that store, the
    group's for every other (``None`` in the list's place: "all but these")."""
    policies = list(LoyaltyPolicy.objects.all())
    group = next((p for p in policies if p.dealership_id is None), None) or LoyaltyPolicy()
    own = [(p, [p.dealership_id]) for p in policies if p.dealership_id is not None]
    return [*own, (group, None)]


def _stores(queryset, path: str, stores: list[int] | None, exclude: list[int]):
    if stores is not None:
        return queryset.filter(**{f"{path}__in": stores})
    return queryset.exclude(**{f"{path}__in": exclude}) if exclude else queryset


def add_years(day: datetime.date, years: int) -> datetime.date:
    """``day`` plus whole years; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def card_year_start(card: MembershipCard, day: datetime.date) -> datetime.date:
    """The start of the card year ``day`` falls in: the last anniversary of
    ``valid_from`` on or before ``day`` (benefit counters reset on it)."""
    years = day.year - card.valid_from.year
    start = add_years(card.valid_from, years)
    # The card's last day (valid_until is the last anniversary) still belongs to the year before.
    if start > day or (start == card.valid_until and start > card.valid_from):
        start = add_years(card.valid_from, years - 1)
    return max(start, card.valid_from)


# --- Cards -----------------------------------------------------------------------------------
def _number(card: MembershipCard) -> str:
    return f"M{card.pk:08d}"


def _event(card, action, from_status, to_status, by, reason, at) -> CardEvent:
    return CardEvent(
        card=card, action=action, from_status=from_status, to_status=to_status, by=by, reason=reason, at=at
    )


def card_transition(
    *, card: MembershipCard, to: str, action: str, by: User | None, reason: str = "", now=None
) -> MembershipCard:
    """Move one card's status, with its event; refused when the move is not allowed."""
    now = now or timezone.now()
    with transaction.atomic():
        card = MembershipCard.objects.select_for_update().get(pk=card.pk)
        if to not in ALLOWED[card.status]:
            raise ValidationError(
                _("A card that is %(current)s cannot become %(target)s.")
                % {"current": Status(card.status).label, "target": Status(to).label},
                code="transition_not_allowed",
            )
        before = card.status
        card.status = to
        card.save(update_fields=["status"])
        _event(card, action, before, to, by, reason, now).save()
    return card


def card_join(
    *,
    customer: Customer,
    level: str,
    route: str,
    by: User | None,
    day: datetime.date,
    fee_paid=None,
    now=None,
) -> MembershipCard:
    """A customer joins the club at their store: a new active card valid the
    level's years from ``day``. By fee: the policy's fee (gold is never sold).
    Refused when the customer already holds an active card there."""
    policy = policy_for(customer.dealership_id)
    errors: dict[str, list[str]] = {}
    if level not in Level.values:
        errors["level"] = [_("Choose a card level.")]
    if route not in Route.values:
        errors["obtained"] = [_("Say how the card was obtained.")]
    if route == Route.FEE:
        fee = policy.fee(level)
        if fee is None:
            errors["level"] = [_("A gold card cannot be bought: it is earned.")]
        elif fee_paid is None:
            fee_paid = fee
        elif fee_paid != fee:
            errors["fee_paid"] = [_("The fee of this card is %(fee)s yuan.") % {"fee": fee}]
    if route == Route.REFERRED and not Referral.objects.filter(referred=customer).exists():
        errors["obtained"] = [_("Record who referred the customer first (Referrals).")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    with transaction.atomic():
        # The customer's row locked: two desks joining them at once make one card.
        Customer.objects.select_for_update().filter(pk=customer.pk).first()
        if MembershipCard.objects.filter(
            customer=customer, dealership_id=customer.dealership_id, status=Status.ACTIVE
        ).exists():
            raise ValidationError(_("The customer already holds an active card at this store."), code="has_card")
        card = MembershipCard.objects.create(
            dealership_id=customer.dealership_id,
            customer=customer,
            number=f"new-{uuid.uuid4().hex[:16]}",  # numbered from its id below
            level=level,
            obtained=route,
            valid_from=day,
            valid_until=add_years(day, policy.years(level)),
            fee_paid=fee_paid or 0,
            created_at=now,
        )
        card.number = _number(card)
        card.save(update_fields=["number"])
        _event(card, CardEvent.Action.JOINED, "", Status.ACTIVE, by, Route(route).label, now).save()
    return card


def card_renew(*, card: MembershipCard, by: User | None, day: datetime.date, fee_paid=None, now=None):
    """Renew in the window before expiry (``renewal_window_days``): the card runs
    the level's years more from its expiry; a bought level pays its fee again."""
    policy = policy_for(card.dealership_id)
    now = now or timezone.now()
    with transaction.atomic():
        card = MembershipCard.objects.select_for_update().get(pk=card.pk)
        if card.status != Status.ACTIVE:
            raise ValidationError(_("Only an active card can be renewed."), code="not_active")
        opens = card.valid_until - datetime.timedelta(days=policy.renewal_window_days)
        if not opens <= day <= card.valid_until:
            raise ValidationError(
                _("A card can be renewed from %(opens)s until it expires on %(until)s.")
                % {"opens": opens.isoformat(), "until": card.valid_until.isoformat()},
                code="outside_window",
            )
        card.valid_until = add_years(card.valid_until, policy.years(card.level))
        if card.obtained == Route.FEE:
            card.fee_paid = policy.fee(card.level) if fee_paid is None else fee_paid
        card.save(update_fields=["valid_until", "fee_paid"])
        _event(card, CardEvent.Action.RENEWED, Status.ACTIVE, Status.ACTIVE, by, "", now).save()
    return card


def card_balance(card: MembershipCard) -> int:
    """The card's points: the sum of its ledger (one query)."""
    return PointsEntry.objects.filter(card=card).aggregate(total=Coalesce(Sum("points"), 0))["total"]


def _clear_points(card: MembershipCard, kind: str, day: datetime.date, by, reason: str, now) -> int:
    balance = card_balance(card)
    if balance:
        PointsEntry.objects.create(
            card=card,
            points=-balance,
            kind=kind,
            source=f"card:{card.pk}",
            reason=reason,
            by=by,
            earned_on=day,
            created_at=now,
        )
    return balance


def card_refund(*, card: MembershipCard, by: User, day: datetime.date, reason: str = "", now=None):
    """A paid card is fully refundable within ``refund_days`` of its start (day 30
    yes, day 31 no): the fee back, the card refunded, its points and benefits void."""
    if by is None or by.role == User.Role.ADVISOR:
        raise ValidationError(_("Only a manager can refund a card."), code="manager_only")
    policy = policy_for(card.dealership_id)
    now = now or timezone.now()
    if card.fee_paid <= 0:
        raise ValidationError(_("Only a card that was paid for can be refunded."), code="not_paid")
    last = card.valid_from + datetime.timedelta(days=policy.refund_days)
    if day > last:
        raise ValidationError(
            _("The refund period ended on %(last)s.") % {"last": last.isoformat()}, code="refund_period_over"
        )
    with transaction.atomic():
        card = card_transition(
            card=card, to=Status.REFUNDED, action=CardEvent.Action.REFUNDED, by=by, reason=reason, now=now
        )
        _clear_points(card, Kind.REFUND, day, by, reason or _("Card refunded"), now)
    return card


def card_upgrade(
    *, card: MembershipCard, level: str, route: str, by: User | None, day: datetime.date, reason: str = "", now=None
) -> MembershipCard:
    """One card upgraded by hand (a manager's "special contribution" for gold):
    the old card replaced, a new one from ``day`` with the points carried over."""
    if LEVEL_ORDER.index(level) <= LEVEL_ORDER.index(card.level):
        raise ValidationError(_("An upgrade goes to a higher level."), code="not_higher")
    if route == Route.SPECIAL and (by is None or by.role == User.Role.ADVISOR):
        raise ValidationError(_("Only a manager can upgrade for a special contribution."), code="manager_only")
    now = now or timezone.now()
    with transaction.atomic():
        old = card_transition(
            card=card, to=Status.REPLACED, action=CardEvent.Action.REPLACED, by=by, reason=reason, now=now
        )
        policy = policy_for(old.dealership_id)
        new = MembershipCard.objects.create(
            dealership_id=old.dealership_id,
            customer_id=old.customer_id,
            number=f"new-{old.pk}",
            level=level,
            obtained=route,
            valid_from=day,
            valid_until=add_years(day, policy.years(level)),
            previous=old,
            created_at=now,
        )
        new.number = _number(new)
        new.save(update_fields=["number"])
        _event(new, CardEvent.Action.UPGRADED, "", Status.ACTIVE, by, reason or Route(route).label, now).save()
        balance = _clear_points(old, Kind.TRANSFER, day, by, _("Carried over to the new card"), now)
        if balance:
            PointsEntry.objects.create(
                card=new,
                points=balance,
                kind=Kind.TRANSFER,
                source=f"card:{old.pk}:in",
                reason=_("Carried over from the old card"),
                by=by,
                earned_on=day,
                created_at=now,
            )
    return new


def points_adjust(*, card: MembershipCard, points: int, reason: str, by: User, day: datetime.date, now=None):
    """A manager's correction of a card's points, with its reason; never below zero."""
    errors: dict[str, list[str]] = {}
    if by is None or by.role == User.Role.ADVISOR:
        raise ValidationError(_("Only a manager can adjust points."), code="manager_only")
    if not reason.strip():
        errors["reason"] = [_("Say why the points change.")]
    if not points:
        errors["points"] = [_("Enter the points to add (or, with a minus sign, to take off).")]
    if errors:
        raise ValidationError(errors)
    now = now or timezone.now()
    with transaction.atomic():
        card = MembershipCard.objects.select_for_update().get(pk=card.pk)
        if card.status != Status.ACTIVE:
            raise ValidationError(_("Only an active card's points can change."), code="not_active")
        if card_balance(card) + points < 0:
            raise ValidationError({"points": [_("The card does not hold that many points.")]})
        return PointsEntry.objects.create(
            card=card,
            points=points,
            kind=Kind.ADJUSTMENT,
            source=f"adj:{card.pk}:{now.isoformat()}",
            reason=reason.strip(),
            by=by,
            earned_on=day,
            created_at=now,
        )


# --- Benefits --------------------------------------------------------------------------------
def benefit_redeem(
    *, card: MembershipCard, benefit: str, quantity: int, by: User, day: datetime.date, note: str = "", now=None
) -> BenefitUse:
    """Use a counted benefit at the desk. The card row is locked while what is
    left is counted, so two desks taking the last wash at once give one success."""
    if not isinstance(quantity, int) or quantity < 1:
        raise ValidationError({"quantity": [_("Enter how many (1 or more).")]})
    now = now or timezone.now()
    with transaction.atomic():
        card = MembershipCard.objects.select_for_update().get(pk=card.pk)
        if card.status != Status.ACTIVE or not card.valid_from <= day <= card.valid_until:
            raise ValidationError(_("The card is not valid today."), code="not_valid")
        allowance = (
            BenefitAllowance.objects.filter(policy=policy_for(card.dealership_id), level=card.level, benefit=benefit)
            .values_list("allowance", flat=True)
            .first()
        )
        if allowance is None:
            raise ValidationError({"benefit": [_("This card has no such benefit to count.")]})
        year = card_year_start(card, day)
        used = BenefitUse.objects.filter(card=card, benefit=benefit, card_year=year).aggregate(
            n=Coalesce(Sum("quantity"), 0)
        )["n"]
        left = allowance - used
        if quantity > left:
            raise ValidationError(
                {"quantity": [_("Only %(left)d left in this card year.") % {"left": max(left, 0)}]},
                code="over_allowance",
            )
        return BenefitUse.objects.create(
            card=card, benefit=benefit, quantity=quantity, card_year=year, note=note.strip(), by=by, at=now
        )


# --- Referrals -------------------------------------------------------------------------------
def referral_record(*, referrer: Customer, referred: Customer, by: User | None, now=None) -> Referral:
    """A customer brought another (same store); never oneself, never twice."""
    if referrer.pk == referred.pk:
        raise ValidationError({"referred": [_("A customer cannot refer themselves.")]})
    if referrer.dealership_id != referred.dealership_id:
        raise ValidationError({"referred": [_("Both customers must be of the same store.")]})
    with transaction.atomic():
        if Referral.objects.filter(referred=referred).exists():
            raise ValidationError({"referred": [_("This customer was already referred.")]})
        referral = Referral.objects.create(
            dealership_id=referrer.dealership_id,
            referrer=referrer,
            referred=referred,
            created_by=by,
            created_at=now or timezone.now(),
        )
        if referred.referred_by_id is None:
            Customer.objects.filter(pk=referred.pk).update(referred_by=referrer)
    return referral


# --- The night's work ------------------------------------------------------------------------
@dataclasses.dataclass
class NightlyReport:
    day: datetime.date
    joined: int = 0
    confirmed: int = 0
    earned: dict[str, int] = dataclasses.field(default_factory=dict)
    reversed: int = 0
    upgraded: int = 0
    lapsed: int = 0


def _computed(field: str):
    """An order by ``field`` that no index gives: sorting by it makes PostgreSQL
    finish a selection before an ``INSERT … SELECT`` writes its first row (see
    ``_entries``), and the rows go in in the order of ``field``."""
    return ExpressionWrapper(F(field) + Value(0), output_field=IntegerField()).asc()


def _entries(rows, *, extra: dict[str, str]) -> int:
    """Insert the entries ``rows`` select, in the order of the rows they come
    from. The order is what keeps the statement linear (``_computed``): sorted,
    the whole selection is read before the first row is written. Streamed
    instead, its anti-join on the ledger could rescan, for every row, the
    ledger's pages the statement itself is filling (the plan of an empty
    ledger, a fresh install's first night: minutes instead of seconds)."""
    columns = {"card_id": "e_card", "points": "e_points", "kind": "e_kind", "source": "e_source"}
    columns.update({"earned_on": "e_day", "created_at": "e_at", "reason": "e_reason", **extra})
    return insert_select(PointsEntry, rows.order_by(_computed("pk")), columns)


def _entry_values(day, now, kind, source):
    return {
        "e_kind": Value(kind, output_field=CharField()),
        "e_source": source,
        "e_day": Value(day, output_field=DateField()),
        "e_at": Value(now),
        "e_reason": Value("", output_field=CharField()),
    }


def _points(amount: str, yuan_per_point: int):
    """Whole points of an amount: floor(amount / yuan per point), never rounded up."""
    share = ExpressionWrapper(
        F(amount) / Value(Decimal(yuan_per_point)), output_field=DecimalField(max_digits=16, decimal_places=6)
    )
    return Cast(Floor(share), IntegerField())


def _customer_paid(prefix: str = "") -> Q:
    return Q(**{f"{prefix}payer": RepairOrder.Payer.CUSTOMER}) & ~Q(**{f"{prefix}kind": RepairOrder.Kind.WARRANTY})


_ONE_DAY = datetime.timedelta(days=1)


def _day_start(day: datetime.date) -> datetime.datetime:
    """Local midnight starting ``day``: ``at__date <= day`` is ``at < _day_start(day + 1)``,
    which an index on ``at`` can serve (a cast to the local date cannot)."""
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def _join_card(rows, *, customer: str, store: str, on):
    """``rows`` joined to the customer's active card at ``store`` covering the
    day ``on`` (an expression), as ``e_card``: the card itself, or the card it
    replaced (points earned the day of an upgrade go to the new card, which
    carries the old one's). One card at most, since a customer holds one active
    card per store; a row without one is left out. A join, not a subquery per
    row: the planner hashes the cards once."""
    card = f"{customer}__membership_cards"
    covering = Q(**{f"{card}__valid_from__lte": on}) | Q(**{f"{card}__previous__valid_from__lte": on})
    return rows.filter(
        covering,
        **{f"{card}__status": Status.ACTIVE, f"{card}__dealership_id": F(store), f"{card}__valid_until__gte": on},
    ).annotate(e_card=F(f"{card}__pk"))


def _on_earning_card(rows, *, customer: str, store: str, on, kind: str, link: str):
    """``rows`` on the card each earns on (``_join_card``), those that earned
    before left out by an anti-join on the ledger's ``link`` column: a source
    that earned is never offered to the insert again (the unique (kind, source)
    still guards it), and one not yet earned is found however late it came."""
    earned = PointsEntry.objects.filter(kind=kind, **{link: OuterRef("pk")})
    return _join_card(rows.filter(~Exists(earned)), customer=customer, store=store, on=on)


def points_earn(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> dict[str, int]:
    """The night's points, each an ``INSERT … SELECT`` of what has not earned
    yet (the ledger's unique (kind, source) guards it too): repair spend of
    closed customer-paid orders (warranty and carmaker-paid excluded), premiums
    placed here, events attended, confirmed referrals; each on the card valid
    when it happened. Every source not yet earned is looked at, however late
    an order was closed or a policy recorded."""
    earned = {}
    tomorrow = _day_start(day + datetime.timedelta(days=1))
    orders = _stores(RepairOrder.objects.order_by(), "dealership_id", stores, exclude).filter(
        _customer_paid(), closed_at__isnull=False, voided_at__isnull=True, closed_at__lt=tomorrow
    )
    orders = _on_earning_card(
        orders.annotate(o_day=TruncDate("closed_at")),
        customer="customer",
        store="dealership_id",
        on=F("o_day"),
        kind=Kind.REPAIR_SPEND,
        link="repair_order_id",
    )
    orders = orders.annotate(
        e_points=_points("total_amount", policy.yuan_per_repair_point),
        e_ro=F("pk"),
        **_entry_values(day, now, Kind.REPAIR_SPEND, Concat(Value("ro:"), Cast("pk", CharField()))),
    ).filter(e_points__gt=0)
    earned[Kind.REPAIR_SPEND] = _entries(orders, extra={"repair_order_id": "e_ro"})

    # Earned when recorded, on the card that covers the policy's start.
    policies = _on_earning_card(
        _stores(InsurancePolicy.objects.order_by(), "dealership_id", stores, exclude),
        customer="customer",
        store="dealership_id",
        on=F("starts_on"),
        kind=Kind.INSURANCE,
        link="insurance_policy_id",
    )
    policies = policies.annotate(
        e_points=_points("premium", policy.yuan_per_insurance_point),
        e_policy=F("pk"),
        **_entry_values(day, now, Kind.INSURANCE, Concat(Value("ins:"), Cast("pk", CharField()))),
    ).filter(e_points__gt=0)
    earned[Kind.INSURANCE] = _entries(policies, extra={"insurance_policy_id": "e_policy"})

    if policy.event_points:
        attended = _stores(EventRegistration.objects.order_by(), "event__dealership_id", stores, exclude).filter(
            status=EventRegistration.Status.ATTENDED, attended_at__lt=tomorrow
        )
        attended = _on_earning_card(
            attended.annotate(o_day=TruncDate("attended_at"), o_store=F("event__dealership_id")),
            customer="customer",
            store="o_store",
            on=F("o_day"),
            kind=Kind.EVENT,
            link="registration_id",
        ).annotate(
            e_points=Value(policy.event_points, output_field=IntegerField()),
            e_reg=F("pk"),
            **_entry_values(day, now, Kind.EVENT, Concat(Value("reg:"), Cast("pk", CharField()))),
        )
        earned[Kind.EVENT] = _entries(attended, extra={"registration_id": "e_reg"})

    if policy.referral_points:
        confirmed = _stores(Referral.objects.order_by(), "dealership_id", stores, exclude).filter(
            status__in=[Referral.Status.CONFIRMED, Referral.Status.REWARDED]
        )
        confirmed = _on_earning_card(
            confirmed,
            customer="referrer",
            store="dealership_id",
            on=Value(day, output_field=DateField()),
            kind=Kind.REFERRAL,
            link="referral_id",
        ).annotate(
            e_points=Value(policy.referral_points, output_field=IntegerField()),
            e_ref=F("pk"),
            **_entry_values(day, now, Kind.REFERRAL, Concat(Value("ref:"), Cast("pk", CharField()))),
        )
        earned[Kind.REFERRAL] = _entries(confirmed, extra={"referral_id": "e_ref"})
        _stores(Referral.objects, "dealership_id", stores, exclude).filter(
            status=Referral.Status.CONFIRMED,
            pk__in=PointsEntry.objects.filter(kind=Kind.REFERRAL).values("referral_id"),
        ).update(status=Referral.Status.REWARDED, rewarded_at=now)
    return earned


def points_reverse(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> int:
    """Orders that earned and were corrected or voided since: one compensating
    entry each for the difference between what they should have earned now and
    what their entries add up to, on the customer's active card at the store.
    Keyed by the order and the number of its earlier reversals, so a rerun adds
    nothing and a second correction gets its own entry.

    The orders that changed are found by one grouped pass over the ledger
    (its entries per order against the order's current amount); only those
    are read further."""

    def target(prefix: str = ""):
        return Case(
            When(
                _customer_paid(prefix) & Q(**{f"{prefix}voided_at__isnull": True}),
                then=_points(f"{prefix}total_amount", policy.yuan_per_repair_point),
            ),
            default=Value(0),
            output_field=IntegerField(),
        )

    changed = (
        _stores(PointsEntry.objects.order_by(), "repair_order__dealership_id", stores, exclude)
        .filter(repair_order__isnull=False)
        .values("repair_order_id")
        .annotate(
            c_total=Sum("points"),
            c_spent=Count("pk", filter=Q(kind=Kind.REPAIR_SPEND)),
            c_target=Max(target("repair_order__")),
        )
        .filter(c_spent__gt=0)
        .exclude(c_total=F("c_target"))
        .values("repair_order_id")
    )
    earned = PointsEntry.objects.filter(repair_order_id=OuterRef("pk")).order_by()
    total = Subquery(
        earned.values("repair_order_id").annotate(s=Sum("points")).values("s")[:1], output_field=IntegerField()
    )
    reversals = Subquery(
        earned.filter(kind=Kind.REVERSAL).values("repair_order_id").annotate(n=Count("pk")).values("n")[:1],
        output_field=IntegerField(),
    )
    orders = _join_card(
        RepairOrder.objects.order_by().filter(pk__in=changed),
        customer="customer",
        store="dealership_id",
        on=Value(day, output_field=DateField()),
    )
    orders = orders.annotate(e_total=total, e_target=target(), e_n=Coalesce(reversals, 0)).annotate(
        e_points=F("e_target") - F("e_total"),
        e_ro=F("pk"),
        **_entry_values(
            day,
            now,
            Kind.REVERSAL,
            Concat(Value("ro:"), Cast("pk", CharField()), Value(":"), Cast(F("e_n") + 1, CharField())),
        ),
    )
    return _entries(orders, extra={"repair_order_id": "e_ro"})


def _balance():
    return Coalesce(
        Subquery(
            PointsEntry.objects.filter(card_id=OuterRef("pk"))
            .order_by()
            .values("card_id")
            .annotate(s=Sum("points"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _referrals(since=None):
    confirmed = Referral.objects.filter(
        referrer_id=OuterRef("customer_id"), status__in=[Referral.Status.CONFIRMED, Referral.Status.REWARDED]
    )
    if since is not None:
        confirmed = confirmed.filter(confirmed_at__date__gte=since)
    return Coalesce(
        Subquery(
            confirmed.order_by().values("referrer_id").annotate(n=Count("pk")).values("n")[:1],
            output_field=IntegerField(),
        ),
        0,
    )


def _orders_here():
    return RepairOrder.objects.filter(
        customer_id=OuterRef("customer_id"),
        dealership_id=OuterRef("dealership_id"),
        closed_at__isnull=False,
        voided_at__isnull=True,
    ).order_by()


def _card_year_start(day: datetime.date):
    """The start of each card's current card year, in SQL: ``valid_from`` plus
    the whole years elapsed by ``day`` (the anniversary clamps like add_years)."""
    anniversary_later = Case(
        When(
            Q(valid_from__month__gt=day.month) | Q(valid_from__month=day.month, valid_from__day__gt=day.day),
            then=Value(1),
        ),
        default=Value(0),
        output_field=IntegerField(),
    )
    years = Value(day.year) - ExtractYear("valid_from") - anniversary_later
    return AddMonths(F("valid_from"), years * 12)


def _upgrade_candidates(policy: LoyaltyPolicy, stores, exclude, day: datetime.date) -> Q:
    """A cheap superset of the cards that may move up tonight, as semi-joins
    each worked out once for all cards (hashed by the planner): the gold
    points, or for an ordinary card the silver points; enough confirmed
    referrals for the lowest referral threshold; and, for ordinary cards, a
    maintenance visit in each of the last years, a car whose maintenance
    covers the km, or enough visits and spend in the last year (a card year
    lies within it). Matched by customer, not by store: the exact
    conditions follow, for these cards only. A threshold of 0 makes every card
    a candidate."""
    ordinary = Q(level=Level.ORDINARY)
    everyone = Q(pk__isnull=False)

    def holding(points: int, cards):
        """Cards whose ledger adds up to ``points`` or more (every card when 0)."""
        if points <= 0:
            return everyone
        ledger = PointsEntry.objects.order_by().filter(card__in=cards) if cards is not None else PointsEntry.objects
        return Q(
            pk__in=ledger.order_by().values("card_id").annotate(s=Sum("points")).filter(s__gte=points).values("card_id")
        )

    ordinary_cards = MembershipCard.objects.filter(status=Status.ACTIVE, level=Level.ORDINARY)
    by_points = holding(policy.gold_points, None) | (ordinary & holding(policy.silver_points, ordinary_cards))
    referrals = min(policy.silver_referrals, policy.gold_referrals_ordinary, policy.gold_referrals_silver)
    by_referrals = (
        Q(
            customer_id__in=Referral.objects.order_by()
            .filter(status__in=[Referral.Status.CONFIRMED, Referral.Status.REWARDED])
            .values("referrer_id")
            .annotate(n=Count("pk"))
            .filter(n__gte=referrals)
            .values("referrer_id")
        )
        if referrals > 0
        else everyone
    )
    orders = _stores(RepairOrder.objects.order_by(), "dealership_id", stores, exclude).filter(
        closed_at__isnull=False, voided_at__isnull=True
    )
    # One pass over the recent orders, per customer: a maintenance visit in
    # each of the last years; the km their maintenance covers (over all their
    # cars: at least any one car's); visits and spend in the last year.
    years = policy.silver_years_maintained
    maintenance = Q(kind=RepairOrder.Kind.MAINTENANCE)
    since_km = _day_start(add_years(day, -years) + datetime.timedelta(days=1))
    last_year = Q(closed_at__gte=_day_start(add_years(day, -1)), closed_at__lt=_day_start(day + _ONE_DAY))
    last_year &= ~Q(kind=RepairOrder.Kind.ACCIDENT)
    windows = {
        f"w{n}": Count(
            "pk",
            filter=maintenance
            & Q(
                closed_at__gte=_day_start(add_years(day, -(n + 1)) + _ONE_DAY),
                closed_at__lt=_day_start(add_years(day, -n) + _ONE_DAY),
            ),
        )
        for n in range(years)
    }
    in_km = maintenance & Q(closed_at__gte=since_km)
    conditions = Q(km_span__gte=policy.silver_km_maintained, km_visits__gte=1)
    if years:
        conditions |= Q(**{f"{name}__gt": 0 for name in windows})
    conditions |= Q(visits__gte=policy.silver_visits, spend__gte=policy.silver_spend)
    recent = (
        orders.filter(closed_at__gte=min(since_km, _day_start(add_years(day, -1))))
        # Only ordinary members can move up this way: their orders alone are grouped.
        .filter(customer_id__in=ordinary_cards.values("customer_id"))
        .values("customer_id")
        .annotate(
            **windows,
            km_span=Max("mileage", filter=in_km) - Min("mileage", filter=in_km),
            km_visits=Count("pk", filter=in_km),
            visits=Count("pk", filter=last_year),
            spend=Sum("total_amount", filter=last_year),
        )
        .filter(conditions)
        .values("customer_id")
    )
    # With no visits nor spend asked, every ordinary card qualifies.
    silver_only = Q(customer_id__in=recent) if policy.silver_visits or policy.silver_spend else everyone
    return by_points | by_referrals | (ordinary & silver_only)


def _with_routes(cards, *, policy: LoyaltyPolicy, day: datetime.date):
    """``cards`` with the level each may move up to tonight, and by what: any
    one condition (seed 004), as ``u_gold`` / ``u_silver`` (the route, or "")."""
    year_start = _card_year_start(day)
    in_year = (
        _orders_here()
        .exclude(kind=RepairOrder.Kind.ACCIDENT)
        # The card year starts within the last year: a bound an index can use, then the card's own.
        .filter(closed_at__gte=_day_start(add_years(day, -1)), closed_at__lt=_day_start(day + _ONE_DAY))
        .filter(closed_at__date__gte=OuterRef("u_year"))
        .values("customer_id")
    )
    visits = Coalesce(Subquery(in_year.annotate(n=Count("pk")).values("n")[:1], output_field=IntegerField()), 0)
    spend = Coalesce(
        Subquery(in_year.annotate(t=Sum("total_amount")).values("t")[:1]),
        Value(Decimal("0")),
        output_field=DecimalField(max_digits=12, decimal_places=2),
    )
    maintenance = _orders_here().filter(kind=RepairOrder.Kind.MAINTENANCE)
    each_year = Q()
    for n in range(policy.silver_years_maintained):
        each_year &= Q(
            Exists(
                maintenance.filter(
                    closed_at__gte=_day_start(add_years(day, -(n + 1)) + _ONE_DAY),
                    closed_at__lt=_day_start(add_years(day, -n) + _ONE_DAY),
                )
            )
        )
    by_km = Exists(
        maintenance.filter(closed_at__gte=_day_start(add_years(day, -policy.silver_years_maintained) + _ONE_DAY))
        .values("vehicle_id")
        .annotate(
            span=Max("mileage") - Min("mileage"),
            visits=Count("pk"),
            interval=Max("vehicle__model__maintenance_interval_km"),
        )
        .filter(span__gte=policy.silver_km_maintained, visits__gte=1)
        .filter(visits__gte=F("span") / F("interval"))
    )
    cards = cards.annotate(
        u_balance=_balance(),
        u_referrals=_referrals(),
        u_year=year_start,
    ).annotate(u_visits=visits, u_spend=spend, u_referrals_since=_referrals(since=OuterRef("valid_from")))
    ordinary = Q(level=Level.ORDINARY)
    gold_route = Case(
        When(u_balance__gte=policy.gold_points, then=Value(Route.POINTS)),
        When(ordinary & Q(u_referrals__gte=policy.gold_referrals_ordinary), then=Value(Route.REFERRALS)),
        When(Q(level=Level.SILVER, u_referrals_since__gte=policy.gold_referrals_silver), then=Value(Route.REFERRALS)),
        default=Value(""),
        output_field=CharField(),
    )
    silver_conditions = [
        (Q(u_balance__gte=policy.silver_points), Route.POINTS),
        (each_year if policy.silver_years_maintained else Q(pk__in=[]), Route.CONTINUOUS_MAINTENANCE),
        (Q(by_km), Route.CONTINUOUS_MAINTENANCE),
        (Q(u_visits__gte=policy.silver_visits, u_spend__gte=policy.silver_spend), Route.VISITS_AND_SPEND),
        (Q(u_referrals__gte=policy.silver_referrals), Route.REFERRALS),
    ]
    silver_route = Case(
        *[When(ordinary & condition, then=Value(route)) for condition, route in silver_conditions],
        default=Value(""),
        output_field=CharField(),
    )
    return cards.annotate(u_gold=gold_route, u_silver=silver_route)


def _route_label():
    """The card's route (``obtained``) as its label, in SQL: the events' reason."""
    return Case(
        *[When(obtained=route, then=Value(str(route.label))) for route in Route],
        default=Value(""),
        output_field=CharField(),
    )


def cards_upgrade(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> int:
    """Any one condition moves an active card up (seed 004): silver at the
    policy's points, continuous maintenance here (a maintenance visit in each of
    the last N years, or N years' visits covering the km with none missed by
    the car's interval), visits and spend in the card year (accident repairs
    excluded), or referrals as an ordinary member; gold at its points, or
    referrals as an ordinary or a silver member. The old card is replaced, the
    new one starts tonight with the points carried over.

    Seven statements whatever moves, none reading rows into Python: the cards
    that move are replaced first (the conditions worked out for the cheap
    candidates only, ``_upgrade_candidates``); the replaced cards still without
    a successor then get theirs, with the level and route worked out again for
    those few; then the events and the points carried over."""
    cards = _stores(MembershipCard.objects.order_by(), "dealership_id", stores, exclude).filter(
        level__in=[Level.ORDINARY, Level.SILVER], valid_from__lte=day, valid_until__gte=day
    )
    candidates = cards.filter(status=Status.ACTIVE).filter(_upgrade_candidates(policy, stores, exclude, day))
    moving = _with_routes(candidates, policy=policy, day=day).filter(~Q(u_gold="") | ~Q(u_silver=""))
    upgraded = MembershipCard.objects.filter(pk__in=moving.values("pk")).update(status=Status.REPLACED)

    orphans = cards.filter(status=Status.REPLACED).exclude(
        Exists(MembershipCard.objects.filter(previous_id=OuterRef("pk")))
    )
    gold = ~Q(u_gold="")
    successors = _with_routes(orphans, policy=policy, day=day).annotate(
        n_store=F("dealership_id"),
        n_customer=F("customer_id"),
        n_number=Concat(Value("new-"), Cast("pk", CharField())),
        n_level=Case(When(gold, then=Value(Level.GOLD)), default=Value(Level.SILVER), output_field=CharField()),
        n_route=Case(When(gold, then=F("u_gold")), default=F("u_silver"), output_field=CharField()),
        n_status=Value(Status.ACTIVE, output_field=CharField()),
        n_from=Value(day, output_field=DateField()),
        n_until=Case(
            When(gold, then=Value(add_years(day, policy.gold_years))),
            default=Value(add_years(day, policy.silver_years)),
            output_field=DateField(),
        ),
        n_fee=Value(Decimal("0"), output_field=DecimalField(max_digits=8, decimal_places=2)),
        n_previous=F("pk"),
        n_at=Value(now),
    )
    insert_select(
        MembershipCard,
        successors.order_by(_computed("pk")),
        {
            "dealership_id": "n_store",
            "customer_id": "n_customer",
            "number": "n_number",
            "level": "n_level",
            "obtained": "n_route",
            "status": "n_status",
            "valid_from": "n_from",
            "valid_until": "n_until",
            "fee_paid": "n_fee",
            "previous_id": "n_previous",
            "created_at": "n_at",
        },
    )
    fresh = MembershipCard.objects.order_by().filter(number__startswith="new-", previous__isnull=False)
    event_columns = {"card_id": "v_card", "action": "v_action", "from_status": "v_from", "to_status": "v_to"}
    event_columns.update({"reason": "v_reason", "at": "v_at"})
    for card, action, before, after in (
        ("previous_id", CardEvent.Action.REPLACED, Status.ACTIVE, Status.REPLACED),
        ("pk", CardEvent.Action.UPGRADED, "", Status.ACTIVE),
    ):
        insert_select(
            CardEvent,
            fresh.annotate(
                v_card=F(card),
                v_action=Value(action, output_field=CharField()),
                v_from=Value(before, output_field=CharField()),
                v_to=Value(after, output_field=CharField()),
                v_reason=_route_label(),
                v_at=Value(now),
            ),
            event_columns,
            ignore_conflicts=False,
        )
    # The points carried over: onto the new card first, while the old one still holds them.
    carried = Coalesce(
        Subquery(
            PointsEntry.objects.filter(card_id=OuterRef("previous_id"))
            .order_by()
            .values("card_id")
            .annotate(s=Sum("points"))
            .values("s")[:1],
            output_field=IntegerField(),
        ),
        0,
    )
    for card, sign, suffix in (("pk", 1, ":in"), ("previous_id", -1, "")):
        source = Concat(Value("card:"), Cast("previous_id", CharField()), Value(suffix))
        _entries(
            fresh.annotate(
                e_carried=carried,
                e_card=F(card),
                e_points=ExpressionWrapper(Value(sign) * carried, output_field=IntegerField()),
                **_entry_values(day, now, Kind.TRANSFER, source),
            ).exclude(e_carried=0),
            extra={},
        )
    _renumber()
    return upgraded


def _renumber() -> int:
    """Cards made in bulk get their number from their id (``M00001234``)."""
    return MembershipCard.objects.filter(number__startswith="new-").update(
        number=Concat(Value("M"), LPad(Cast("pk", CharField()), 8, Value("0")))
    )


def cards_lapse(*, stores, exclude, day: datetime.date, now) -> int:
    """Cards not renewed lapse the day after they expire: void, and their points
    cleared by a ``lapse`` entry (the balance goes to 0). Three statements: the
    entries and the events of the expired cards, then their status."""
    expired = _stores(MembershipCard.objects.order_by(), "dealership_id", stores, exclude).filter(
        status=Status.ACTIVE, valid_until__lt=day
    )
    reason = _("Not renewed by its expiry")
    entries = expired.annotate(
        e_balance=_balance(),
        e_card=F("pk"),
        e_points=ExpressionWrapper(Value(0) - _balance(), output_field=IntegerField()),
        **_entry_values(day, now, Kind.LAPSE, Concat(Value("card:"), Cast("pk", CharField()))),
    ).exclude(e_balance=0)
    _entries(entries.annotate(e_reason=Value(reason, output_field=CharField())), extra={})
    insert_select(
        CardEvent,
        expired.annotate(
            v_card=F("pk"),
            v_action=Value(CardEvent.Action.LAPSED, output_field=CharField()),
            v_from=Value(Status.ACTIVE, output_field=CharField()),
            v_to=Value(Status.LAPSED, output_field=CharField()),
            v_reason=Value(reason, output_field=CharField()),
            v_at=Value(now),
        ),
        {
            "card_id": "v_card",
            "action": "v_action",
            "from_status": "v_from",
            "to_status": "v_to",
            "reason": "v_reason",
            "at": "v_at",
        },
        ignore_conflicts=False,
    )
    return expired.update(status=Status.LAPSED)


def cards_join_buyers(*, policy: LoyaltyPolicy, stores, exclude, day: datetime.date, now) -> int:
    """A car bought here makes its owner a member (an ordinary card from the
    purchase day) when they hold no card of the store that began since; looks
    back the renewal window's days, so a missed night catches up. Three
    statements: the cards, their events, their numbers."""
    since = day - datetime.timedelta(days=max(policy.renewal_window_days, 1))

    bought = (
        _stores(Vehicle.objects.order_by(), "customer__dealership_id", stores, exclude)
        .filter(
            sold_here=True, purchase_date__gt=since, purchase_date__lte=day, customer__status=Customer.Status.ACTIVE
        )
        .exclude(
            Exists(
                MembershipCard.objects.filter(
                    customer_id=OuterRef("customer_id"), dealership_id=OuterRef("customer__dealership_id")
                ).filter(Q(status=Status.ACTIVE) | Q(valid_from__gte=OuterRef("purchase_date")))
            )
        )
        .values("customer_id")
        .annotate(
            j_store=Max("customer__dealership_id"),
            j_customer=F("customer_id"),
            j_number=Concat(Value("new-"), Cast("customer_id", CharField())),
            j_from=Min("purchase_date"),
        )
    )
    bought = bought.annotate(
        j_until=AddMonths(Min("purchase_date"), Value(12 * policy.ordinary_years)),
        j_level=Value(Level.ORDINARY, output_field=CharField()),
        j_route=Value(Route.BOUGHT_HERE, output_field=CharField()),
        j_status=Value(Status.ACTIVE, output_field=CharField()),
        j_fee=Value(Decimal("0"), output_field=DecimalField(max_digits=8, decimal_places=2)),
        j_at=Value(now),
    )
    joined = insert_select(
        MembershipCard,
        bought.order_by(_computed("customer_id")),
        {
            "dealership_id": "j_store",
            "customer_id": "j_customer",
            "number": "j_number",
            "level": "j_level",
            "obtained": "j_route",
            "status": "j_status",
            "valid_from": "j_from",
            "valid_until": "j_until",
            "fee_paid": "j_fee",
            "created_at": "j_at",
        },
    )
    insert_select(
        CardEvent,
        MembershipCard.objects.order_by()
        .filter(number__startswith="new-", obtained=Route.BOUGHT_HERE, created_at=now)
        .annotate(
            v_card=F("pk"),
            v_action=Value(CardEvent.Action.JOINED, output_field=CharField()),
            v_from=Value("", output_field=CharField()),
            v_to=Value(Status.ACTIVE, output_field=CharField()),
            v_reason=Value(str(Route.BOUGHT_HERE.label), output_field=CharField()),
            v_at=Value(now),
        ),
        {
            "card_id": "v_card",
            "action": "v_action",
            "from_status": "v_from",
            "to_status": "v_to",
            "reason": "v_reason",
            "at": "v_at",
        },
        ignore_conflicts=False,
    )
    _renumber()
    return joined


def referrals_confirm(*, stores, exclude, now) -> int:
    """A referral is confirmed when the referred customer buys a car here or
    closes a first paid order here after it was recorded."""

    bought = Vehicle.objects.filter(
        customer_id=OuterRef("referred_id"), sold_here=True, purchase_date__gte=OuterRef("r_day")
    )
    paid = RepairOrder.objects.filter(
        _customer_paid(),
        customer_id=OuterRef("referred_id"),
        dealership_id=OuterRef("dealership_id"),
        closed_at__isnull=False,
        voided_at__isnull=True,
        closed_at__gte=OuterRef("created_at"),
    )
    ready = (
        _stores(Referral.objects, "dealership_id", stores, exclude)
        .filter(status=Referral.Status.PENDING)
        .annotate(r_day=TruncDate("created_at"))
        .filter(Q(Exists(bought)) | Q(Exists(paid)))
    )
    return Referral.objects.filter(pk__in=ready.values("pk")).update(status=Referral.Status.CONFIRMED, confirmed_at=now)


def loyalty_nightly(*, day: datetime.date, now: datetime.datetime | None = None) -> NightlyReport:
    """The night's club work, per policy and the stores it governs: buyers join,
    referrals confirm, points are earned and corrected, cards move up, cards
    not renewed lapse. Each step is set-based and skips what it did before: a
    rerun changes nothing."""
    now = now or timezone.now()
    report = NightlyReport(day=day)
    own = [p.dealership_id for p in LoyaltyPolicy.objects.exclude(dealership=None)]
    for policy, stores in effective_policies():
        exclude = [] if stores is not None else own
        with transaction.atomic():
            report.joined += cards_join_buyers(policy=policy, stores=stores, exclude=exclude, day=day, now=now)
            report.confirmed += referrals_confirm(stores=stores, exclude=exclude, now=now)
            for kind, n in points_earn(policy=policy, stores=stores, exclude=exclude, day=day, now=now).items():
                report.earned[kind] = report.earned.get(kind, 0) + n
            report.reversed += points_reverse(policy=policy, stores=stores, exclude=exclude, day=day, now=now)
            report.upgraded += cards_upgrade(policy=policy, stores=stores, exclude=exclude, day=day, now=now)
            report.lapsed += cards_lapse(stores=stores, exclude=exclude, day=day, now=now)
    return report
