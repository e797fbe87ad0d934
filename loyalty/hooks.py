"""What loyalty lends the lower apps through their hooks (registered in
LoyaltyConfig.ready): the labour discount a repair order shows
(``service.hooks``)."""

from django.db.models import Case, DateTimeField, ExpressionWrapper, IntegerField, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce, TruncDate

from loyalty.models import Level, LoyaltyPolicy, MembershipCard

_DISCOUNT_FIELDS = {
    Level.ORDINARY: "ordinary_labour_discount",
    Level.SILVER: "silver_labour_discount",
    Level.GOLD: "gold_labour_discount",
}


def _policy_value(field: str):
    """The card's store's own policy's ``field``, else the group's (as
    ``loyalty.services.policy_for``), else the field's default; on card rows."""
    own = LoyaltyPolicy.objects.filter(dealership_id=OuterRef("dealership_id")).values(field)[:1]
    group = LoyaltyPolicy.objects.filter(dealership__isnull=True).values(field)[:1]
    default = LoyaltyPolicy._meta.get_field(field).default
    return Coalesce(Subquery(own), Subquery(group), Value(default), output_field=IntegerField())


def labour_discount_percent():
    """On repair order rows: the labour discount (%) of the club card the
    order's customer held at the order's store on the (local) day it was
    opened: the level's percent under the store's policy; NULL without a
    card. A refunded card was void and counts for nothing; on an upgrade day
    the new card wins. One correlated subquery: a list of orders gets its
    discounts in its own query."""
    # Typed, so that the date of the outer row's time can be taken in the subquery.
    day = TruncDate(ExpressionWrapper(OuterRef("opened_at"), output_field=DateTimeField()))
    cards = (
        MembershipCard.objects.filter(
            customer_id=OuterRef("customer_id"),
            dealership_id=OuterRef("dealership_id"),
            valid_from__lte=day,
            valid_until__gte=day,
        )
        .exclude(status=MembershipCard.Status.REFUNDED)
        .order_by("-valid_from", "-pk")
    )
    percent = Case(
        *[When(level=level, then=_policy_value(field)) for level, field in _DISCOUNT_FIELDS.items()],
        output_field=IntegerField(),
    )
    return Subquery(cards.annotate(percent=percent).values("percent")[:1], output_field=IntegerField())


def register_hooks() -> None:
    from service.hooks import labour_discount_provider_set

    labour_discount_provider_set(labour_discount_percent)
