from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin
from crm.fields import id_number_digest
from crm.validators import normalize_id_number
from customers.forms import CustomerForm
from customers.models import ConsentChange, Customer


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    """Vehicles appear inline: vehicles.admin adds its inline here (a lower app
    never imports a higher one)."""

    form = CustomerForm
    managers_can_edit = True
    list_display = [
        "name",
        "phone",
        "id_number_masked",
        "value_tier",
        "churn_state",
        "last_visit_date",
        "advisor",
        "dealership",
    ]
    list_filter = [
        "value_tier",
        "churn_state",
        "dealership",
        ("advisor", admin.RelatedOnlyFieldListFilter),
        "vehicles__usage",
        "vehicles__model__brand",
        "source",
        "occupation",
        "marketing_consent",
        "status",
    ]
    search_fields = ["name", "phone", "vehicles__plate_number", "vehicles__vin"]
    search_help_text = _("Name, mobile, plate number, VIN, or a full ID number.")
    readonly_fields = ["id_number_masked", "value_tier", "churn_state", "last_visit_date", "created_at", "updated_at"]
    list_select_related = ["advisor", "dealership"]
    list_per_page = 50
    show_full_result_count = False
    fieldsets = (
        (None, {"fields": ("dealership", "name", "phone", ("id_number", "id_number_masked"), "gender", "advisor")}),
        (
            _("Birthday"),
            {"fields": ("birthday", ("lunar_birthday_month", "lunar_birthday_day", "lunar_birthday_leap"))},
        ),
        (
            _("Profile"),
            {
                "fields": (
                    "occupation",
                    "employer",
                    "education",
                    "income_band",
                    "hobbies",
                    ("province", "city", "district"),
                    "address",
                )
            },
        ),
        (
            _("Contact and consent"),
            {
                "fields": (
                    "email",
                    "preferred_channel",
                    "marketing_consent",
                    "marketing_consent_at",
                    "source",
                    "referred_by",
                )
            },
        ),
        (_("Value and churn"), {"fields": ("value_tier", "churn_state", "last_visit_date", "status")}),
        (
            _("Observations"),
            {"fields": ("traits", "interests", "typical_events", "visit_pattern", "payment_habits", "notes")},
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )
    autocomplete_fields = ["referred_by"]

    def save_model(self, request, obj, form, change):
        consent_changed = "marketing_consent" in form.changed_data or (not change and obj.marketing_consent)
        if consent_changed and "marketing_consent_at" not in form.changed_data:
            obj.marketing_consent_at = timezone.now()
        super().save_model(request, obj, form, change)
        if consent_changed:
            # Every change of consent is on record, with who made it.
            ConsentChange.objects.create(
                customer=obj,
                granted=obj.marketing_consent,
                source=ConsentChange.Source.ADMIN,
                changed_at=obj.marketing_consent_at or timezone.now(),
                recorded_by=request.user,
            )

    def get_search_results(self, request, queryset, search_term):
        queryset, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        candidate = normalize_id_number(search_term)
        if len(candidate) == 18:
            # ID numbers are encrypted; an exact match goes through the keyed hash.
            matches = self.get_queryset(request).filter(id_number_hash=id_number_digest(candidate))
            queryset = queryset | matches
        return queryset, may_have_duplicates

    @admin.display(description=_("ID number"))
    def id_number_masked(self, obj: Customer) -> str:
        return obj.id_number_masked
