import django_filters
from django.utils.translation import gettext_lazy as _
from rest_framework import mixins, routers, serializers, viewsets

from crm.api import (
    ScopedPrimaryKeyRelatedField,
    ScopedQuerysetMixin,
    UpsertMixin,
    scoped_choices,
    service_errors_as_400,
)
from crm.models import Dealership
from crm.tenancy import get_for_user_or_404, scope_for_user
from crm.validators import normalize_plate, normalize_vin
from customers.models import Customer
from vehicles.models import MileageReading, Vehicle, VehicleModel
from vehicles.services import mileage_record, vehicle_create, vehicle_update, vehicle_upsert_by_vin


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
        if isinstance(data, dict):  # anything else is refused by the serializer as "not an object"
            data = data.copy()
            if isinstance(data.get("vin"), str):
                data["vin"] = normalize_vin(data["vin"])
            if isinstance(data.get("plate_number"), str):
                data["plate_number"] = normalize_plate(data["plate_number"])
        return super().to_internal_value(data)

    def validate(self, attrs: dict) -> dict:
        if self.instance is not None:
            # A car's identity and owner stay; a sale to another owner is not an edit.
            for name in ("vin", "customer"):
                if name in attrs and attrs[name] != getattr(self.instance, name):
                    raise serializers.ValidationError({name: _("A car's VIN and owner cannot change here.")})
        return attrs

    def create(self, validated_data: dict) -> Vehicle:
        with service_errors_as_400():
            return vehicle_create(**validated_data, by=self.context["request"].user)

    def update(self, instance: Vehicle, validated_data: dict) -> Vehicle:
        changes = {k: v for k, v in validated_data.items() if k not in ("vin", "customer")}
        with service_errors_as_400():
            return vehicle_update(
                vehicle=instance, by=self.context["request"].user, source=MileageReading.Source.API, **changes
            )

    def upsert(self, validated_data: dict) -> tuple[Vehicle, bool]:
        fields = dict(validated_data)
        with service_errors_as_400():
            return vehicle_upsert_by_vin(
                vin=fields.pop("vin"),
                customer=fields.pop("customer"),
                by=self.context["request"].user,
                source=MileageReading.Source.API,
                **fields,
            )


class MileageReadingSerializer(serializers.ModelSerializer):
    class Meta:
        model = MileageReading
        fields = ["id", "read_on", "mileage", "source"]
        # Readings sent through the API are the API's.
        read_only_fields = ["source"]

    def create(self, validated_data: dict) -> MileageReading:
        with service_errors_as_400():
            return mileage_record(vehicle=self.context["vehicle"], source=MileageReading.Source.API, **validated_data)


class VehicleFilter(django_filters.FilterSet):
    dealership = django_filters.ModelChoiceFilter(
        field_name="customer__dealership", queryset=scoped_choices(Dealership)
    )
    customer = django_filters.ModelChoiceFilter(queryset=scoped_choices(Customer))
    purchase_date = django_filters.DateFromToRangeFilter()
    warranty_end_date = django_filters.DateFromToRangeFilter()
    insurance_expiry_date = django_filters.DateFromToRangeFilter()
    inspection_due_date = django_filters.DateFromToRangeFilter()

    class Meta:
        model = Vehicle
        fields = [
            "dealership",
            "customer",
            "model",
            "usage",
            "status",
            "plate_number",
            "vin",
            "sold_here",
            "purchase_date",
            "warranty_end_date",
            "insurance_expiry_date",
            "inspection_due_date",
        ]


class VehicleModelViewSet(viewsets.ReadOnlyModelViewSet):
    """The group's model catalogue (shared by every dealership)."""

    queryset = VehicleModel.objects.all()
    serializer_class = VehicleModelSerializer
    filterset_fields = ["brand", "vehicle_class", "energy", "is_active"]
    ordering_fields = ["brand", "name", "pk"]
    ordering = ["brand", "pk"]


class VehicleViewSet(
    ScopedQuerysetMixin,
    UpsertMixin,
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.GenericViewSet,
):
    """Cars of the user's dealership. A new ``current_mileage`` is an odometer
    reading of today (``vehicles.services.mileage_record``): a value below an
    earlier reading is a 400 with the reason and changes nothing. ``POST
    upsert/`` creates or updates the car with the given VIN (201 / 200)."""

    queryset = Vehicle.objects.select_related("model", "customer")
    serializer_class = VehicleSerializer
    filterset_class = VehicleFilter
    ordering_fields = ["purchase_date", "current_mileage", "created_at", "pk"]
    ordering = ["-pk"]

    def upsert_instance(self, data) -> Vehicle | None:
        vin = data.get("vin")
        if not isinstance(vin, str):
            return None
        return scope_for_user(Vehicle.objects.all(), self.request.user).filter(vin=normalize_vin(vin)).first()


class MileageReadingViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Readings of one car: ``/vehicles/<id>/readings/``. A reading below an
    earlier one (or above a later one) is refused with a 400 and its reason."""

    serializer_class = MileageReadingSerializer
    queryset = MileageReading.objects.none()  # for the schema; requests use get_queryset
    ordering_fields = ["read_on", "pk"]
    ordering = ["read_on", "pk"]

    def get_vehicle(self) -> Vehicle:
        if not hasattr(self, "_vehicle"):
            self._vehicle = get_for_user_or_404(Vehicle.objects.all(), self.request.user, pk=self.kwargs["vehicle_pk"])
        return self._vehicle

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return self.queryset
        return MileageReading.objects.filter(vehicle=self.get_vehicle())

    def get_serializer_context(self):
        context = super().get_serializer_context()
        if not getattr(self, "swagger_fake_view", False) and "vehicle_pk" in self.kwargs:
            context["vehicle"] = self.get_vehicle()
        return context


router = routers.SimpleRouter()
router.register("vehicle-models", VehicleModelViewSet, basename="vehicle-model")
router.register("vehicles", VehicleViewSet, basename="vehicle")
router.register(r"vehicles/(?P<vehicle_pk>[0-9]+)/readings", MileageReadingViewSet, basename="mileage-reading")
urlpatterns = router.urls
