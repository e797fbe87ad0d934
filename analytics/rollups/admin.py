"""The rollups' runs in admin: read-only (written by ``analytics.rollups``;
the last finished run's ``started_at`` is the next run's watermark)."""

from django.contrib import admin

from analytics.models import RollupRun
from crm.admin import GroupWideAdmin, ViewOnly


@admin.register(RollupRun)
class RollupRunAdmin(ViewOnly, GroupWideAdmin):
    list_display = ["started_at", "finished_at", "full", "store_days", "seconds"]
    list_filter = ["full"]
    date_hierarchy = "started_at"
