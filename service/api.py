import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, routers, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm.api import (
    ScopedPrimaryKeyRelatedField,
    ScopedQuerysetMixin,
    UpsertMixin,
    scoped_choices,
    service_errors_as_400,
)
from crm.models import Dealership, User
from customers.models import Customer
from service.hooks import repair_orders_with_labour_discount
from service.models import Appointment, InsurancePolicy, RepairLine, RepairOrder, Technician
from service.services import (
    appointment_book,
    appointment_transition,
    appointment_update,
    insurance_policy_record,
    repair_order_close,
    repair_order_create,
    repair_order_upsert,
)
from vehicles.models import Vehicle


class TechnicianSerializer(serializers.ModelSerializer):
    class Meta:
        model = Technician
        fields = ["id", "name", "code"]


class RepairLineSerializer(serializers.ModelSerializer):
    class Meta:
        model = RepairLine
        fields = ["id", "line_type", "description", "part_number", "quantity", "amount", "quoted_amount", "status"]


class RepairOrderSerializer(serializers.ModelSerializer):
    """An order as the DMS keeps it. Written with its lines; the amounts are
    summed from the done lines when the order closes (``closed_at`` given, or
    the ``close`` action), the store and customer come from the car."""

    vehicle = ScopedPrimaryKeyRelatedField(queryset=Vehicle.objects.select_related("customer"))
    advisor = ScopedPrimaryKeyRelatedField(queryset=User.objects.people(), required=False, allow_null=True)
    technician = TechnicianSerializer(read_only=True)
    technician_id = ScopedPrimaryKeyRelatedField(
        source="technician", queryset=Technician.objects.all(), required=False, allow_null=True, write_only=True
    )
    lines = RepairLineSerializer(many=True, required=False)
    # The customer's club discount on labour at the order's store (service.hooks), null without one.
    labour_discount_percent = serializers.IntegerField(read_only=True, allow_null=True)

    class Meta:
        model = RepairOrder
        fields = [
            "id",
            "dealership",
            "number",
            "vehicle",
            "customer",
            "advisor",
            "technician",
            "technician_id",
            "kind",
            "opened_at",
            "closed_at",
            "mileage",
            "payer",
            "work_done",
            "labor_amount",
            "parts_amount",
            "total_amount",
            "labour_discount_percent",
            "lines",
        ]
        read_only_fields = ["dealership", "customer", "labor_amount", "parts_amount", "total_amount"]

    def validate(self, attrs: dict) -> dict:
        vehicle = attrs.get("vehicle")
        store = vehicle.customer.dealership_id if vehicle is not None else None
        advisor = attrs.get("advisor")
        if advisor is not None and store is not None and advisor.dealership_id not in (None, store):
            raise serializers.ValidationError({"advisor": _("The advisor works at another dealership.")})
        return attrs

    def _fields(self, validated_data: dict) -> dict:
        fields = dict(validated_data)
        fields["lines"] = [dict(line) for line in fields.get("lines", [])]
        return fields

    def create(self, validated_data: dict) -> RepairOrder:
        with service_errors_as_400():
            return repair_order_create(**self._fields(validated_data), by=self.context["request"].user)

    def upsert(self, validated_data: dict) -> tuple[RepairOrder, bool]:
        fields = self._fields(validated_data)
        if "lines" not in validated_data:
            fields.pop("lines")
        with service_errors_as_400():
            return repair_order_upsert(
                dealership=fields["vehicle"].customer.dealership,
                number=fields.pop("number"),
                by=self.context["request"].user,
                **fields,
            )


class RepairOrderCloseSerializer(serializers.Serializer):
    closed_at = serializers.DateTimeField()


class RepairOrderFilter(django_filters.FilterSet):
    dealership = django_filters.ModelChoiceFilter(queryset=scoped_choices(Dealership))
    customer = django_filters.ModelChoiceFilter(queryset=scoped_choices(Customer))
    vehicle = django_filters.ModelChoiceFilter(queryset=scoped_choices(Vehicle))
    advisor = django_filters.ModelChoiceFilter(queryset=scoped_choices(User))
    technician = django_filters.ModelChoiceFilter(queryset=scoped_choices(Technician))
    kind = django_filters.MultipleChoiceFilter(choices=RepairOrder.Kind.choices)
    opened_at = django_filters.DateFromToRangeFilter()
    closed_at = django_filters.DateFromToRangeFilter()
    closed = django_filters.BooleanFilter(field_name="closed_at", lookup_expr="isnull", exclude=True)

    class Meta:
        model = RepairOrder
        fields = [
            "dealership",
            "customer",
            "vehicle",
            "advisor",
            "technician",
            "kind",
            "number",
            "payer",
            "opened_at",
            "closed_at",
            "closed",
        ]


class RepairOrderViewSet(
    ScopedQuerysetMixin,
    UpsertMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Repair orders, mostly sent by the dealer management system: create one
    with its lines, ``POST upsert/`` by the store's order number (201 created,
    200 updated: its lines replaced when given), ``POST <id>/close/`` to close
    it (its amounts summed from the done lines)."""

    queryset = RepairOrder.objects.select_related("technician").prefetch_related("lines")
    serializer_class = RepairOrderSerializer
    filterset_class = RepairOrderFilter
    ordering_fields = ["opened_at", "total_amount", "pk"]
    ordering = ["-opened_at", "-pk"]

    def get_queryset(self):
        # The discount is read in the orders' own query (one expression, no query per order).
        return repair_orders_with_labour_discount(super().get_queryset())

    def _fresh(self, order: RepairOrder) -> RepairOrder:
        """The order as the list reads it (lines, technician, discount)."""
        return self.get_queryset().get(pk=order.pk)

    def perform_create(self, serializer) -> None:
        serializer.instance = self._fresh(serializer.save())

    def upsert_output(self, instance: RepairOrder) -> RepairOrder:
        return self._fresh(instance)

    @extend_schema(request=RepairOrderCloseSerializer, responses=RepairOrderSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        order = self.get_object()
        data = RepairOrderCloseSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        with service_errors_as_400():
            repair_order_close(repair_order=order, closed_at=data.validated_data["closed_at"])
        return Response(self.get_serializer(self._fresh(order)).data)


class AppointmentSerializer(serializers.ModelSerializer):
    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())
    vehicle = ScopedPrimaryKeyRelatedField(queryset=Vehicle.objects.all(), required=False, allow_null=True)
    advisor = ScopedPrimaryKeyRelatedField(queryset=User.objects.people(), required=False, allow_null=True)

    class Meta:
        model = Appointment
        fields = ["id", "dealership", "customer", "vehicle", "advisor", "scheduled_at", "kind", "status", "notes"]
        # The status moves only through the actions (appointment_transition).
        read_only_fields = ["dealership", "status"]

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None and "customer" in attrs and attrs["customer"] != self.instance.customer:
            raise serializers.ValidationError({"customer": _("An appointment cannot move to another customer.")})
        return attrs

    def create(self, validated_data: dict) -> Appointment:
        with service_errors_as_400():
            return appointment_book(**validated_data, by=self.context["request"].user)

    def update(self, instance: Appointment, validated_data: dict) -> Appointment:
        changes = {k: v for k, v in validated_data.items() if k != "customer"}
        with service_errors_as_400():
            return appointment_update(appointment=instance, by=self.context["request"].user, **changes)


class AppointmentFilter(django_filters.FilterSet):
    dealership = django_filters.ModelChoiceFilter(queryset=scoped_choices(Dealership))
    customer = django_filters.ModelChoiceFilter(queryset=scoped_choices(Customer))
    vehicle = django_filters.ModelChoiceFilter(queryset=scoped_choices(Vehicle))
    advisor = django_filters.ModelChoiceFilter(queryset=scoped_choices(User))
    status = django_filters.MultipleChoiceFilter(choices=Appointment.Status.choices)
    scheduled_at = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Appointment
        fields = ["dealership", "customer", "vehicle", "advisor", "status", "kind", "scheduled_at"]


class AppointmentViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Appointments: booked through ``service.services.appointment_book``,
    moved while booked or confirmed, and ``POST <id>/confirm/`` or
    ``<id>/cancel/`` (``appointment_transition``: a move its map does not
    allow is a 400 with the reason)."""

    queryset = Appointment.objects.all()
    serializer_class = AppointmentSerializer
    filterset_class = AppointmentFilter
    ordering_fields = ["scheduled_at", "pk"]
    ordering = ["scheduled_at", "pk"]

    def _move(self, to: str) -> Response:
        appointment = self.get_object()
        with service_errors_as_400():
            appointment_transition(appointment=appointment, to=to, by=self.request.user)
        return Response(self.get_serializer(appointment).data)

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def cancel(self, request, pk=None):
        return self._move(Appointment.Status.CANCELLED)

    @extend_schema(request=None, responses=AppointmentSerializer)
    @action(detail=True, methods=["post"])
    def confirm(self, request, pk=None):
        return self._move(Appointment.Status.CONFIRMED)


class InsurancePolicySerializer(serializers.ModelSerializer):
    vehicle = ScopedPrimaryKeyRelatedField(queryset=Vehicle.objects.select_related("customer"))

    class Meta:
        model = InsurancePolicy
        fields = [
            "id",
            "dealership",
            "vehicle",
            "customer",
            "insurer",
            "kind",
            "premium",
            "starts_on",
            "ends_on",
            "source",
            "sold_by",
            "created_at",
        ]
        read_only_fields = ["dealership", "customer", "source", "sold_by", "created_at"]

    def create(self, validated_data: dict) -> InsurancePolicy:
        with service_errors_as_400():
            return insurance_policy_record(
                **validated_data, by=self.context["request"].user, source=InsurancePolicy.Source.API
            )


class InsurancePolicyFilter(django_filters.FilterSet):
    dealership = django_filters.ModelChoiceFilter(queryset=scoped_choices(Dealership))
    customer = django_filters.ModelChoiceFilter(queryset=scoped_choices(Customer))
    vehicle = django_filters.ModelChoiceFilter(queryset=scoped_choices(Vehicle))
    starts_on = django_filters.DateFromToRangeFilter()
    ends_on = django_filters.DateFromToRangeFilter()

    class Meta:
        model = InsurancePolicy
        fields = ["dealership", "vehicle", "customer", "kind", "source", "insurer", "starts_on", "ends_on"]


class InsurancePolicyViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    viewsets.GenericViewSet,
):
    """Policies the store sold or renewed. Creating one moves the car's
    insurance expiry on (``service.services.insurance_policy_record``); a bad
    one is a 400 with the reason per field. Corrections go through admin."""

    queryset = InsurancePolicy.objects.all()
    serializer_class = InsurancePolicySerializer
    filterset_class = InsurancePolicyFilter
    ordering_fields = ["starts_on", "ends_on", "premium", "pk"]
    ordering = ["-starts_on", "-pk"]


router = routers.SimpleRouter()
router.register("repair-orders", RepairOrderViewSet, basename="repair-order")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("insurance-policies", InsurancePolicyViewSet, basename="insurance-policy")
urlpatterns = router.urls
