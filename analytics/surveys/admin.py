"""Surveys and their answers in admin: read-only. They are written by the
invitations, the survey page and the calls (``analytics.surveys.services``);
managers read the answers at ``/analytics/surveys/``."""

from django.contrib import admin

from analytics.models import Survey, SurveyResponse
from crm.admin import ScopedAdmin, ViewOnly


@admin.register(Survey)
class SurveyAdmin(ViewOnly, ScopedAdmin):
    list_display = ["sent_at", "dealership", "customer", "kind", "channel", "repair_order", "opened_at", "answered_at"]
    list_filter = ["kind", "channel", "dealership"]
    list_select_related = ["dealership", "customer", "repair_order"]
    date_hierarchy = "sent_at"
    show_full_result_count = False


@admin.register(SurveyResponse)
class SurveyResponseAdmin(ViewOnly, ScopedAdmin):
    list_display = ["answered_at", "dealership", "customer", "kind", "channel", "csat", "nps", "advisor", "asked_by"]
    list_filter = ["kind", "channel", "dealership"]
    list_select_related = ["dealership", "customer", "advisor", "asked_by"]
    search_fields = ["comment"]
    date_hierarchy = "answered_at"
    show_full_result_count = False
