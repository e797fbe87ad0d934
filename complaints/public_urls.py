"""Pages customers open without logging in: the complaint form of a store and
the status of their case. Mounted at /c/ (short, for SMS and QR codes). The
store's printable QR code sits beside its form, for staff only."""

from django.urls import path

from complaints import public

app_name = "complaints-public"
urlpatterns = [
    path("f/<slug:code>/", public.form_view, name="form"),
    path("f/<slug:code>/qr/", public.qr_view, name="qr"),
    path("s/<str:token>/", public.status_view, name="status"),
]
