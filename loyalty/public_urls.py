"""The page a customer opens from a club event invitation SMS, without logging
in (mounted at /loyalty/e/, namespace ``loyalty``)."""

from django.urls import path

from loyalty import public_views

urlpatterns = [
    path("<str:token>/", public_views.invitation_view, name="event-public"),
]
