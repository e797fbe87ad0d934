"""Settings shared by every environment, read from the environment through one
``env`` object. Production requires its secrets (see production.py); local and
test fill in safe defaults so that ``make run`` and ``make test`` need nothing.
"""

from pathlib import Path

import environ
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=[])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_htmx",
    # Ours, lowest layer first (see DESIGN.md "Dependencies between apps").
    "crm",
    "customers",
    "vehicles",
    "service",
    "care",
    "complaints",
    "loyalty",
    "imports",
    "analytics",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"
AUTH_USER_MODEL = "crm.User"
AUTHENTICATION_BACKENDS = ["crm.auth.StoreModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.context_processors.calendar_warning",
            ],
        },
    },
]

# --- Database ---------------------------------------------------------------
# DATABASE_URL switches to PostgreSQL; the default is a SQLite file tuned for a
# web process and a Celery worker writing at the same time.
SQLITE_OPTIONS = {
    "timeout": 20,
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
}


def database_from_env(default_sqlite: Path) -> dict:
    db = env.db_url("DATABASE_URL", default=f"sqlite:///{default_sqlite}")
    if db["ENGINE"] == "django.db.backends.sqlite3":
        db["OPTIONS"] = {**SQLITE_OPTIONS, **db.get("OPTIONS", {})}
    else:
        db.setdefault("CONN_MAX_AGE", env.int("DJANGO_CONN_MAX_AGE", default=60))
        db.setdefault("CONN_HEALTH_CHECKS", True)
        # JIT compilation costs ~20 ms per query the planner thinks is big (a
        # store's queue), more than it saves on statements of this size.
        if env.bool("CRM_POSTGRES_JIT_OFF", default=True):
            options = db.setdefault("OPTIONS", {})
            options["options"] = f"{options.get('options', '')} -c jit=off".strip()
    return db


DATABASES = {"default": database_from_env(VAR_DIR / "db.sqlite3")}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- Language and time --------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env("CRM_TIME_ZONE", default="Asia/Shanghai")
USE_I18N = True
USE_TZ = True

# --- Static files -------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Uploaded files (the DMS imports): customers' data, never served as static
# files; kept on the server's disk (a volume in docker-compose).
MEDIA_ROOT = Path(env("CRM_MEDIA_ROOT", default=str(VAR_DIR / "media")))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Cache ----------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Celery -------------------------------------------------------------------
# Without a broker URL the embedded filesystem transport is used: a real worker
# and beat with no server to run (RECIPES.md "Celery without Redis").
CELERY_BROKER_DIR = Path(env("CRM_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    # kombu does not create its folders; web, worker and beat all read settings.
    for _folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / _folder).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        # Without this kombu writes its control exchange into the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
        "store_processed": False,
    }
CELERY_RESULT_BACKEND = env("CELERY_RESULT_BACKEND", default=None)
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"

# --- API ------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Integrations send a per-integration token (crm.api_auth); people use the
    # browsable API with their session. The token class comes first: it
    # answers a bad key with a 401 and a "WWW-Authenticate: Bearer".
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "crm.api_auth.ApiTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": [
        "rest_framework.permissions.IsAuthenticated",
        "crm.api_auth.ApiTokenWritePermission",
        # Last: it turns on Idempotency-Key for POSTs once every check passed (crm/idempotency.py).
        "crm.idempotency.IdempotencyKey",
    ],
    # Rates: CRM_API_TOKEN_RATE and CRM_API_ANON_RATE below.
    "DEFAULT_THROTTLE_CLASSES": [
        "crm.api_auth.ApiTokenRateThrottle",
        "crm.api_auth.ApiAnonRateThrottle",
    ],
    # Strict: an unknown query parameter, filter value or ordering is a 400 (crm/api.py).
    "DEFAULT_FILTER_BACKENDS": [
        "crm.api.StrictFilterBackend",
        "rest_framework.filters.SearchFilter",
        "crm.api.StrictOrderingFilter",
    ],
    # Cursor pages of 50, ``page_size`` up to 200.
    "DEFAULT_PAGINATION_CLASS": "crm.api.CursorPage",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Dealer CRM API",
    "DESCRIPTION": "After-sales CRM for car dealerships",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    # Served from our own static files: no CDN is reachable from a dealership LAN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        # Every POST documents the Idempotency-Key header.
        "crm.idempotency.schema_document_header",
    ],
    # Two choice sets share the field name "kind": each gets its own enum name.
    "ENUM_NAME_OVERRIDES": {
        "RepairOrderKindEnum": "service.models.RepairOrder.Kind",
        "InsurancePolicyKindEnum": "service.models.InsurancePolicy.Kind",
        # Choice sets of the higher apps' APIs that share a field name (channel, kind, status).
        "CustomerChannelEnum": "customers.models.Customer.Channel",
        "ContactChannelEnum": "care.models.Contact.Channel",
        "ComplaintChannelEnum": "complaints.models.Complaint.Channel",
        "ComplaintStatusEnum": "complaints.models.Complaint.Status",
        "SurveyChannelEnum": "analytics.models.Survey.Channel",
        "SurveyKindEnum": "analytics.models.Survey.Kind",
        "CampaignKindEnum": "analytics.models.Campaign.Kind",
    },
}

# --- Project knobs (CRM_*) ------------------------------------------------------
# API requests per token, and per client address without a session or a token
# (failed token attempts count there too): "<number>/<sec|min|hour|day>".
CRM_API_TOKEN_RATE = env("CRM_API_TOKEN_RATE", default="600/min")
CRM_API_ANON_RATE = env("CRM_API_ANON_RATE", default="60/min")
# Key for national ID numbers at rest (a Fernet key, or any passphrase, which
# is stretched into one) and for their keyed lookup hash.
CRM_FIELD_ENCRYPTION_KEY = env("CRM_FIELD_ENCRYPTION_KEY", default="")
CRM_ID_HASH_KEY = env("CRM_ID_HASH_KEY", default="")
CRM_DEFAULT_KM_PER_DAY = env.int("CRM_DEFAULT_KM_PER_DAY", default=40)
# Call touches of one customer within this many days are worked as one call.
CRM_CARE_MERGE_WINDOW_DAYS = env.int("CRM_CARE_MERGE_WINDOW_DAYS", default=7)
# Calls an advisor makes in a day unless admin sets their own (care.AdvisorCapacity).
CRM_CARE_DAILY_CALLS = env.int("CRM_CARE_DAILY_CALLS", default=40)
# How far ahead the morning plan spreads the calls that do not fit today, in working days.
CRM_CARE_PLAN_DAYS = env.int("CRM_CARE_PLAN_DAYS", default=30)
# Rules generated at once on PostgreSQL (one connection each); 1 = one after another.
CRM_CARE_PARALLEL_RULES = env.int("CRM_CARE_PARALLEL_RULES", default=3)
# Stores whose tiers are recomputed at once on PostgreSQL (one connection each).
CRM_TIER_PARALLEL = env.int("CRM_TIER_PARALLEL", default=2)
# A visit this many days after a touch counts as its conversion.
CRM_CARE_CONVERSION_DAYS = env.int("CRM_CARE_CONVERSION_DAYS", default=30)
# A booked or confirmed appointment not arrived this long after its slot is a no-show.
CRM_NO_SHOW_AFTER_MINUTES = env.int("CRM_NO_SHOW_AFTER_MINUTES", default=60)
# The public complaint form (/c/f/<store>/): complaints accepted per IP address
# and per mobile number within their windows (complaints.ratelimit); more is a 429.
CRM_COMPLAINT_PER_IP = env.int("CRM_COMPLAINT_PER_IP", default=5)
CRM_COMPLAINT_PER_IP_SECONDS = env.int("CRM_COMPLAINT_PER_IP_SECONDS", default=60 * 60)
CRM_COMPLAINT_PER_MOBILE = env.int("CRM_COMPLAINT_PER_MOBILE", default=3)
CRM_COMPLAINT_PER_MOBILE_SECONDS = env.int("CRM_COMPLAINT_PER_MOBILE_SECONDS", default=24 * 60 * 60)
# Reverse proxies in front of the web process that append to X-Forwarded-For;
# 0 (no proxy) takes REMOTE_ADDR as the client's address.
CRM_COMPLAINT_PROXY_HOPS = env.int("CRM_COMPLAINT_PROXY_HOPS", default=0)
# Where customers reach the public pages, e.g. https://crm.example.com: the
# stores' QR codes and the status links in acknowledgement SMS use it (staff
# often open the CRM by a LAN address customers cannot reach). Empty: a QR code
# takes the address the staff member's page was opened with.
CRM_COMPLAINT_PUBLIC_BASE_URL = env("CRM_COMPLAINT_PUBLIC_BASE_URL", default="")
# Lapsed-customer SMS surveys (analytics.surveys): at most this many a store and day.
CRM_SURVEY_LAPSED_PER_DAY = env.int("CRM_SURVEY_LAPSED_PER_DAY", default=20)

# --- Messages ------------------------------------------------------------------
# One backend per channel (dotted path), like Django's EMAIL_BACKEND. The
# default only records messages in the outbox: nothing leaves the machine.
_OUTBOX_ONLY = "care.messaging.backends.OutboxOnlyBackend"
CRM_MESSAGE_BACKENDS = {
    "sms": env("CRM_SMS_BACKEND", default=_OUTBOX_ONLY),
    "wechat": env("CRM_WECHAT_BACKEND", default=_OUTBOX_ONLY),
    "email": env("CRM_EMAIL_BACKEND", default=_OUTBOX_ONLY),
}
# Keyword arguments per backend class; secrets come from the environment.
CRM_MESSAGE_BACKEND_OPTIONS = {
    "care.messaging.aliyun.AliyunSmsBackend": {
        "access_key_id": env("CRM_ALIYUN_ACCESS_KEY_ID", default=""),
        "access_key_secret": env("CRM_ALIYUN_ACCESS_KEY_SECRET", default=""),
        "endpoint": env("CRM_ALIYUN_SMS_ENDPOINT", default="https://dysmsapi.aliyuncs.com/"),
    },
}
# No message leaves between these local times; held ones go at the end.
CRM_MESSAGE_QUIET_START = env("CRM_MESSAGE_QUIET_START", default="21:00")
CRM_MESSAGE_QUIET_END = env("CRM_MESSAGE_QUIET_END", default="08:00")
# At most this many marketing messages per customer within the window.
CRM_MARKETING_CAP_COUNT = env.int("CRM_MARKETING_CAP_COUNT", default=1)
CRM_MARKETING_CAP_DAYS = env.int("CRM_MARKETING_CAP_DAYS", default=7)
# Sender: rows claimed per batch, gateway calls at once, attempts before "failed".
CRM_OUTBOX_BATCH_SIZE = env.int("CRM_OUTBOX_BATCH_SIZE", default=200)
CRM_OUTBOX_CONCURRENCY = env.int("CRM_OUTBOX_CONCURRENCY", default=8)
CRM_OUTBOX_MAX_ATTEMPTS = env.int("CRM_OUTBOX_MAX_ATTEMPTS", default=8)
CRM_OUTBOX_RETRY_BASE_SECONDS = env.int("CRM_OUTBOX_RETRY_BASE_SECONDS", default=60)
# Token in the gateway's callback URLs (delivery reports, replies such as "TD").
CRM_SMS_WEBHOOK_TOKEN = env("CRM_SMS_WEBHOOK_TOKEN", default="")

# --- Weather ----------------------------------------------------------------------
CRM_WEATHER_PROVIDER = env("CRM_WEATHER_PROVIDER", default="care.weather.fixture.FixtureProvider")
CRM_WEATHER_OPTIONS = {
    "care.weather.fixture.FixtureProvider": {
        "path": env("CRM_WEATHER_FIXTURE", default=str(BASE_DIR / "care" / "weather" / "demo.json")),
    },
    "care.weather.qweather.QWeatherProvider": {
        "api_host": env("CRM_QWEATHER_API_HOST", default=""),
        "project_id": env("CRM_QWEATHER_PROJECT_ID", default=""),
        "key_id": env("CRM_QWEATHER_KEY_ID", default=""),
        "private_key": env("CRM_QWEATHER_PRIVATE_KEY", default=""),
    },
}.get(CRM_WEATHER_PROVIDER, {})
# Sudden change from the forecast: a fall of this many °C in a day, or this heat.
CRM_WEATHER_DROP_DEGREES = env.int("CRM_WEATHER_DROP_DEGREES", default=8)
CRM_WEATHER_HEAT_DEGREES = env.int("CRM_WEATHER_HEAT_DEGREES", default=35)

# --- Logging ----------------------------------------------------------------------
CRM_LOG_FORMAT = env("CRM_LOG_FORMAT", default="json")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": CRM_LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": env("CRM_LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
