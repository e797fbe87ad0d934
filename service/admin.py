from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin, ScopedInline
from service.forms import RepairOrderAdminForm
from service.models import Appointment, RepairLine, RepairOrder, Technician
from vehicles.admin import VehicleAdmin


class RepairLineInline(ScopedInline, admin.TabularInline):
    model = RepairLine
    extra = 0
    fields = ["line_type", "description", "part_number", "quantity", "amount", "quoted_amount", "status"]


class RepairOrderInline(ScopedInline, admin.TabularInline):
    model = RepairOrder
    fk_name = "vehicle"
    extra = 0
    fields = ["number", "kind", "opened_at", "closed_at", "mileage", "total_amount"]
    readonly_fields = fields
    show_change_link = True
    ordering = ["-opened_at"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Technician)
class TechnicianAdmin(ScopedAdmin):
    """Each store's workshop team: managers keep their own store's list (a
    technician is named on the orders they work, and counted in complaint rates).
    One who leaves is marked inactive, so that their orders keep the name."""

    managers_can_edit = True
    list_display = ["name", "code", "dealership", "active"]
    list_filter = ["active", "dealership"]
    list_select_related = ["dealership"]
    search_fields = ["name", "code"]
    search_help_text = _("Name or staff number.")
    ordering = ["dealership__code", "name"]


@admin.register(RepairOrder)
class RepairOrderAdmin(ScopedAdmin):
    form = RepairOrderAdminForm
    list_display = [
        "number",
        "opened_at",
        "kind",
        "customer",
        "vehicle",
        "mileage",
        "total_amount",
        "closed_at",
        "advisor",
        "technician",
        "dealership",
    ]
    list_filter = [
        "kind",
        "payer",
        "dealership",
        ("advisor", admin.RelatedOnlyFieldListFilter),
        ("technician", admin.RelatedOnlyFieldListFilter),
        "opened_at",
    ]
    search_fields = ["number", "vehicle__plate_number", "vehicle__vin", "customer__name", "customer__phone"]
    search_help_text = _("RO number, plate number, VIN, customer's name or mobile.")
    list_select_related = ["customer", "vehicle", "advisor", "technician", "dealership"]
    readonly_fields = ["total_amount"]
    autocomplete_fields = ["customer", "vehicle"]
    date_hierarchy = "opened_at"
    inlines = [RepairLineInline]
    show_full_result_count = False

    def save_model(self, request, obj, form, change):
        # The database holds total = labour + parts; keep the form in step.
        obj.total_amount = (obj.labor_amount or 0) + (obj.parts_amount or 0)
        super().save_model(request, obj, form, change)


@admin.register(Appointment)
class AppointmentAdmin(ScopedAdmin):
    managers_can_edit = True
    list_display = ["scheduled_at", "customer", "vehicle", "kind", "status", "advisor", "dealership"]
    list_filter = ["status", "kind", "dealership", ("advisor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["customer__name", "customer__phone", "vehicle__plate_number"]
    list_select_related = ["customer", "vehicle", "advisor", "dealership"]
    autocomplete_fields = ["customer", "vehicle"]
    date_hierarchy = "scheduled_at"


VehicleAdmin.inlines = [*VehicleAdmin.inlines, RepairOrderInline]
