"""Pages customers open from a link, without logging in (the survey). Mounted at /s/."""

from django.urls import path

from analytics import survey_views

app_name = "analytics_public"
urlpatterns = [
    path("<str:token>/", survey_views.survey_public_view, name="survey"),
]
