from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, routers, serializers, viewsets

from crm.api import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin
from service.hooks import repair_orders_with_labour_discount
from service.models import Appointment, InsurancePolicy, RepairLine, RepairOrder, Technician
from service.services import insurance_policy_record
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
    lines = RepairLineSerializer(many=True, read_only=True)
    technician = TechnicianSerializer(read_only=True)
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
            "kind",
            "opened_at",
            "closed_at",
            "mileage",
            "payer",
            "labor_amount",
            "parts_amount",
            "total_amount",
            "labour_discount_percent",
            "lines",
        ]


class AppointmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Appointment
        fields = ["id", "dealership", "customer", "vehicle", "advisor", "scheduled_at", "kind", "status", "notes"]


class RepairOrderViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    """Repair orders arrive from the dealer management system; the API reads them."""

    queryset = RepairOrder.objects.select_related("technician").prefetch_related("lines").order_by("-opened_at", "-pk")
    serializer_class = RepairOrderSerializer
    filterset_fields = ["customer", "vehicle", "kind", "advisor", "technician", "number"]
    ordering_fields = ["opened_at", "total_amount"]

    def get_queryset(self):
        # The discount is read in the orders' own query (one expression, no query per order).
        return repair_orders_with_labour_discount(super().get_queryset())


class AppointmentViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Appointment.objects.order_by("scheduled_at", "pk")
    serializer_class = AppointmentSerializer
    filterset_fields = ["customer", "vehicle", "status", "advisor"]


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
        try:
            return insurance_policy_record(
                **validated_data, by=self.context["request"].user, source=InsurancePolicy.Source.API
            )
        except DjangoValidationError as exc:
            raise serializers.ValidationError(
                exc.message_dict if hasattr(exc, "error_dict") else {"non_field_errors": exc.messages}
            ) from exc


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

    queryset = InsurancePolicy.objects.order_by("-starts_on", "-pk")
    serializer_class = InsurancePolicySerializer
    filterset_fields = ["vehicle", "customer", "kind", "source", "insurer"]
    ordering_fields = ["starts_on", "ends_on", "premium"]


router = routers.SimpleRouter()
router.register("repair-orders", RepairOrderViewSet, basename="repair-order")
router.register("appointments", AppointmentViewSet, basename="appointment")
router.register("insurance-policies", InsurancePolicyViewSet, basename="insurance-policy")
urlpatterns = router.urls
