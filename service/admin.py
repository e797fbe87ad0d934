from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin, ScopedInline
from service.forms import RepairOrderAdminForm
from service.hooks import repair_orders_with_labour_discount
from service.models import Appointment, InsurancePolicy, RepairLine, RepairOrder, Technician
from service.services import insurance_policy_record
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

    def get_queryset(self, request):
        # The club's labour discount, read in the orders' own query (service.hooks).
        return repair_orders_with_labour_discount(super().get_queryset(request))

    def get_list_display(self, request):
        return [*super().get_list_display(request), "labour_discount"]

    def get_readonly_fields(self, request, obj=None):
        return [*super().get_readonly_fields(request, obj), "labour_discount"]

    @admin.display(description=_("member's labour discount"))
    def labour_discount(self, obj: RepairOrder) -> str:
        percent = getattr(obj, "labour_discount_percent", None)
        return "—" if percent is None else f"{percent}%"

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


class InsurancePolicyAdminForm(forms.ModelForm):
    """A policy entered by hand: recorded by ``insurance_policy_record`` when the
    form is checked, so what the service refuses shows on its field and
    nothing is saved (the admin's view runs in one transaction)."""

    user = None  # set by InsurancePolicyAdmin.get_form
    recorded: InsurancePolicy | None = None

    class Meta:
        model = InsurancePolicy
        fields = ["vehicle", "insurer", "kind", "premium", "starts_on", "ends_on"]

    def clean(self):
        cleaned = super().clean()
        if self.errors or self.instance.pk:
            return cleaned
        try:
            with transaction.atomic():
                self.recorded = insurance_policy_record(
                    vehicle=cleaned["vehicle"],
                    insurer=cleaned["insurer"],
                    kind=cleaned["kind"],
                    premium=cleaned["premium"],
                    starts_on=cleaned["starts_on"],
                    ends_on=cleaned["ends_on"],
                    by=self.user,
                    source=InsurancePolicy.Source.DESK,
                )
        except ValidationError as exc:
            for field, messages in exc.message_dict.items():
                self.add_error(field if field in self.fields else None, messages)
        return cleaned


@admin.register(InsurancePolicy)
class InsurancePolicyAdmin(ScopedAdmin):
    """Policies the store sold or renewed (what earns club points and makes the
    renewal rate). Added through the form, which moves the car's insurance
    expiry on; a recorded policy is read-only (an administrator deletes a wrong one)."""

    managers_can_edit = True
    form = InsurancePolicyAdminForm
    list_display = [
        "starts_on",
        "ends_on",
        "vehicle",
        "customer",
        "insurer",
        "kind",
        "premium",
        "source",
        "sold_by",
        "dealership",
    ]
    list_filter = ["kind", "source", "dealership", "starts_on"]
    search_fields = ["vehicle__plate_number", "vehicle__vin", "customer__name", "customer__phone", "insurer"]
    search_help_text = _("Plate number, VIN, customer's name or mobile, insurer.")
    list_select_related = ["vehicle", "customer", "sold_by", "dealership"]
    autocomplete_fields = ["vehicle"]
    date_hierarchy = "starts_on"
    show_full_result_count = False
    recorded_fields = ["dealership", "customer", "source", "sold_by", "created_at"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return InsurancePolicyAdminForm.Meta.fields
        return [*InsurancePolicyAdminForm.Meta.fields, *self.recorded_fields]

    def get_readonly_fields(self, request, obj=None):
        return [] if obj is None else self.get_fields(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        return type(form.__name__, (form,), {"user": request.user})

    def save_model(self, request, obj, form, change):
        if change:
            return  # read-only once recorded
        record = form.recorded
        # The admin logs and redirects with the object it handed over.
        for field in InsurancePolicy._meta.concrete_fields:
            setattr(obj, field.attname, getattr(record, field.attname))
        obj._state.adding = False


VehicleAdmin.inlines = [*VehicleAdmin.inlines, RepairOrderInline]
