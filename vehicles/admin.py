from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin, ScopedInline
from customers.admin import CustomerAdmin
from vehicles.models import MileageReading, Vehicle, VehicleModel


@admin.register(VehicleModel)
class VehicleModelAdmin(ScopedAdmin):
    list_display = [
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
        "is_active",
    ]
    list_filter = ["brand", "vehicle_class", "energy", "is_active"]
    search_fields = ["brand", "name"]

    def get_queryset(self, request):
        # The model catalogue is shared by the whole group.
        return super(ScopedAdmin, self).get_queryset(request)

    def has_change_permission(self, request, obj=None):
        return request.user.is_active and request.user.is_superuser


class VehicleInline(ScopedInline, admin.TabularInline):
    model = Vehicle
    extra = 0
    fields = ["plate_number", "vin", "model", "usage", "purchase_date", "current_mileage", "status"]
    readonly_fields = ["current_mileage"]
    show_change_link = True


class MileageReadingInline(ScopedInline, admin.TabularInline):
    model = MileageReading
    extra = 0
    fields = ["read_on", "mileage", "source"]
    readonly_fields = fields
    can_delete = False
    ordering = ["-read_on"]

    def has_add_permission(self, request, obj=None):
        # Readings go through vehicles.services.mileage_record, which checks order.
        return False


@admin.register(Vehicle)
class VehicleAdmin(ScopedAdmin):
    """Repair orders appear inline: service.admin adds its inline here."""

    managers_can_edit = True
    list_display = [
        "plate_number",
        "vin",
        "model",
        "customer",
        "usage",
        "purchase_date",
        "current_mileage",
        "insurance_expiry_date",
        "inspection_due_date",
        "status",
    ]
    list_filter = ["usage", "status", "model__brand", "model", "customer__dealership", "sold_here"]
    group_only_list_filter = ("customer__dealership",)
    search_fields = ["plate_number", "vin", "customer__name", "customer__phone"]
    search_help_text = _("Plate number, VIN, owner's name or mobile.")
    list_select_related = ["model", "customer"]
    readonly_fields = ["current_mileage", "current_mileage_date", "created_at"]
    autocomplete_fields = ["customer"]
    inlines = [MileageReadingInline]
    show_full_result_count = False


CustomerAdmin.inlines = [*CustomerAdmin.inlines, VehicleInline]
