from django.urls import path

from analytics import (
    campaign_views,
    complaint_views,
    kpi_views,
    survey_views,
    views,
)

app_name = "analytics"
urlpatterns = [
    path("", kpi_views.overview_view, name="dashboard"),
    path("retention/", kpi_views.retention_view, name="retention"),
    path("care/", kpi_views.care_view, name="care"),
    path("advisors/", kpi_views.advisors_view, name="advisors"),
    path("value/", kpi_views.value_view, name="value"),
    path("customers/", kpi_views.customers_view, name="customers"),
    path("tiers/", views.tiers_view, name="tiers"),
    path("complaints/", complaint_views.complaints_view, name="complaints"),
    path("surveys/", survey_views.responses_view, name="surveys"),
    path("surveys/<int:pk>/complaint/", survey_views.response_complaint_view, name="survey-complaint"),
    path("campaigns/", campaign_views.campaigns_view, name="campaigns"),
    path("campaigns/new/", campaign_views.campaign_new_view, name="campaign_new"),
    path("campaigns/<int:pk>/", campaign_views.campaign_view, name="campaign"),
]
