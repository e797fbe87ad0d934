from django.urls import path

from service import views

app_name = "service"
urlpatterns = [
    path("", views.appointment_list_view, name="appointments"),
    path("<int:pk>/arrived/", views.appointment_arrived_view, name="appointment-arrived"),
]
