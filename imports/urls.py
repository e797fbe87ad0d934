from django.urls import path

from imports import views

app_name = "imports"
urlpatterns = [
    path("", views.import_list_view, name="list"),
    path("<int:pk>/", views.import_job_view, name="job"),
    path("<int:pk>/mapping/", views.import_mapping_view, name="mapping"),
    path("<int:pk>/progress/", views.import_progress_view, name="progress"),
    path("<int:pk>/start/", views.import_start_view, name="start"),
    path("<int:pk>/refused.csv", views.import_refused_view, name="refused"),
]
