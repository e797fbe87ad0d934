"""The club's answer to the customers app's merge hook (connected on import,
from ``LoyaltyConfig.ready``; customers sits below loyalty).

Cards: a customer holds one active card per store. When both records hold
one, the higher level stays active (the kept record's card on a tie); the
other is replaced through the one status writer, and its points are carried
over with a pair of transfer entries, as an upgrade does, so each card's
ledger still adds up. Then every card of the merged record moves.

Referrals: one customer is referred once, and never by themselves. A
referral between the two records stays where it is (it would become a
self-referral); the kept record takes the merged one's referrals as a
referrer, and as the referred one unless it was referred already."""

from django.db.models import Q
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from customers.merge import customer_merging
from loyalty.models import LEVEL_ORDER, CardEvent, MembershipCard, PointsEntry, Referral
from loyalty.services import card_balance, card_transition

Status = MembershipCard.Status


@receiver(customer_merging, dispatch_uid="loyalty-merge-cards")
def cards_merge(sender, *, kept, merged, by, **kwargs) -> dict[str, int]:
    now = timezone.now()
    day = timezone.localdate(now)
    active = {
        (card.customer_id, card.dealership_id): card
        for card in MembershipCard.objects.filter(customer_id__in=[kept.pk, merged.pk], status=Status.ACTIVE)
    }
    for (customer_id, store), theirs in list(active.items()):
        mine = active.get((kept.pk, store))
        if customer_id != merged.pk or mine is None:
            continue
        stays, goes = (
            (theirs, mine) if LEVEL_ORDER.index(theirs.level) > LEVEL_ORDER.index(mine.level) else (mine, theirs)
        )
        reason = _("Customers merged: #%(merged)s into #%(kept)s") % {"merged": merged.pk, "kept": kept.pk}
        card_transition(card=goes, to=Status.REPLACED, action=CardEvent.Action.REPLACED, by=by, reason=reason, now=now)
        balance = card_balance(goes)
        if balance:
            common = {
                "kind": PointsEntry.Kind.TRANSFER,
                "reason": reason,
                "by": by,
                "earned_on": day,
                "created_at": now,
            }
            PointsEntry.objects.bulk_create(
                [
                    PointsEntry(card=goes, points=-balance, source=f"card:{goes.pk}", **common),
                    PointsEntry(card=stays, points=balance, source=f"card:{goes.pk}:in", **common),
                ]
            )
    cards = MembershipCard.objects.filter(customer_id=merged.pk).update(customer_id=kept.pk)
    between = Q(referrer_id=kept.pk, referred_id=merged.pk) | Q(referrer_id=merged.pk, referred_id=kept.pk)
    as_referrer = Referral.objects.filter(referrer_id=merged.pk).exclude(between).update(referrer_id=kept.pk)
    as_referred = 0
    if not Referral.objects.filter(referred_id=kept.pk).exists():
        as_referred = Referral.objects.filter(referred_id=merged.pk).exclude(between).update(referred_id=kept.pk)
    return {
        "loyalty.MembershipCard.customer": cards,
        "loyalty.Referral.referrer": as_referrer,
        "loyalty.Referral.referred": as_referred,
    }
