"""The production settings, with the benchmarks' reference view added to the URLs."""

from crm.settings.production import *  # noqa: F403
from crm.settings.production import env

ROOT_URLCONF = "bench._urls"
STATIC_ROOT = env("CRM_STATIC_ROOT", default=STATIC_ROOT)  # noqa: F405
