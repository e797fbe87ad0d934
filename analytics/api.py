"""The analytics API (v1): for managers and admins, as the pages are
(an advisor gets a 403).

- ``surveys/``: the invitations sent (SMS links, calls), read only.
- ``survey-responses/``: the answers, read only; ``?detractors=true`` keeps
  NPS ≤ 6 or CSAT ≤ 2 (``analytics.surveys.selectors.detractor_q``).
- ``campaigns/``: campaigns measured against a holdout; ``POST`` creates one
  (``analytics.campaigns.campaign_create``; the ``list`` kind takes its
  customers as ``audience.customer_ids``), ``POST campaigns/<id>/draw/`` draws
  its customers (``campaign_draw``), ``GET campaigns/<id>/results/`` reads the
  results so far (``campaign_results``).
"""

import decimal

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, permissions, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from analytics.campaigns import campaign_create, campaign_draw
from analytics.campaigns_results import campaign_results
from analytics.models import Campaign, Survey, SurveyResponse
from analytics.surveys.selectors import detractor_q
from crm.api import DealershipFromUserMixin, ScopedQuerysetMixin, drf_validation_error


class IsManager(permissions.BasePermission):
    """Managers and admins (and superusers), like ``analytics.views._can_see``."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and (getattr(user, "role", None) in (user.Role.MANAGER, user.Role.ADMIN) or user.is_superuser)
        )


class ManagersOnly:
    """Adds ``IsManager`` to the default permissions (authentication, a read-only
    token's refusal of writes, the Idempotency-Key), never in their place."""

    def get_permissions(self):
        return [*super().get_permissions(), IsManager()]


# --- Surveys ---------------------------------------------------------------------------------
class SurveySerializer(serializers.ModelSerializer):
    class Meta:
        model = Survey
        fields = [
            "id",
            "dealership",
            "customer",
            "repair_order",
            "kind",
            "channel",
            "sent_at",
            "expires_at",
            "opened_at",
            "answered_at",
        ]
        read_only_fields = fields


class SurveyFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Survey.Kind.choices)
    channel = django_filters.ChoiceFilter(choices=Survey.Channel.choices)
    sent_at_after = django_filters.DateFilter(field_name="sent_at", lookup_expr="date__gte")
    sent_at_before = django_filters.DateFilter(field_name="sent_at", lookup_expr="date__lte")
    answered = django_filters.BooleanFilter(field_name="answered_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Survey
        fields = ["kind", "channel", "answered", "customer", "repair_order", "dealership"]


class SurveyViewSet(ManagersOnly, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Survey invitations of the user's dealership, newest first."""

    queryset = Survey.objects.all()
    serializer_class = SurveySerializer
    filterset_class = SurveyFilter
    ordering_fields = ["sent_at", "answered_at", "pk"]
    ordering = ["-sent_at", "-pk"]


class SurveyResponseSerializer(serializers.ModelSerializer):
    is_detractor = serializers.BooleanField(read_only=True)

    class Meta:
        model = SurveyResponse
        fields = [
            "id",
            "survey",
            "dealership",
            "customer",
            "repair_order",
            "advisor",
            "asked_by",
            "kind",
            "channel",
            "csat",
            "nps",
            "comment",
            "answered_at",
            "is_detractor",
            "complaint",
        ]
        read_only_fields = fields


class SurveyResponseFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Survey.Kind.choices)
    channel = django_filters.ChoiceFilter(choices=Survey.Channel.choices)
    answered_at_after = django_filters.DateFilter(field_name="answered_at", lookup_expr="date__gte")
    answered_at_before = django_filters.DateFilter(field_name="answered_at", lookup_expr="date__lte")
    detractors = django_filters.BooleanFilter(method="filter_detractors")

    class Meta:
        model = SurveyResponse
        fields = ["kind", "channel", "detractors", "customer", "advisor", "dealership"]

    def filter_detractors(self, queryset, name, value):
        if value is None:
            return queryset
        return queryset.filter(detractor_q()) if value else queryset.exclude(detractor_q())


class SurveyResponseViewSet(ManagersOnly, ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Answers of the user's dealership, newest first. ``answered_at_after`` /
    ``answered_at_before`` are local dates, both included."""

    queryset = SurveyResponse.objects.all()
    serializer_class = SurveyResponseSerializer
    filterset_class = SurveyResponseFilter
    ordering_fields = ["answered_at", "csat", "nps", "pk"]
    ordering = ["-answered_at", "-pk"]


# --- Campaigns -------------------------------------------------------------------------------
class CampaignSerializer(serializers.ModelSerializer):
    class Meta:
        model = Campaign
        fields = [
            "id",
            "dealership",
            "name",
            "kind",
            "starts_on",
            "ends_on",
            "cost",
            "holdout_share",
            "audience",
            "rule",
            "drawn_at",
            "created_by",
            "created_at",
        ]
        read_only_fields = fields


class CampaignCreateSerializer(DealershipFromUserMixin, serializers.Serializer):
    """What ``campaign_create`` takes; it checks the audience and the figures by field."""

    name = serializers.CharField(max_length=100)
    kind = serializers.ChoiceField(choices=Campaign.Kind.choices)
    starts_on = serializers.DateField()
    ends_on = serializers.DateField()
    cost = serializers.DecimalField(max_digits=12, decimal_places=2, min_value=0, default=0)
    holdout_share = serializers.DecimalField(
        max_digits=3, decimal_places=2, min_value=0, max_value=decimal.Decimal("0.5"), default=decimal.Decimal("0.10")
    )
    audience = serializers.JSONField(required=False, default=dict)

    def validate(self, attrs: dict) -> dict:
        self.validate_dealership_choice(attrs)
        return attrs

    def create(self, validated_data: dict) -> Campaign:
        try:
            return campaign_create(**validated_data, by=self.context["request"].user)
        except DjangoValidationError as exc:
            # The page's "upload" is the API's audience.customer_ids.
            if hasattr(exc, "error_dict") and "upload" in exc.error_dict:
                exc.error_dict["audience"] = exc.error_dict.pop("upload")
            raise drf_validation_error(exc) from exc


class CampaignDrawSerializer(serializers.Serializer):
    """Drawing takes nothing: the audience is the campaign's."""

    def create(self, validated_data: dict) -> Campaign:
        campaign = self.context["campaign"]
        try:
            campaign_draw(campaign=campaign)
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc
        return Campaign.objects.get(pk=campaign.pk)


class GroupSerializer(serializers.Serializer):
    members = serializers.IntegerField()
    returned = serializers.IntegerField()
    revenue = serializers.DecimalField(max_digits=16, decimal_places=2)
    touched = serializers.IntegerField()
    rate_percent = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    revenue_per_member_yuan = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)


class CampaignResultsSerializer(serializers.Serializer):
    """The campaign page's figures: the two groups, lift (percentage points),
    incremental revenue, ROI (%), the 95 % interval and the verdict."""

    campaign = serializers.IntegerField(source="campaign.pk")
    treated = GroupSerializer()
    holdout = GroupSerializer()
    lift_points = serializers.DecimalField(max_digits=6, decimal_places=1, allow_null=True)
    interval_points = serializers.ListField(
        child=serializers.DecimalField(max_digits=6, decimal_places=1), allow_null=True, min_length=2, max_length=2
    )
    incremental_revenue = serializers.DecimalField(max_digits=16, decimal_places=2, allow_null=True)
    roi_percent = serializers.DecimalField(max_digits=12, decimal_places=1, allow_null=True)
    verdict = serializers.CharField()
    verdict_text = serializers.CharField()
    significant = serializers.BooleanField()
    running = serializers.BooleanField()


class CampaignFilter(django_filters.FilterSet):
    kind = django_filters.ChoiceFilter(choices=Campaign.Kind.choices)
    starts_on_after = django_filters.DateFilter(field_name="starts_on", lookup_expr="gte")
    starts_on_before = django_filters.DateFilter(field_name="starts_on", lookup_expr="lte")
    drawn = django_filters.BooleanFilter(field_name="drawn_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = Campaign
        fields = ["kind", "drawn", "dealership"]


class CampaignViewSet(
    ManagersOnly,
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Campaigns of the user's dealership, the latest first."""

    queryset = Campaign.objects.all()
    serializer_class = CampaignSerializer
    filterset_class = CampaignFilter
    ordering_fields = ["starts_on", "ends_on", "created_at", "pk"]
    ordering = ["-starts_on", "-pk"]

    def get_serializer_class(self):
        if self.action == "create":
            return CampaignCreateSerializer
        if self.action == "draw":
            return CampaignDrawSerializer
        if self.action == "results":
            return CampaignResultsSerializer
        return super().get_serializer_class()

    @extend_schema(request=CampaignCreateSerializer, responses={201: CampaignSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        campaign = serializer.save()
        return Response(CampaignSerializer(campaign).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=CampaignSerializer)
    @action(detail=True, methods=["post"], url_path="draw", url_name="draw", filter_backends=[])
    def draw(self, request, pk=None):
        campaign = self.get_object()
        serializer = self.get_serializer(
            data=request.data, context={**self.get_serializer_context(), "campaign": campaign}
        )
        serializer.is_valid(raise_exception=True)
        return Response(CampaignSerializer(serializer.save()).data)

    @extend_schema(responses=CampaignResultsSerializer)
    @action(detail=True, methods=["get"], url_path="results", url_name="results", filter_backends=[])
    def results(self, request, pk=None):
        campaign = self.get_object()
        results = campaign_results(campaign=campaign, today=timezone.localdate())
        return Response(CampaignResultsSerializer(results).data)


router = routers.SimpleRouter()
router.register("surveys", SurveyViewSet, basename="survey")
router.register("survey-responses", SurveyResponseViewSet, basename="survey-response")
router.register("campaigns", CampaignViewSet, basename="campaign")
urlpatterns = router.urls
