"""What the club's kinds share (``membership_welcome``, ``membership_renewal``,
``referral_thanks``, ``club_event_invite``): a touch names its card by the
card's number in ``subject`` (unique per store), and the placeholders a card
gives a message, read for a whole list of touches at once.

Care sits above loyalty: it reads the club's tables, the club never calls care
(it announces, ``loyalty.signals``; care's receivers answer)."""

import dataclasses
import datetime

from django.db.models import Case, CharField, IntegerField, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.functions import Coalesce, Concat, Left
from django.utils.translation import gettext as _
from django.utils.translation import pgettext

from customers.models import Customer
from loyalty.models import Benefit, BenefitAllowance, Level, LoyaltyPolicy, MembershipCard, PointsEntry

# Two-character surnames, so that 欧阳娜娜 is 欧阳, not 欧 (the common ones).
COMPOUND_SURNAMES = (
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
    "司徒",
    "夏侯",
    "长孙",
    "宇文",
    "西门",
    "南宫",
    "独孤",
    "端木",
    "申屠",
    "轩辕",
)


# --- SQL on card rows ----------------------------------------------------------------------
def card_policy_value(field: str):
    """On card rows: ``field`` of the card's store's own club policy, else the
    group's (as ``loyalty.services.policy_for``), else the field's default."""
    own = LoyaltyPolicy.objects.filter(dealership_id=OuterRef("dealership_id")).values(field)[:1]
    group = LoyaltyPolicy.objects.filter(dealership__isnull=True).values(field)[:1]
    default = LoyaltyPolicy._meta.get_field(field).default
    return Coalesce(Subquery(own), Subquery(group), Value(default), output_field=IntegerField())


def card_points():
    """On card rows: the card's points, the sum of its ledger."""
    total = (
        PointsEntry.objects.filter(card_id=OuterRef("pk"))
        .order_by()
        .values("card_id")
        .annotate(s=Sum("points"))
        .values("s")[:1]
    )
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def surname_and_title(path: str):
    """SQL for a customer's surname and title (``陈先生``), from the customer at
    ``path`` (e.g. ``"referred"``): how a message names someone else without
    giving their full name. The title is in the language of the run (the CRM's
    own, zh-hans), as ``Customer.title``."""
    name = f"{path}__name"
    surname = Case(
        *[When(**{f"{name}__startswith": s}, then=Left(name, len(s))) for s in COMPOUND_SURNAMES],
        default=Left(name, 1),
        output_field=CharField(),
    )
    title = Case(
        When(**{f"{path}__gender": Customer.Gender.FEMALE}, then=Value(str(_("Ms.")))),
        When(**{f"{path}__gender": Customer.Gender.MALE}, then=Value(str(_("Mr.")))),
        default=Value(""),
        output_field=CharField(),
    )
    return Concat(surname, title, output_field=CharField())


# --- The placeholders a card gives -----------------------------------------------------------
def _benefit_phrase(benefit: str, allowance: int | None) -> str:
    label = str(Benefit(benefit).label)
    if allowance is None:
        return label
    return _("%(benefit)s ×%(count)d") % {"benefit": label, "count": allowance}


def benefits_texts(cards: list[MembershipCard]) -> dict[int, str]:
    """{card id: what the card gives, in words}: the labour discount, then each
    benefit of the level under the store's policy (two queries for any number
    of cards). E.g. ``工时费优惠10%、免费洗车 ×20、四轮定位 ×1…``."""
    if not cards:
        return {}
    policies = list(
        LoyaltyPolicy.objects.filter(Q(dealership_id__in={c.dealership_id for c in cards}) | Q(dealership=None))
    )
    group = next((p for p in policies if p.dealership_id is None), None) or LoyaltyPolicy()
    own = {p.dealership_id: p for p in policies if p.dealership_id is not None}
    order = {value: n for n, value in enumerate(Benefit.values)}
    allowances: dict[tuple[int | None, str], list[tuple[str, int | None]]] = {}
    for row in BenefitAllowance.objects.filter(policy__in=[p.pk for p in policies if p.pk]).values_list(
        "policy_id", "level", "benefit", "allowance"
    ):
        allowances.setdefault((row[0], row[1]), []).append((row[2], row[3]))
    separator = pgettext("list separator", ", ")
    texts = {}
    for card in cards:
        policy = own.get(card.dealership_id, group)
        phrases = []
        percent = policy.labour_discount(card.level)
        if percent:
            phrases.append(_("labour %(percent)d%% off") % {"percent": percent})
        for benefit, allowance in sorted(allowances.get((policy.pk, card.level), []), key=lambda b: order[b[0]]):
            if allowance != 0:
                phrases.append(_benefit_phrase(benefit, allowance))
        texts[card.pk] = separator.join(phrases)
    return texts


def card_placeholders(card: MembershipCard, benefits: str = "") -> dict:
    return {
        "card_level": str(Level(card.level).label),
        "card_number": card.number,
        "valid_until": card.valid_until.isoformat(),
        "benefits": benefits,
    }


def touches_cards(touches: list) -> dict[int, MembershipCard]:
    """{touch id: the card it names} (by store and number, in ``subject``): one query."""
    numbers = {t.subject for t in touches if t.subject}
    if not numbers:
        return {}
    cards = {
        (c.dealership_id, c.number): c
        for c in MembershipCard.objects.filter(
            dealership_id__in={t.dealership_id for t in touches}, number__in=numbers
        ).only("pk", "dealership_id", "number", "level", "valid_until")
    }
    found = {}
    for touch in touches:
        card = cards.get((touch.dealership_id, touch.subject))
        if card is not None:
            found[touch.pk] = card
    return found


def card_context(touches: list) -> dict[int, dict]:
    """The card's level, number and expiry for touches naming a card (one query)."""
    return {pk: card_placeholders(card) for pk, card in touches_cards(touches).items()}


def card_context_with_benefits(touches: list) -> dict[int, dict]:
    """As ``card_context``, with the card's benefits in words (three queries)."""
    cards = touches_cards(touches)
    texts = benefits_texts(list({c.pk: c for c in cards.values()}.values()))
    return {pk: card_placeholders(card, texts.get(card.pk, "")) for pk, card in cards.items()}


# --- The card in the call panel --------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class CardSummary:
    """A customer's active card as the call panel shows it."""

    card: MembershipCard
    points: int
    renewal_opens: datetime.date
    renewable: bool

    @property
    def placeholders(self) -> dict:
        return card_placeholders(self.card)


def customer_card_summary(*, customer: Customer, day: datetime.date) -> CardSummary | None:
    """The customer's active card at their store, with its points and whether
    it can be renewed today (inside the policy's window before expiry): one query."""
    card = (
        MembershipCard.objects.filter(
            customer_id=customer.pk, dealership_id=customer.dealership_id, status=MembershipCard.Status.ACTIVE
        )
        .annotate(c_points=card_points(), c_window=card_policy_value("renewal_window_days"))
        .order_by("-valid_from", "-pk")
        .first()
    )
    if card is None:
        return None
    opens = card.valid_until - datetime.timedelta(days=card.c_window)
    return CardSummary(card=card, points=card.c_points, renewal_opens=opens, renewable=opens <= day <= card.valid_until)
