"""The complaints API (v1): routes are registered below."""

urlpatterns = []
