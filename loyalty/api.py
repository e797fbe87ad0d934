"""The loyalty API (v1).

- ``membership-cards/``: the cards of the user's dealership with their points
  balance (the sum of the ledger, read in the cards' own query). ``POST``
  joins a customer to the club (``card_join``: by the fee, by referral or in a
  campaign, as the desk does; gold is earned, never sold);
  ``POST membership-cards/<id>/renew/`` renews a card in its window
  (``card_renew``).
- ``points-entries/``: the ledger (``?card=<id>`` for one card's), read only
  (points are earned by the night's job and adjusted in admin).
- ``referrals/``: who brought whom; ``POST`` records one (``referral_add``).
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import IntegerField, OuterRef, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, drf_validation_error
from customers.models import Customer
from loyalty.desk_forms import JOIN_ROUTES
from loyalty.events_services import referral_add
from loyalty.models import Level, MembershipCard, PointsEntry, Referral
from loyalty.services import card_join, card_renew


def with_balance(cards):
    """Each card's points balance, as a subquery of the cards' own query."""
    total = (
        PointsEntry.objects.filter(card=OuterRef("pk"))
        .order_by()
        .values("card")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return cards.annotate(balance=Coalesce(Subquery(total, output_field=IntegerField()), Value(0)))


# --- Cards -----------------------------------------------------------------------------------
class MembershipCardSerializer(serializers.ModelSerializer):
    balance = serializers.IntegerField(read_only=True)

    class Meta:
        model = MembershipCard
        fields = [
            "id",
            "dealership",
            "customer",
            "number",
            "level",
            "status",
            "obtained",
            "valid_from",
            "valid_until",
            "fee_paid",
            "previous",
            "created_at",
            "balance",
        ]
        read_only_fields = fields


class CardJoinSerializer(serializers.Serializer):
    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())
    level = serializers.ChoiceField(choices=Level.choices)
    obtained = serializers.ChoiceField(choices=JOIN_ROUTES)

    def create(self, validated_data: dict) -> MembershipCard:
        try:
            return card_join(
                customer=validated_data["customer"],
                level=validated_data["level"],
                route=validated_data["obtained"],
                by=self.context["request"].user,
                day=timezone.localdate(),
            )
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc


class CardRenewSerializer(serializers.Serializer):
    """Renewal takes nothing: the card runs its level's years more from its expiry."""

    def create(self, validated_data: dict) -> MembershipCard:
        try:
            return card_renew(card=self.context["card"], by=self.context["request"].user, day=timezone.localdate())
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc


class CardFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=MembershipCard.Status.choices)
    level = django_filters.MultipleChoiceFilter(choices=Level.choices)
    valid_until_after = django_filters.DateFilter(field_name="valid_until", lookup_expr="gte")
    valid_until_before = django_filters.DateFilter(field_name="valid_until", lookup_expr="lte")

    class Meta:
        model = MembershipCard
        fields = ["customer", "status", "level", "obtained", "number"]


class PointsEntrySerializer(serializers.ModelSerializer):
    class Meta:
        model = PointsEntry
        fields = [
            "id",
            "card",
            "points",
            "kind",
            "source",
            "repair_order",
            "insurance_policy",
            "registration",
            "referral",
            "reason",
            "by",
            "earned_on",
            "created_at",
        ]
        read_only_fields = fields


class MembershipCardViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Club cards of the user's dealership; a bad join or a renewal outside its
    window is a 400 with the reason."""

    queryset = MembershipCard.objects.all()
    serializer_class = MembershipCardSerializer
    filterset_class = CardFilter
    ordering_fields = ["valid_from", "valid_until", "created_at", "pk"]
    ordering = ["-valid_from", "-pk"]

    def get_queryset(self):
        return with_balance(super().get_queryset())

    def get_serializer_class(self):
        if self.action == "create":
            return CardJoinSerializer
        if self.action == "renew":
            return CardRenewSerializer
        return super().get_serializer_class()

    def _card(self, card: MembershipCard) -> dict:
        return MembershipCardSerializer(with_balance(MembershipCard.objects.filter(pk=card.pk)).get()).data

    @extend_schema(request=CardJoinSerializer, responses={201: MembershipCardSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        card = serializer.save()
        return Response(self._card(card), status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=MembershipCardSerializer)
    @action(detail=True, methods=["post"], url_path="renew", url_name="renew", filter_backends=[])
    def renew(self, request, pk=None):
        card = self.get_object()
        serializer = self.get_serializer(data=request.data, context={**self.get_serializer_context(), "card": card})
        serializer.is_valid(raise_exception=True)
        return Response(self._card(serializer.save()))


# --- The points ledger -----------------------------------------------------------------------
class PointsEntryFilter(django_filters.FilterSet):
    kind = django_filters.MultipleChoiceFilter(choices=PointsEntry.Kind.choices)
    earned_on_after = django_filters.DateFilter(field_name="earned_on", lookup_expr="gte")
    earned_on_before = django_filters.DateFilter(field_name="earned_on", lookup_expr="lte")
    customer = django_filters.NumberFilter(field_name="card__customer")

    class Meta:
        model = PointsEntry
        fields = ["card", "customer", "kind", "repair_order"]


class PointsEntryViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Points entries of the user's dealership's cards, oldest first (a card's
    balance is the sum of its entries; ``membership-cards/`` shows it)."""

    queryset = PointsEntry.objects.all()
    serializer_class = PointsEntrySerializer
    filterset_class = PointsEntryFilter
    ordering_fields = ["created_at", "earned_on", "points", "pk"]
    ordering = ["created_at", "pk"]


# --- Referrals -------------------------------------------------------------------------------
class ReferralSerializer(serializers.ModelSerializer):
    class Meta:
        model = Referral
        fields = [
            "id",
            "dealership",
            "referrer",
            "referred",
            "status",
            "reward_service",
            "created_at",
            "confirmed_at",
            "rewarded_at",
            "created_by",
        ]
        read_only_fields = fields


class ReferralCreateSerializer(serializers.Serializer):
    referrer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())
    referred = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())

    def create(self, validated_data: dict) -> Referral:
        try:
            return referral_add(**validated_data, by=self.context["request"].user)
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc


class ReferralFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Referral.Status.choices)
    created_at_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_at_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")

    class Meta:
        model = Referral
        fields = ["status", "referrer", "referred"]


class ReferralViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Referrals of the user's dealership, newest first; ``POST`` records one
    (same store, never oneself, never twice: else a 400 with the reason)."""

    queryset = Referral.objects.all()
    serializer_class = ReferralSerializer
    filterset_class = ReferralFilter
    ordering_fields = ["created_at", "confirmed_at", "pk"]
    ordering = ["-created_at", "-pk"]

    def get_serializer_class(self):
        if self.action == "create":
            return ReferralCreateSerializer
        return super().get_serializer_class()

    @extend_schema(request=ReferralCreateSerializer, responses={201: ReferralSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        referral = serializer.save()
        return Response(ReferralSerializer(referral).data, status=status.HTTP_201_CREATED)


router = routers.SimpleRouter()
router.register("membership-cards", MembershipCardViewSet, basename="membership-card")
router.register("points-entries", PointsEntryViewSet, basename="points-entry")
router.register("referrals", ReferralViewSet, basename="referral")
urlpatterns = router.urls
