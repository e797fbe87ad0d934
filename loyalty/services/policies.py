"""The club's policies and its calendar: which policy governs a store, card years."""

import datetime

from django.db.models import (
    Q,
)

from loyalty.models import (
    DEFAULT_BENEFITS,
    BenefitAllowance,
    LoyaltyPolicy,
    MembershipCard,
    PointsEntry,
)

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
