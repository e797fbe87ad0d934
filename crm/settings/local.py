"""``make run``: debug on, SQLite and the embedded broker unless told otherwise."""

from .base import *  # noqa: F403
from .base import env

DEBUG = env.bool("DJANGO_DEBUG", default=True)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="local-only-insecure-key-do-not-deploy")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])
CRM_FIELD_ENCRYPTION_KEY = env("CRM_FIELD_ENCRYPTION_KEY", default="local-only-field-key")
CRM_ID_HASH_KEY = env("CRM_ID_HASH_KEY", default="local-only-hash-key")
LOGGING["handlers"]["console"]["formatter"] = env("CRM_LOG_FORMAT", default="plain")  # noqa: F405

# Whitenoise serves from the finders here; it only wants STATIC_ROOT to exist.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405

# The managers' weekly digest and other mail: printed to the console unless told otherwise.
EMAIL_BACKEND = env("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
