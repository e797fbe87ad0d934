"""Admin of rules and touches: the rule form with the kind's fields and a preview,
touches (their status read-only), opt-outs and recalls."""

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from care.templating import PLACEHOLDERS, render
from care.touches.admin_forms import CareRuleForm, care_rule_form, param_field_names
from care.touches.models import CareOptOut, CareRule, CareTask, RecallCampaign, RecallVehicle
from crm.admin import ScopedAdmin
from crm.validators import normalize_vin, validate_vin

SAMPLE_CONTEXT = {
    "name": "张伟",
    "title": "先生",
    "plate": "沪A12345",
    "model": "大众 帕萨特",
    "due_date": "2027-03-15",
    "mileage": "30000",
    "advisor": "王芳",
    "advisor_phone": "13800138000",
    "dealership": "浦东4S店",
    "booking_phone": "021-61234567",
    "rescue_phone": "400-820-1234",
    "item": "刹车片更换",
    "price": "860.00",
    "card_level": "银卡",
    "card_number": "M00001234",
    "valid_until": "2028-03-01",
    "benefits": "工时费优惠10%、免费洗车 20次、四轮定位 1次",
    "referred": "陈先生",
    "event_link": "https://crm.example.cn/loyalty/e/…",
}


@admin.register(CareRule)
class CareRuleAdmin(ScopedAdmin):
    list_display = [
        "name",
        "kind",
        "dealership",
        "enabled",
        "channel",
        "lead_days",
        "expiry_days",
        "target_tiers",
        "priority",
    ]
    list_filter = ["kind", "enabled", "channel", "dealership"]
    list_editable = ["enabled"]
    search_fields = ["name", "message_template", "call_script"]
    readonly_fields = ["placeholders", "preview", "updated_at"]
    form = CareRuleForm

    def _kind(self, request, obj) -> str:
        """The kind whose parameters the page shows: the one posted; on the add
        page the one in the address (``?kind=seasonal``); else the rule's."""
        if request.method == "POST":
            return request.POST.get("kind", "")
        return obj.kind if obj is not None else request.GET.get("kind", "")

    def get_fieldsets(self, request, obj=None):
        names = param_field_names(self._kind(request, obj))
        # A kind without declared parameters, or a read-only page: the JSON as stored.
        fields = (*names, "params_kind") if names and self.has_change_permission(request, obj) else ("params",)
        return (
            (None, {"fields": ("dealership", "kind", "name", "enabled", "channel", "priority", "target_tiers")}),
            (_("Timing"), {"fields": ("lead_days", "cadence_days", "expiry_days", "message_day_before")}),
            (
                _("Words"),
                {"fields": ("message_template", "gateway_template_code", "call_script", "placeholders", "preview")},
            ),
            (_("Kind-specific parameters"), {"fields": fields}),
            (None, {"fields": ("updated_at",)}),
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        kwargs["form"] = care_rule_form(self._kind(request, obj))
        return super().get_form(request, obj, change, **kwargs)

    def get_queryset(self, request):
        # Group defaults (no dealership) are visible to every store's admin.
        qs = CareRule.objects.all()
        if request.user.is_group_level:
            return qs
        return qs.filter(dealership__isnull=True) | qs.filter(dealership_id=request.user.dealership_id)

    def has_change_permission(self, request, obj=None):
        if obj is not None and obj.dealership_id is None and not request.user.is_group_level:
            return False  # a store overrides a group default with its own rule instead
        return super().has_change_permission(request, obj)

    @admin.display(description=_("Placeholders"))
    def placeholders(self, obj) -> str:
        return format_html_join(", ", "<code>{{{}}}</code> {}", ((k, v) for k, v in PLACEHOLDERS.items()))

    @admin.display(description=_("Preview for a sample customer"))
    def preview(self, obj) -> str:
        if obj is None or obj.pk is None:
            return _("Save the rule to see a preview.")
        parts = []
        for label, template in ((_("Message"), obj.message_template), (_("Call script"), obj.call_script)):
            if template:
                try:
                    text = render(template, SAMPLE_CONTEXT)
                except (KeyError, ValueError, IndexError) as exc:
                    text = f"⚠ {exc}"
                parts.append(format_html("<p><strong>{}</strong><br>{}</p>", label, text))
        return format_html_join("", "{}", ((p,) for p in parts)) if parts else "—"


@admin.register(CareTask)
class CareTaskAdmin(ScopedAdmin):
    managers_can_edit = True
    list_display = [
        "due_date",
        "kind",
        "customer",
        "vehicle",
        "assigned_to",
        "status",
        "outcome",
        "priority",
        "event_date",
        "expires_on",
    ]
    list_filter = [
        "status",
        "kind",
        "outcome",
        "channel",
        "dealership",
        ("assigned_to", admin.RelatedOnlyFieldListFilter),
        "due_date",
    ]
    search_fields = ["customer__name", "customer__phone", "vehicle__plate_number", "occasion"]
    list_select_related = ["customer", "vehicle", "assigned_to"]
    readonly_fields = [
        "dealership",
        "customer",
        "vehicle",
        "rule",
        "kind",
        "channel",
        "occasion",
        "step",
        "event_date",
        "due_date",
        "expires_on",
        "subject",
        "amount",
        "repair_order",
        "appointment",
        "converted_repair_order",
        "created_on",
        "created_at",
        "closed_at",
        # The status changes only through care_tasks_transition, with an event.
        "status",
        "outcome",
        "planned_for",
        "overflow",
    ]
    fields = [*readonly_fields[:12], *readonly_fields[-4:], "assigned_to", "priority", "notes", *readonly_fields[12:-4]]
    date_hierarchy = "due_date"
    show_full_result_count = False

    def has_add_permission(self, request):
        return False  # touches come from the rules

    def save_model(self, request, obj, form, change):
        # Only what the form changed: a full save() would write the status back too.
        if form.changed_data:
            obj.save(update_fields=form.changed_data)


@admin.register(CareOptOut)
class CareOptOutAdmin(ScopedAdmin):
    managers_can_edit = True
    list_display = ["customer", "kind", "channel", "reason", "created_at", "created_by"]
    list_filter = ["kind", "channel"]
    search_fields = ["customer__name", "customer__phone", "reason"]
    autocomplete_fields = ["customer"]
    readonly_fields = ["created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


class RecallCampaignForm(forms.ModelForm):
    vin_list = forms.CharField(
        label=_("VINs to add"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
        help_text=_("One VIN per line (or separated by commas). Bad lines are reported; good ones are kept."),
    )

    class Meta:
        model = RecallCampaign
        fields = ["dealership", "code", "title", "description", "start_date", "end_date"]

    def clean_vin_list(self) -> tuple[list[str], list[str]]:
        good, bad = [], []
        raw = self.cleaned_data.get("vin_list", "").replace(",", "\n")
        for number, line in enumerate(raw.splitlines(), start=1):
            vin = normalize_vin(line)
            if not vin:
                continue
            try:
                validate_vin(vin)
            except ValidationError as exc:
                bad.append(
                    _("line %(n)s “%(vin)s”: %(why)s") % {"n": number, "vin": line.strip(), "why": exc.messages[0]}
                )
            else:
                good.append(vin)
        return good, bad


class RecallVehicleInline(admin.TabularInline):
    model = RecallVehicle
    extra = 0
    fields = ["vin", "completed_on"]


@admin.register(RecallCampaign)
class RecallCampaignAdmin(ScopedAdmin):
    form = RecallCampaignForm
    list_display = ["code", "title", "start_date", "end_date", "dealership"]
    search_fields = ["code", "title", "vehicles__vin"]
    inlines = [RecallVehicleInline]

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        good, bad = form.cleaned_data.get("vin_list") or ([], [])
        created = RecallVehicle.objects.bulk_create(
            [RecallVehicle(campaign=form.instance, vin=vin) for vin in dict.fromkeys(good)], ignore_conflicts=True
        )
        if good:
            messages.success(request, _("%(n)s VINs added to the campaign.") % {"n": len(created)})
        for line in bad:
            messages.warning(request, line)
