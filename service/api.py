from rest_framework import routers, serializers, viewsets

from crm.api import ScopedQuerysetMixin
from service.models import Appointment, RepairLine, RepairOrder, Technician


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


class AppointmentViewSet(ScopedQuerysetMixin, viewsets.ReadOnlyModelViewSet):
    queryset = Appointment.objects.order_by("scheduled_at", "pk")
    serializer_class = AppointmentSerializer
    filterset_fields = ["customer", "vehicle", "status", "advisor"]


router = routers.SimpleRouter()
router.register("repair-orders", RepairOrderViewSet, basename="repair-order")
router.register("appointments", AppointmentViewSet, basename="appointment")
urlpatterns = router.urls
