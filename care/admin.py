from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from care.admin_forms import CareRuleForm, care_rule_form, param_field_names
from care.messaging.models import MessagingProfile, Outbox
from care.messaging.selectors import outbox_daily_counts
from care.messaging.services import outbox_resend
from care.templating import PLACEHOLDERS, render
from care.touches.models import CareOptOut, CareRule, CareTask, RecallCampaign, RecallVehicle
from care.weather.models import WeatherAlert, WeatherLocation
from care.winback.models import WinbackCampaign, WinbackReason
from care.workspace.models import Contact, OutcomeCode, TaskReassignment, WinbackSurvey
from crm.admin import ScopedAdmin
from crm.validators import normalize_vin, validate_vin

# A fictional customer for previews: admins see the words as a customer would.
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


class GroupWideAdmin(admin.ModelAdmin):
    """Data shared by the whole group: every staff user reads it, administrators edit it."""

    def has_module_permission(self, request):
        return request.user.is_active and request.user.is_staff

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_change_permission(self, request, obj=None):
        user = request.user
        return user.is_active and (user.is_superuser or (user.is_staff and user.role == user.Role.ADMIN))

    def has_add_permission(self, request):
        return self.has_change_permission(request)

    def has_delete_permission(self, request, obj=None):
        return self.has_change_permission(request)


@admin.register(WeatherLocation)
class WeatherLocationAdmin(GroupWideAdmin):
    list_display = ["city", "district", "latitude", "longitude", "provider_id", "enabled"]
    list_filter = ["enabled", "city"]
    list_editable = ["enabled"]
    search_fields = ["city", "district"]


@admin.register(WeatherAlert)
class WeatherAlertAdmin(GroupWideAdmin):
    list_display = ["headline", "location", "event", "colour", "message_type", "status", "effective_at", "expires_at"]
    list_filter = ["status", "event", "colour", "provider", "location__city"]
    search_fields = ["headline", "alert_id", "location__city"]
    date_hierarchy = "effective_at"
    list_select_related = ["location"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WeatherAlert._meta.fields]  # as the provider sent it

    def has_add_permission(self, request):
        return False


@admin.register(MessagingProfile)
class MessagingProfileAdmin(ScopedAdmin):
    list_display = ["dealership", "sms_sign_name", "email_from", "paused"]
    list_editable = ["paused"]


@admin.register(Outbox)
class OutboxAdmin(ScopedAdmin):
    list_display = [
        "created_at",
        "customer",
        "recipient",
        "channel",
        "kind",
        "purpose",
        "status",
        "suppression_reason",
        "attempts",
        "sent_at",
        "error_code",
    ]
    list_filter = ["status", "suppression_reason", "channel", "purpose", "kind", "backend", "dealership", "created_at"]
    search_fields = ["customer__name", "recipient", "gateway_message_id", "error_code"]
    list_select_related = ["customer"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    actions = ["resend"]
    change_list_template = "admin/care/outbox/change_list.html"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Outbox._meta.fields]  # a record of what happened: only "resend" changes it

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.action(description=_("Send again (failed or suppressed only)"), permissions=["change"])
    def resend(self, request, queryset):
        count = outbox_resend(messages=queryset)
        self.message_user(
            request, _("%(n)s messages queued again; consent and limits are checked again.") % {"n": count}
        )

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "daily_counts": outbox_daily_counts(user=request.user, days=14)}
        return super().changelist_view(request, extra_context=extra_context)


@admin.register(OutcomeCode)
class OutcomeCodeAdmin(GroupWideAdmin):
    """The outcomes advisors choose after a call, and what follows each: group-wide, edited by admins."""

    list_display = [
        "label",
        "code",
        "reached",
        "action",
        "task_outcome",
        "requeue_days",
        "max_attempts",
        "active",
        "position",
    ]
    list_editable = ["active", "position"]
    list_filter = ["action", "reached", "active"]
    search_fields = ["label", "code"]
    fieldsets = (
        (None, {"fields": ("code", "label", "reached", "active", "position")}),
        (_("What follows"), {"fields": ("action", "task_outcome", "requeue_days", "max_attempts", "asks")}),
        (_("Also"), {"fields": ("flags_phone", "customer_status", "vehicle_status")}),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # contacts keep pointing at it: switch it off instead


@admin.register(Contact)
class ContactAdmin(ScopedAdmin):
    list_display = ["created_at", "customer", "advisor", "channel", "outcome", "reached", "follow_up_on"]
    list_filter = ["channel", "reached", "outcome", "dealership", ("advisor", admin.RelatedOnlyFieldListFilter)]
    search_fields = ["customer__name", "customer__phone", "notes"]
    list_select_related = ["customer", "advisor", "outcome"]
    date_hierarchy = "created_at"
    show_full_result_count = False
    raw_id_fields = ["customer", "appointment", "tasks"]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Contact._meta.fields if f.name != "notes"]

    def has_add_permission(self, request):
        return False  # contacts are logged from the queue and the customer's page


@admin.register(TaskReassignment)
class TaskReassignmentAdmin(ScopedAdmin):
    list_display = ["at", "task", "from_user", "to_user", "by", "reason"]
    list_select_related = ["task", "from_user", "to_user", "by"]
    search_fields = ["reason", "task__customer__name"]
    date_hierarchy = "at"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TaskReassignment._meta.fields]

    def has_add_permission(self, request):
        return False


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


@admin.register(WinbackCampaign)
class WinbackCampaignAdmin(ScopedAdmin):
    """A store's win-back pushes: managers set them up; the win-back rule calls the segment."""

    managers_can_edit = True
    list_display = ["name", "dealership", "offer", "start_date", "end_date", "created_by"]
    list_filter = ["dealership", "start_date"]
    search_fields = ["name", "offer"]
    date_hierarchy = "start_date"
    readonly_fields = ["created_by", "created_at"]
    fields = ["dealership", "name", "offer", "segment", "start_date", "end_date", "created_by", "created_at"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)


@admin.register(WinbackSurvey)
class WinbackSurveyAdmin(ScopedAdmin):
    """The answers of win-back calls, as recorded: read-only."""

    list_display = ["created_at", "customer", "dealership", "reason_labels", "repaired_elsewhere", "where", "why_there"]
    list_filter = ["repaired_elsewhere", "dealership"]
    search_fields = ["customer__name", "customer__phone", "where", "why_there", "other"]
    list_select_related = ["customer", "dealership"]
    date_hierarchy = "created_at"
    show_full_result_count = False

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in WinbackSurvey._meta.fields]

    def has_add_permission(self, request):
        return False  # answered on win-back calls

    @admin.display(description=_("why not back"))
    def reason_labels(self, obj) -> str:
        labels = dict(WinbackReason.choices)
        return "、".join(str(labels.get(code, code)) for code in obj.reasons or []) or "—"
