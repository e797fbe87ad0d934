from django.contrib import admin
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin
from crm.fields import id_number_digest
from crm.validators import normalize_id_number
from customers.forms import CustomerAdminForm
from customers.models import ConsentChange, Customer, CustomerMerge, PrivacyRequest, TierChange, TierPolicy
from customers.selectors import customer_watch_text
from customers.services import customer_tier_pin


@admin.register(Customer)
class CustomerAdmin(ScopedAdmin):
    """Vehicles appear inline: vehicles.admin adds its inline here (a lower app
    never imports a higher one)."""

    form = CustomerAdminForm
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
    readonly_fields = [
        "id_number_masked",
        "tier_score",
        "churn_state",
        "churn_confirm_by_call",
        "watch_reason",
        "watch_since",
        "watch_figures",
        "last_visit_date",
        "created_at",
        "updated_at",
    ]
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
        (
            _("Value and churn"),
            {
                "fields": (
                    ("value_tier", "tier_pinned", "tier_pin_reason"),
                    "tier_score",
                    ("churn_state", "churn_confirm_by_call"),
                    ("watch_reason", "watch_since"),
                    "watch_figures",
                    "last_visit_date",
                    "status",
                )
            },
        ),
        (
            _("Observations"),
            {"fields": ("traits", "interests", "typical_events", "visit_pattern", "payment_habits", "notes")},
        ),
        (None, {"fields": ("created_at", "updated_at")}),
    )
    autocomplete_fields = ["referred_by"]

    @admin.display(description=_("why watched"))
    def watch_figures(self, obj: Customer) -> str:
        return customer_watch_text(obj) or "—"

    def save_model(self, request, obj, form, change):
        pin_changed = change and {"value_tier", "tier_pinned", "tier_pin_reason"} & set(form.changed_data)
        if pin_changed:
            # The pin goes through the service, which keeps the tier history.
            wanted = (obj.value_tier, obj.tier_pinned, obj.tier_pin_reason)
            before = Customer.objects.get(pk=obj.pk)
            obj.value_tier, obj.tier_pinned, obj.tier_pin_reason = (
                before.value_tier,
                before.tier_pinned,
                before.tier_pin_reason,
            )
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
        if pin_changed:
            tier, pinned, reason = wanted
            customer_tier_pin(
                customer=obj, tier=tier if pinned else None, reason=reason, by=request.user, day=timezone.localdate()
            )

    def get_readonly_fields(self, request, obj=None):
        fields = list(super().get_readonly_fields(request, obj))
        if obj is not None and obj.status in Customer.RecordStatus.values:
            # A merged or erased record stays so: only the merge and erasure services set it.
            fields.append("status")
        return fields

    def formfield_for_choice_field(self, db_field, request, **kwargs):
        if db_field.name == "status":
            kwargs["choices"] = Customer.Status.choices  # what staff may set by hand
        return super().formfield_for_choice_field(db_field, request, **kwargs)

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


class TierChangeInline(admin.TabularInline):
    model = TierChange
    fk_name = "customer"
    extra = 0
    can_delete = False
    fields = ["day", "from_tier", "to_tier", "cause", "reason", "score", "by"]
    readonly_fields = fields
    ordering = ["-day", "-pk"]

    def has_add_permission(self, request, obj=None):
        return False


CustomerAdmin.inlines = [*CustomerAdmin.inlines, TierChangeInline]


@admin.register(TierPolicy)
class TierPolicyAdmin(ScopedAdmin):
    """Weights, targets and thresholds of the nightly tier and churn recompute."""

    list_display = ["__str__", "window_months", "a_min_score", "a_min_visits", "at_risk_months", "lost_months"]
    fieldsets = (
        (None, {"fields": ("dealership", "window_months")}),
        (
            _("Score: weights"),
            {
                "fields": (
                    "weight_spend",
                    "weight_visits",
                    "weight_recency",
                    "weight_paid_share",
                    "weight_tenure",
                    "weight_referrals",
                    "complaint_penalty",
                )
            },
        ),
        (
            _("Score: full marks at"),
            {"fields": ("spend_target", "visits_target", "tenure_target_years", "referrals_target")},
        ),
        (_("Tiers"), {"fields": ("a_min_score", "a_min_visits", "a_min_paid_share", "c_visit_cycle_months")}),
        (_("Churn"), {"fields": ("at_risk_months", "lost_months")}),
        (_("Early warning"), {"fields": ("watch_gap_factor", "watch_min_visits")}),
    )

    def get_queryset(self, request):
        # The group's policy is visible to every store's admin.
        qs = TierPolicy.objects.all()
        if request.user.is_group_level:
            return qs
        return qs.filter(dealership__isnull=True) | qs.filter(dealership_id=request.user.dealership_id)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.dealership_id is None and not request.user.is_group_level:
            return False  # a store sets its own policy instead
        return super().has_change_permission(request, obj)


@admin.register(CustomerMerge)
class CustomerMergeAdmin(ScopedAdmin):
    """The merges of duplicate records: read only (a merge is made on the
    duplicates page, through customers.merge.customer_merge)."""

    list_display = ["at", "kept", "merged", "by", "dealership"]
    list_select_related = ["kept", "merged", "by", "dealership"]
    list_filter = ["dealership"]
    search_fields = ["kept__name", "kept__phone", "merged__name", "merged__phone", "former__phone"]
    search_help_text = _("Name or mobile of either record (the merged one's mobile as it was).")
    readonly_fields = ["dealership", "kept", "merged", "by", "at", "moved", "left", "former", "filled"]
    fields = readonly_fields
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(PrivacyRequest)
class PrivacyRequestAdmin(ScopedAdmin):
    """The audit of personal data exports and erasures: read only."""

    list_display = ["at", "kind", "format", "customer", "by", "ip", "dealership"]
    list_select_related = ["customer", "by", "dealership"]
    list_filter = ["kind", "dealership"]
    search_fields = ["customer__name", "customer__phone"]
    readonly_fields = ["dealership", "customer", "kind", "format", "by", "at", "ip", "detail"]
    fields = readonly_fields
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class MergeInline(admin.TabularInline):
    """The merges a customer took part in as the kept record (the merged side in the next inline)."""

    model = CustomerMerge
    fk_name = "kept"
    verbose_name = _("record merged into this one")
    verbose_name_plural = _("records merged into this one")
    extra = 0
    can_delete = False
    fields = ["at", "merged", "by"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


class MergedIntoInline(MergeInline):
    fk_name = "merged"
    verbose_name = _("merged into")
    verbose_name_plural = _("merged into")
    fields = ["at", "kept", "by"]
    readonly_fields = fields


CustomerAdmin.inlines = [*CustomerAdmin.inlines, MergeInline, MergedIntoInline]
