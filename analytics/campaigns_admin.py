"""Campaigns in admin: read-only. They are created, drawn and measured on
their pages (``/analytics/campaigns/``), through ``analytics.campaigns``."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from analytics.models import Campaign
from crm.admin import ScopedAdmin, ViewOnly


@admin.register(Campaign)
class CampaignAdmin(ViewOnly, ScopedAdmin):
    list_display = ["name", "kind", "dealership", "starts_on", "ends_on", "cost", "holdout_share", "drawn_at", "page"]
    list_filter = ["kind", "dealership"]
    list_select_related = ["dealership"]
    search_fields = ["name"]
    date_hierarchy = "starts_on"
    show_full_result_count = False

    @admin.display(description=_("results"))
    def page(self, obj: Campaign) -> str:
        return format_html('<a href="{}">{}</a>', reverse("analytics:campaign", args=[obj.pk]), _("results"))
