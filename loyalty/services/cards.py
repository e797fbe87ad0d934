"""A card's life at the desk and in admin: join, renew, refund, upgrade by hand, the
one status writer ``card_transition``; points adjustments, benefit redemption, referrals."""

import datetime
import uuid

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import (
    Sum,
)
from django.db.models.functions import (
    Coalesce,
)
from django.utils import timezone
from django.utils.translation import gettext as _

from crm.models import User
from customers.models import Customer
from loyalty.models import (
    LEVEL_ORDER,
    BenefitAllowance,
    BenefitUse,
    CardEvent,
    Level,
    MembershipCard,
    PointsEntry,
    Referral,
)
from loyalty.services.policies import (
    ALLOWED,
    Kind,
    Route,
    Status,
    add_years,
    card_year_start,
    policy_for,
)


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
