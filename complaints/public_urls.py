"""Pages customers open without logging in: the complaint form of a store and
the status of their case. Mounted at /c/ (short, for SMS and QR codes)."""

from django.urls import path

from complaints import public

app_name = "complaints-public"
urlpatterns = [
    path("s/<str:token>/", public.status_view, name="status"),
]
