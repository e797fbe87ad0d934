from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import mixins, routers, serializers, viewsets

from crm.api import ScopedPrimaryKeyRelatedField, ScopedQuerysetMixin
from crm.tenancy import get_for_user_or_404
from crm.validators import normalize_plate, normalize_vin
from customers.models import Customer
from vehicles.models import MileageReading, Vehicle, VehicleModel
from vehicles.services import mileage_record, vehicle_create


class VehicleModelSerializer(serializers.ModelSerializer):
    class Meta:
        model = VehicleModel
        fields = [
            "id",
            "brand",
            "name",
            "vehicle_class",
            "energy",
            "first_maintenance_km",
            "first_maintenance_months",
            "maintenance_interval_km",
            "maintenance_interval_months",
            "warranty_months",
            "warranty_km",
        ]


class VehicleSerializer(serializers.ModelSerializer):
    customer = ScopedPrimaryKeyRelatedField(queryset=Customer.objects.all())

    class Meta:
        model = Vehicle
        fields = [
            "id",
            "customer",
            "vin",
            "model",
            "plate_number",
            "engine_number",
            "colour",
            "purchase_date",
            "sold_here",
            "usage",
            "status",
            "current_mileage",
            "current_mileage_date",
            "warranty_end_date",
            "warranty_end_km",
            "insurance_expiry_date",
            "insurer",
            "inspection_due_date",
        ]
        read_only_fields = ["current_mileage_date"]

    def to_internal_value(self, data):
        if hasattr(data, "copy"):
            data = data.copy()
            if isinstance(data.get("vin"), str):
                data["vin"] = normalize_vin(data["vin"])
            if isinstance(data.get("plate_number"), str):
                data["plate_number"] = normalize_plate(data["plate_number"])
        return super().to_internal_value(data)

    def create(self, validated_data: dict) -> Vehicle:
        return vehicle_create(**validated_data)


class MileageReadingSerializer(serializers.ModelSerializer):
    class Meta:
        model = MileageReading
        fields = ["id", "read_on", "mileage", "source"]


class VehicleModelViewSet(viewsets.ReadOnlyModelViewSet):
    """The group's model catalogue (shared by every dealership)."""

    queryset = VehicleModel.objects.order_by("brand", "name")
    serializer_class = VehicleModelSerializer


class VehicleViewSet(
    ScopedQuerysetMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    queryset = Vehicle.objects.select_related("model", "customer").order_by("pk")
    serializer_class = VehicleSerializer
    filterset_fields = ["customer", "model", "usage", "status", "plate_number", "vin"]
    ordering_fields = ["purchase_date", "current_mileage", "pk"]


class MileageReadingViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Readings of one car: ``/vehicles/<id>/readings/``. A reading below an
    earlier one is refused with a 400."""

    serializer_class = MileageReadingSerializer
    queryset = MileageReading.objects.none()  # for the schema; requests use get_queryset

    def get_vehicle(self) -> Vehicle:
        return get_for_user_or_404(Vehicle.objects.all(), self.request.user, pk=self.kwargs["vehicle_pk"])

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return self.get_vehicle().mileage_readings.order_by("read_on", "mileage")

    def perform_create(self, serializer) -> None:
        try:
            serializer.instance = mileage_record(vehicle=self.get_vehicle(), **serializer.validated_data)
        except DjangoValidationError as exc:
            raise serializers.ValidationError(exc.message_dict) from exc


router = routers.SimpleRouter()
router.register("vehicle-models", VehicleModelViewSet, basename="vehicle-model")
router.register("vehicles", VehicleViewSet, basename="vehicle")
router.register(r"vehicles/(?P<vehicle_pk>[0-9]+)/readings", MileageReadingViewSet, basename="mileage-reading")
urlpatterns = router.urls
