"""Admin of the analytics app: surveys and their answers, campaigns, and the
rollups' runs (read-only: the figures are the nightly job's)."""

from django.contrib import admin  # noqa: F401
