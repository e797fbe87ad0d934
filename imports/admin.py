from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from crm.admin import ScopedAdmin, ViewOnly
from imports.models import ImportJob, ImportJobEvent, ImportProfile, ImportRow


class ImportJobEventInline(admin.TabularInline):
    model = ImportJobEvent
    extra = 0
    can_delete = False
    fields = ("at", "from_status", "to_status", "by", "note")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ImportJob)
class ImportJobAdmin(ViewOnly, ScopedAdmin):
    """The store's imports, read-only: uploading, the dry run and the import
    itself happen on the import page (the "Import a file" button)."""

    change_list_template = "admin/imports/importjob/change_list.html"
    list_display = (
        "original_name",
        "dealership",
        "kind",
        "status",
        "dry_run",
        "created_count",
        "updated_count",
        "unchanged_count",
        "refused_count",
        "created_by",
        "created_at",
        "page_link",
    )
    list_filter = ("status", "kind", "dealership")
    list_select_related = ("dealership", "created_by")
    search_fields = ("original_name",)
    readonly_fields = ("page_link",)
    inlines = [ImportJobEventInline]
    exclude = ("header",)

    @admin.display(description=_("page"))
    def page_link(self, obj: ImportJob) -> str:
        return format_html('<a href="{}">{}</a>', reverse("imports:job", args=[obj.pk]), _("open the report"))


@admin.register(ImportProfile)
class ImportProfileAdmin(ScopedAdmin):
    """Saved by the mapping step; administrators may correct or delete one."""

    list_display = ("dealership", "kind", "updated_by", "updated_at")
    list_filter = ("kind", "dealership")
    list_select_related = ("dealership", "updated_by")
    readonly_fields = ("updated_by", "updated_at")


@admin.register(ImportRow)
class ImportRowAdmin(ViewOnly, ScopedAdmin):
    list_display = ("job", "line", "outcome", "reason", "detail")
    list_filter = ("outcome",)
    list_select_related = ("job",)
    search_fields = ("reason",)
    group_only_list_filter = ()

    def has_module_permission(self, request):
        # Reached from a job's report; not a list of its own in the admin index.
        return False
