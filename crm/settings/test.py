"""``make test``: PostgreSQL/Redis when DATABASE_URL/REDIS_URL are set, else SQLite."""

from .base import *  # noqa: F403
from .base import VAR_DIR, database_from_env, env

DEBUG = False
SECRET_KEY = "test-only-secret-key"
ALLOWED_HOSTS = ["testserver", "localhost", "127.0.0.1"]
CRM_FIELD_ENCRYPTION_KEY = "test-only-field-key"
CRM_ID_HASH_KEY = "test-only-hash-key"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
LANGUAGE_CODE = "zh-hans"

DATABASES = {"default": database_from_env(VAR_DIR / "test.sqlite3")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a worker in a subprocess sees the test DB.
    # CRM_TEST_DB_SUFFIX keeps parallel runs (two checkouts, two shells) apart.
    suffix = env("CRM_TEST_DB_SUFFIX", default="")
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-db{suffix}.sqlite3")}

LOGGING["root"]["level"] = "WARNING"  # noqa: F405
LOGGING["handlers"]["console"]["formatter"] = "plain"  # noqa: F405
# The test broker gets its own folders, apart from make run's.
CELERY_BROKER_DIR = VAR_DIR / "test-broker"
if CELERY_BROKER_URL.startswith("filesystem://"):  # noqa: F405
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Without this kombu writes its control exchange into the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)

# Whitenoise serves from the finders here; it only wants STATIC_ROOT to exist.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = True
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # noqa: F405
