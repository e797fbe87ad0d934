"""The club's writes, by subdomain: ``policies`` (which policy governs a store,
card years), ``cards`` (a card's life at the desk and in admin, points
adjustments, benefits, referrals), ``earning`` and ``night`` (the set-based
nightly job). ``card_transition`` is the one writer of ``MembershipCard.status``.
Callers import from here."""

from loyalty.services.cards import (
    benefit_redeem,
    card_balance,
    card_join,
    card_refund,
    card_renew,
    card_transition,
    card_upgrade,
    points_adjust,
    referral_record,
)
from loyalty.services.earning import NightlyReport, points_earn, points_reverse
from loyalty.services.night import (
    card_year_start_sql,
    cards_join_buyers,
    cards_lapse,
    cards_upgrade,
    loyalty_nightly,
    referrals_confirm,
)
from loyalty.services.policies import (
    ALLOWED,
    add_years,
    card_year_start,
    effective_policies,
    loyalty_defaults_install,
    policy_for,
)

__all__ = [
    "ALLOWED",
    "NightlyReport",
    "add_years",
    "benefit_redeem",
    "card_balance",
    "card_join",
    "card_refund",
    "card_renew",
    "card_transition",
    "card_upgrade",
    "card_year_start",
    "card_year_start_sql",
    "cards_join_buyers",
    "cards_lapse",
    "cards_upgrade",
    "effective_policies",
    "loyalty_defaults_install",
    "loyalty_nightly",
    "points_adjust",
    "points_earn",
    "points_reverse",
    "policy_for",
    "referral_record",
    "referrals_confirm",
]
