from django.urls import path

from loyalty import views

urlpatterns = [
    path("", views.dashboard_view, name="dashboard"),
]
