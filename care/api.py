"""The care API (v1): routes are registered below."""

urlpatterns = []
