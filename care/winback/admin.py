from django.contrib import admin

from care.winback.models import WinbackCampaign
from crm.admin import ScopedAdmin


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
