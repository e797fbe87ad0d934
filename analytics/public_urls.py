"""Pages customers open from a link, without logging in (the survey)."""

app_name = "analytics_public"
urlpatterns: list = []
