"""Admin of the analytics app: surveys and their answers, campaigns, and the
rollups' runs (read-only: the figures are the nightly job's)."""

from django.contrib import admin  # noqa: F401

# Campaigns: read-only, registered in their own module.
from analytics import campaigns_admin  # noqa: F401

# The rollups' runs: read-only, registered in their own module.
from analytics.rollups import admin as rollups_admin  # noqa: F401

# Surveys and their answers: read-only, registered in their own module.
from analytics.surveys import admin as surveys_admin  # noqa: F401
