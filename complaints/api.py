"""The complaints API (v1).

- ``complaints/``: the cases the user may open (``complaints_for_user``: the
  store's, and for an advisor their own customers' and the ones they handle);
  ``POST`` opens one through ``complaint_open``.
- ``POST complaints/<id>/transition/``: one route for every step of the loop,
  ``{"to": "<status>", "note": "...", <the step's fields>}``, through
  ``complaint_transition`` (the one writer of ``Complaint.status``). A step
  given a field it does not record is a 400, as is a skipped step.
- ``GET complaints/<id>/events/``: the case's events, read only.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent
from complaints.selectors import complaints_for_user
from complaints.services import STEP_DATA, complaint_open, complaint_transition
from crm.api import ScopedPrimaryKeyRelatedField, drf_validation_error
from crm.models import User
from customers.models import Customer
from service.models import RepairOrder
from vehicles.models import Vehicle

Status = Complaint.Status


class ComplaintSerializer(serializers.ModelSerializer):
    category = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Complaint
        fields = [
            "id",
            "dealership",
            "number",
            "customer",
            "vehicle",
            "repair_order",
            "channel",
            "carmaker_reference",
            "category",
            "severity",
            "status",
            "description",
            "demand",
            "received_by",
            "received_at",
            "handler",
            "staff_involved",
            "findings",
            "cause",
            "remedy",
            "goodwill_cost",
            "customer_agreed",
            "customer_answer",
            "action_taken",
            "follow_up",
            "acknowledge_due",
            "acknowledged_at",
            "first_contact_due",
            "first_contacted_at",
            "resolution_due",
            "sla_state",
            "paused_at",
            "waiting_on",
            "parent",
            "closed_at",
            "reopen_count",
        ]
        read_only_fields = fields


class ComplaintEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = ComplaintEvent
        fields = ["id", "complaint", "action", "from_status", "to_status", "by", "note", "data", "at"]
        read_only_fields = fields


class ComplaintOpenSerializer(serializers.Serializer):
    """A complaint received by phone, in person or from the carmaker (``complaint_open``)."""

    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())
    channel = serializers.ChoiceField(choices=Complaint.Channel.choices)
    category = serializers.SlugRelatedField(slug_field="code", queryset=ComplaintCategory.objects.filter(active=True))
    severity = serializers.ChoiceField(choices=Complaint.Severity.choices, default=Complaint.Severity.NORMAL)
    description = serializers.CharField()
    demand = serializers.CharField(required=False, allow_blank=True, default="")
    vehicle = ScopedPrimaryKeyRelatedField(queryset=Vehicle.objects.all(), required=False, allow_null=True)
    repair_order = ScopedPrimaryKeyRelatedField(queryset=RepairOrder.objects.all(), required=False, allow_null=True)
    received_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    handler = ScopedPrimaryKeyRelatedField(queryset=User.objects.people(), required=False, allow_null=True)
    staff_involved = ScopedPrimaryKeyRelatedField(queryset=User.objects.people(), required=False, allow_null=True)
    carmaker_reference = serializers.CharField(max_length=60, required=False, allow_blank=True, default="")

    def validate(self, attrs: dict) -> dict:
        store = attrs["customer"].dealership_id
        for name in ("handler", "staff_involved"):
            user = attrs.get(name)
            if user is not None and user.dealership_id not in (None, store):
                raise serializers.ValidationError({name: _("Choose a colleague of the customer's dealership.")})
        return attrs

    def create(self, validated_data: dict) -> Complaint:
        try:
            return complaint_open(**validated_data, by=self.context["request"].user)
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc


class ComplaintStepSerializer(serializers.Serializer):
    """One step of the loop: the status it moves to, a note, and what the step records
    (``complaints.services.STEP_DATA``; ``lesson`` when a major case closes)."""

    to = serializers.ChoiceField(choices=[(v, label) for v, label in Status.choices if v != Status.RECEIVED])
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=2000)
    findings = serializers.CharField(required=False, allow_blank=True)
    cause = serializers.CharField(required=False, allow_blank=True)
    remedy = serializers.CharField(required=False, allow_blank=True)
    goodwill_cost = serializers.DecimalField(
        max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True
    )
    customer_agreed = serializers.BooleanField(required=False, allow_null=True)
    customer_answer = serializers.CharField(required=False, allow_blank=True)
    action_taken = serializers.CharField(required=False, allow_blank=True)
    follow_up = serializers.CharField(required=False, allow_blank=True)
    lesson = serializers.CharField(required=False, allow_blank=True)

    STEP_FIELDS = ("findings", "cause", "remedy", "goodwill_cost", "customer_agreed", "customer_answer")
    STEP_FIELDS += ("action_taken", "follow_up", "lesson")

    def validate(self, attrs: dict) -> dict:
        to = attrs["to"]
        records = set(STEP_DATA.get(to, {})) | ({"lesson"} if to == Status.CLOSED else set())
        # Only what the client sent: a form post fills absent fields with empty values.
        for name in self.STEP_FIELDS:
            if name in attrs and name not in self.initial_data:
                del attrs[name]
        given = [name for name in self.STEP_FIELDS if name in attrs]
        wrong = {name: [_("This step does not record this.")] for name in given if name not in records}
        if wrong:
            raise serializers.ValidationError(wrong)
        return attrs

    def create(self, validated_data: dict) -> Complaint:
        data = dict(validated_data)
        to, note = data.pop("to"), data.pop("note")
        try:
            return complaint_transition(
                complaint=self.context["complaint"], to=to, by=self.context["request"].user, note=note, **data
            )
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc


class ComplaintFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=Status.choices)
    severity = django_filters.MultipleChoiceFilter(choices=Complaint.Severity.choices)
    channel = django_filters.ChoiceFilter(choices=Complaint.Channel.choices)
    sla_state = django_filters.ChoiceFilter(choices=Complaint.SlaState.choices)
    category = django_filters.CharFilter(field_name="category__code")
    received_at_after = django_filters.DateFilter(field_name="received_at", lookup_expr="date__gte")
    received_at_before = django_filters.DateFilter(field_name="received_at", lookup_expr="date__lte")

    class Meta:
        model = Complaint
        fields = ["status", "severity", "channel", "sla_state", "category", "handler", "customer"]


class ComplaintViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Complaint cases, newest first. Another store's case, or for an advisor a
    case of a colleague's customer they do not handle, is a 404 (as on the pages)."""

    queryset = Complaint.objects.select_related("category")
    serializer_class = ComplaintSerializer
    filterset_class = ComplaintFilter
    ordering_fields = ["received_at", "resolution_due", "severity", "pk"]
    ordering = ["-received_at", "-pk"]

    def get_queryset(self):
        return complaints_for_user(user=self.request.user).select_related("category")

    def get_serializer_class(self):
        if self.action == "create":
            return ComplaintOpenSerializer
        if self.action == "transition":
            return ComplaintStepSerializer
        if self.action == "events":
            return ComplaintEventSerializer
        return super().get_serializer_class()

    @extend_schema(request=ComplaintOpenSerializer, responses={201: ComplaintSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        case = serializer.save()
        return Response(ComplaintSerializer(case).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=ComplaintStepSerializer, responses=ComplaintSerializer)
    @action(detail=True, methods=["post"], url_path="transition", url_name="transition", filter_backends=[])
    def transition(self, request, pk=None):
        case = self.get_object()
        serializer = self.get_serializer(
            data=request.data, context={**self.get_serializer_context(), "complaint": case}
        )
        serializer.is_valid(raise_exception=True)
        case = serializer.save()
        case = Complaint.objects.select_related("category").get(pk=case.pk)
        return Response(ComplaintSerializer(case).data)

    @extend_schema(responses=ComplaintEventSerializer(many=True))
    @action(
        detail=True, methods=["get"], url_path="events", url_name="events", pagination_class=None, filter_backends=[]
    )
    def events(self, request, pk=None):
        case = self.get_object()
        events = ComplaintEvent.objects.filter(complaint=case).order_by("at", "pk")
        return Response(ComplaintEventSerializer(events, many=True).data)


router = routers.SimpleRouter()
router.register("complaints", ComplaintViewSet, basename="complaint")
urlpatterns = router.urls
