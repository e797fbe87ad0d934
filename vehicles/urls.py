from django.urls import path

from vehicles import views

app_name = "vehicles"
urlpatterns = [
    path("<int:pk>/", views.vehicle_detail_view, name="detail"),
    path("<int:pk>/edit/", views.vehicle_edit_view, name="edit"),
]
