from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent, ComplaintLesson, ComplaintPolicy
from crm.admin import GroupWideAdmin, ScopedAdmin, ViewOnly


@admin.register(ComplaintCategory)
class ComplaintCategoryAdmin(GroupWideAdmin):
    list_display = ["label", "code", "position", "active"]
    list_editable = ["position", "active"]

    def get_readonly_fields(self, request, obj=None):
        # The code is what pages, imports and the defaults refer to: fixed once made.
        return ["code"] if obj is not None else []


@admin.register(ComplaintPolicy)
class ComplaintPolicyAdmin(GroupWideAdmin):
    """The SLA of each severity, in business time. One row per severity (made on
    migrate from DEFAULT_POLICIES); a change applies to cases opened or
    reopened after it, the clocks of running cases keep their due times."""

    list_display = ["severity", "acknowledge_hours", "first_contact_days", "resolution_days", "warn_percent"]
    list_editable = ["acknowledge_hours", "first_contact_days", "resolution_days", "warn_percent"]
    list_display_links = ["severity"]

    def get_readonly_fields(self, request, obj=None):
        return ["severity"] if obj is not None else []

    def has_add_permission(self, request):
        # Only a severity whose row was deleted by hand can be added back.
        missing = set(Complaint.Severity.values) - set(ComplaintPolicy.objects.values_list("severity", flat=True))
        return bool(missing) and super().has_add_permission(request)

    def has_delete_permission(self, request, obj=None):
        return False


class ComplaintEventInline(ViewOnly, admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    fields = ["at", "action", "from_status", "to_status", "by", "note", "data"]
    readonly_fields = fields
    ordering = ["at", "pk"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("by")


@admin.register(Complaint)
class ComplaintAdmin(ViewOnly, ScopedAdmin):
    """Cases are read here; they are opened and moved through their steps by the
    complaint services (the status has one writer), so nothing is edited."""

    list_display = [
        "number",
        "customer",
        "category",
        "severity",
        "status",
        "sla_state",
        "handler",
        "received_at",
        "dealership",
    ]
    list_filter = ["status", "sla_state", "severity", "category", "channel", "dealership"]
    list_select_related = ["customer", "category", "handler", "dealership"]
    search_fields = ["number", "customer__name", "customer__phone", "description", "carmaker_reference"]
    date_hierarchy = "received_at"
    inlines = [ComplaintEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Complaint._meta.fields]


@admin.register(ComplaintLesson)
class ComplaintLessonAdmin(ScopedAdmin):
    """The lessons learned, a library managers search (written when a case closes)."""

    list_display = ["complaint", "category", "what_changes", "created_by", "created_at"]
    list_filter = ["complaint__category", "dealership"]
    search_fields = ["what_changes", "prevention", "complaint__number", "complaint__description"]
    list_select_related = ["complaint", "complaint__category", "created_by"]
    readonly_fields = ["complaint", "dealership", "created_by", "created_at"]

    @admin.display(description=_("category"), ordering="complaint__category__position")
    def category(self, obj: ComplaintLesson) -> str:
        return obj.complaint.category.label

    def has_add_permission(self, request):
        return False
