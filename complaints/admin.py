from django.contrib import admin

from complaints.models import Complaint, ComplaintCategory, ComplaintEvent, ComplaintLesson
from crm.admin import GroupWideAdmin, ScopedAdmin


@admin.register(ComplaintCategory)
class ComplaintCategoryAdmin(GroupWideAdmin):
    list_display = ["label", "code", "position", "active"]
    list_editable = ["position", "active"]


class ComplaintEventInline(admin.TabularInline):
    model = ComplaintEvent
    extra = 0
    can_delete = False
    fields = ["at", "from_status", "to_status", "by", "note"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Complaint)
class ComplaintAdmin(ScopedAdmin):
    """Cases are read here; they are opened and moved through their steps by the
    complaint services (the status has one writer), so nothing is edited."""

    list_display = ["number", "customer", "category", "severity", "status", "handler", "received_at"]
    list_filter = ["status", "severity", "category", "channel"]
    list_select_related = ["customer", "category", "handler"]
    search_fields = ["number", "customer__name", "customer__phone", "description", "carmaker_reference"]
    date_hierarchy = "received_at"
    inlines = [ComplaintEventInline]

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Complaint._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ComplaintLesson)
class ComplaintLessonAdmin(ScopedAdmin):
    """The lessons learned, a library managers search."""

    list_display = ["complaint", "what_changes", "created_by", "created_at"]
    search_fields = ["what_changes", "prevention", "complaint__number", "complaint__description"]
    list_select_related = ["complaint", "created_by"]
    readonly_fields = ["complaint", "dealership", "created_by", "created_at"]

    def has_add_permission(self, request):
        return False
