"""The production settings, with the benchmarks' reference view added to the URLs."""

from crm.settings.production import *  # noqa: F403
from crm.settings.production import env

ROOT_URLCONF = "bench._urls"
STATIC_ROOT = env("CRM_STATIC_ROOT", default=STATIC_ROOT)  # noqa: F405
# The KPI pages' rendered figures, cached per nightly run (bench/dashboards_load.py --cache).
CRM_KPI_CACHE_SECONDS = env.int("CRM_KPI_CACHE_SECONDS", default=0)
