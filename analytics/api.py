"""The analytics API (v1): routes are registered below."""

urlpatterns = []
