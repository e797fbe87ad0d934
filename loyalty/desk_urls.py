from django.urls import path

from loyalty import desk_views

urlpatterns = [
    path("", desk_views.desk_view, name="desk"),
]
