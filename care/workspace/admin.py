from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from care.winback.models import WinbackReason
from care.workspace.models import AdvisorAbsence, AdvisorCapacity, Contact, OutcomeCode, TaskReassignment, WinbackSurvey
from crm.admin import GroupWideAdmin, ScopedAdmin
from crm.models import User


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


def _advisors_of(user: User):
    """The advisors a manager sets capacity and days off for: their store's (group users: all)."""
    advisors = User.objects.filter(role=User.Role.ADVISOR, is_active=True)
    return advisors if user.is_group_level else advisors.filter(dealership_id=user.dealership_id)


@admin.register(AdvisorCapacity)
class AdvisorCapacityAdmin(ScopedAdmin):
    """Calls a day per advisor (the morning plan fills each day up to it); managers set their store's."""

    managers_can_edit = True
    list_display = ["user", "daily_calls"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _advisors_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(AdvisorAbsence)
class AdvisorAbsenceAdmin(ScopedAdmin):
    """Days off: the advisor gets no plan that day; their due calls go to a colleague."""

    managers_can_edit = True
    list_display = ["user", "date", "reason"]
    list_filter = ["date"]
    list_select_related = ["user"]
    search_fields = ["user__username", "user__first_name", "user__last_name"]

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "user":
            kwargs["queryset"] = _advisors_of(request.user)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)
