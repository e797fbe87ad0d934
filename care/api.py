"""The care API (v1): care touches and contacts.

- ``care-touches/``: the touches of the user's dealership, read only; a call's
  outcome is ``POST care-touches/<id>/outcome/``, recorded by the call panel's
  own service (``care.workspace.services.care_call_log``): it closes or
  reschedules every touch of the call, writes the ``Contact`` and, through
  ``care_tasks_transition``, one ``CareTaskEvent`` per touch it closes; a call
  with a win-back reason takes the win-back survey too (``winback_survey``).
- ``contacts/``: contacts with customers; ``POST`` logs one outside the queue
  (``care_contact_log``), as the customer page's "log a contact" does.
"""

import django_filters
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from care.registry import CareKind, kind_choices
from care.touches.models import CareTask, Channel
from care.winback.models import WinbackReason
from care.workspace.models import Contact, OutcomeCode
from care.workspace.selectors import care_task_get_for_user
from care.workspace.services import DETAIL_FIELDS, CallOutcome, care_call_group, care_call_log, care_contact_log
from care.workspace.surveys import winback_survey_record, winback_survey_wanted
from crm.api import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin, drf_validation_error
from customers.models import Customer
from service.models import InsurancePolicy


# --- Care touches ----------------------------------------------------------------------------
class CareTaskSerializer(serializers.ModelSerializer):
    class Meta:
        model = CareTask
        fields = [
            "id",
            "dealership",
            "customer",
            "vehicle",
            "rule",
            "kind",
            "channel",
            "occasion",
            "step",
            "event_date",
            "due_date",
            "planned_for",
            "expires_on",
            "status",
            "outcome",
            "attempts",
            "assigned_to",
            "priority",
            "subject",
            "repair_order",
            "appointment",
            "complaint",
            "created_on",
            "closed_at",
        ]
        read_only_fields = fields


class CareTaskFilter(django_filters.FilterSet):
    status = django_filters.MultipleChoiceFilter(choices=CareTask.Status.choices)
    kind = django_filters.MultipleChoiceFilter(choices=kind_choices)
    channel = django_filters.ChoiceFilter(choices=Channel.choices)
    due_date_after = django_filters.DateFilter(field_name="due_date", lookup_expr="gte")
    due_date_before = django_filters.DateFilter(field_name="due_date", lookup_expr="lte")

    class Meta:
        model = CareTask
        fields = ["status", "kind", "channel", "assigned_to", "customer", "vehicle"]


class WinbackSurveySerializer(serializers.Serializer):
    """The win-back survey asked on a call with a win-back reason (``WinbackSurveyForm``)."""

    reasons = serializers.ListField(child=serializers.ChoiceField(choices=WinbackReason.choices), required=False)
    repaired_elsewhere = serializers.BooleanField(required=False, allow_null=True, default=None)
    what = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    where = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    why_there = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    other = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class OutcomeSerializer(serializers.Serializer):
    """What the call panel's outcome form takes (``care.workspace.forms.OutcomeForm``)."""

    code = serializers.SlugRelatedField(slug_field="code", queryset=OutcomeCode.objects.filter(active=True))
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    appointment_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    follow_up_on = serializers.DateField(required=False, allow_null=True, default=None)
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True)
    where = serializers.CharField(max_length=100, required=False, allow_blank=True)
    why = serializers.CharField(max_length=200, required=False, allow_blank=True)
    insurer = serializers.CharField(max_length=60, required=False, allow_blank=True)
    policy_kind = serializers.ChoiceField(choices=InsurancePolicy.Kind.choices, required=False, allow_blank=True)
    premium = serializers.DecimalField(max_digits=10, decimal_places=2, min_value=0, required=False, allow_null=True)
    starts_on = serializers.DateField(required=False, allow_null=True)
    ends_on = serializers.DateField(required=False, allow_null=True)
    satisfaction = serializers.IntegerField(min_value=1, max_value=5, required=False, allow_null=True)
    nps = serializers.IntegerField(min_value=0, max_value=10, required=False, allow_null=True)
    comment = serializers.CharField(max_length=1000, required=False, allow_blank=True)
    winback_survey = WinbackSurveySerializer(required=False, allow_null=True)

    def create(self, validated_data: dict) -> Contact:
        """Log the call on the touch given in the context, through the panel's service."""
        details = {key: validated_data.get(key) for key in DETAIL_FIELDS}
        outcome = CallOutcome(
            code=validated_data["code"],
            notes=validated_data["notes"],
            details={key: "" if value is None else value for key, value in details.items()},
            appointment_at=validated_data["appointment_at"],
            follow_up_on=validated_data["follow_up_on"],
        )
        task = self.context["task"]
        # As the panel: the win-back survey is asked, and recorded, on a call with a win-back reason.
        survey = validated_data.get("winback_survey")
        has_winback = care_call_group(task).filter(kind=CareKind.WINBACK).exists()
        if survey is not None and not has_winback:
            raise serializers.ValidationError({"winback_survey": [_("This call has no win-back reason to survey.")]})
        with transaction.atomic():  # a refused survey leaves no contact and the touches open
            try:
                contact = care_call_log(task=task, outcome=outcome, by=self.context["request"].user)
            except DjangoValidationError as exc:
                raise drf_validation_error(exc) from exc
            if has_winback and winback_survey_wanted(code=outcome.code, data=survey or {}):
                try:
                    winback_survey_record(contact=contact, data=survey or {})
                except DjangoValidationError as exc:
                    raise serializers.ValidationError({"winback_survey": drf_validation_error(exc).detail}) from exc
        return contact


class ContactSerializer(serializers.ModelSerializer):
    outcome = serializers.SlugRelatedField(slug_field="code", read_only=True)
    tasks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Contact
        fields = [
            "id",
            "dealership",
            "customer",
            "advisor",
            "channel",
            "outcome",
            "reached",
            "notes",
            "details",
            "tasks",
            "appointment",
            "follow_up_on",
            "created_at",
        ]
        read_only_fields = fields


class CareTaskViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Care touches of the user's dealership. ``POST <id>/outcome/`` logs a call
    as the call panel does: an advisor logs only the calls assigned to them (a
    colleague's call is a 404, as on the page); a bad outcome is a 400 with the
    reason per field, a call logged already a 400 too."""

    queryset = CareTask.objects.all()
    serializer_class = CareTaskSerializer
    filterset_class = CareTaskFilter
    ordering_fields = ["due_date", "priority", "created_on", "closed_at", "pk"]
    ordering = ["due_date", "pk"]

    def get_serializer_class(self):
        if self.action == "outcome":
            return OutcomeSerializer
        return super().get_serializer_class()

    @extend_schema(request=OutcomeSerializer, responses={201: ContactSerializer})
    @action(detail=True, methods=["post"], url_path="outcome", url_name="outcome")
    def outcome(self, request, pk=None):
        task = care_task_get_for_user(user=request.user, pk=pk)
        serializer = OutcomeSerializer(data=request.data, context={**self.get_serializer_context(), "task": task})
        serializer.is_valid(raise_exception=True)
        contact = serializer.save()
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


# --- Contacts --------------------------------------------------------------------------------
class ContactCreateSerializer(serializers.Serializer):
    """A contact outside the queue: the customer called in, came by, wrote on WeChat."""

    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())
    channel = serializers.ChoiceField(choices=Contact.Channel.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    code = serializers.SlugRelatedField(
        slug_field="code", queryset=OutcomeCode.objects.filter(active=True), required=False, allow_null=True
    )

    def create(self, validated_data: dict) -> Contact:
        try:
            return care_contact_log(
                customer=validated_data["customer"],
                by=self.context["request"].user,
                channel=validated_data["channel"],
                notes=validated_data["notes"],
                code=validated_data.get("code"),
            )
        except DjangoValidationError as exc:
            raise drf_validation_error(exc) from exc


class ContactFilter(django_filters.FilterSet):
    created_at_after = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_at_before = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    channel = django_filters.ChoiceFilter(choices=Contact.Channel.choices)
    outcome = django_filters.CharFilter(field_name="outcome__code")

    class Meta:
        model = Contact
        fields = ["customer", "advisor", "channel", "reached", "outcome"]


class ContactViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Contacts with customers, newest first. ``POST`` logs one outside the
    queue (``care_contact_log``): notes or an outcome code are needed."""

    queryset = Contact.objects.select_related("outcome").prefetch_related("tasks")
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    ordering_fields = ["created_at", "pk"]
    ordering = ["-created_at", "-pk"]

    def get_serializer_class(self):
        if self.action == "create":
            return ContactCreateSerializer
        return super().get_serializer_class()

    @extend_schema(request=ContactCreateSerializer, responses={201: ContactSerializer})
    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = serializer.save()
        return Response(ContactSerializer(contact).data, status=status.HTTP_201_CREATED)


router = routers.SimpleRouter()
router.register("care-touches", CareTaskViewSet, basename="care-touch")
router.register("contacts", ContactViewSet, basename="contact")
urlpatterns = router.urls
