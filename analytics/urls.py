from django.urls import path

from analytics import complaint_views, views

app_name = "analytics"
urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
    path("complaints/", complaint_views.complaints_view, name="complaints"),
]
