"""The loyalty API (v1): routes are registered below."""

urlpatterns = []
