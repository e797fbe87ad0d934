from django.urls import path

from care import views

app_name = "care"
urlpatterns = [
    path("queue/", views.queue_view, name="queue"),
]
