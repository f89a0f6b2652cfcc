"""Settings, read from the environment. Every variable is documented in README.md.

Defaults are safe for a local run (SQLite under var/, DEBUG off unless asked, loopback only);
a production deployment sets DATABASE_URL, SECRET_KEY, ALLOWED_HOSTS and the e-mail settings.
"""

import os
from pathlib import Path

import dj_database_url
from csp.constants import NONCE, NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent


def envbool(name: str, default: str) -> bool:
    value = os.environ.get(name, default).strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def envint(name: str, default: str, low: int | None = None) -> int:
    value = os.environ.get(name, default)
    try:
        number = int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {value!r}") from exc
    if low is not None and number < low:
        raise ImproperlyConfigured(f"{name} must be at least {low}, not {number}")
    return number


def envfloat(name: str, default: str, low: float = 0.0, high: float = 1.0) -> float:
    """A number from `low` to `high` (a weight, a threshold): anything else stops the start."""
    value = os.environ.get(name, default)
    try:
        number = float(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a number from {low} to {high}, not {value!r}") from exc
    if not low <= number <= high:
        raise ImproperlyConfigured(f"{name} must be a number from {low} to {high}, not {value!r}")
    return number


def envlist(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = envbool("DEBUG", "false")
VAR_DIR = Path(os.environ.get("COOPMATRIX_VAR_DIR", PROJECT_DIR / "var"))

# A development key is generated once per checkout so that a local run needs no set-up;
# production must set SECRET_KEY (check --deploy says so when it is the local one).
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    key_file = VAR_DIR / "secret_key"
    if key_file.exists():
        SECRET_KEY = key_file.read_text().strip()
    else:
        from django.utils.crypto import get_random_string

        VAR_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_KEY = "local-" + get_random_string(60)
        key_file.write_text(SECRET_KEY)
        key_file.chmod(0o600)

ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "axes",
    "csp",
    "simple_history",
    "django_filters",
    "django_tables2",
    "django_htmx",
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "coopmatrix.core",
    "coopmatrix.geo",
    "coopmatrix.vocabulary",
    "coopmatrix.directory",
    "coopmatrix.treaties",
    "coopmatrix.matrix",
    "coopmatrix.overlaps",
    "coopmatrix.exchange",
    "coopmatrix.funding",
    "coopmatrix.accounts",
]

#: The largest file an import page reads (see core/uploads.py and the upload benchmark).
COOPMATRIX_UPLOAD_BYTES = int(os.environ.get("COOPMATRIX_UPLOAD_BYTES", str(10 * 1024 * 1024)))
FILE_UPLOAD_HANDLERS = [
    "coopmatrix.core.uploads.SizeLimitedUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]

MIDDLEWARE = [
    # First, so that its line per request times everything the others do.
    "coopmatrix.core.middleware.RequestLogMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Before sign-in is looked up: what the public is given, from the shared cache.
    "coopmatrix.core.public_cache.PublicCacheMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "coopmatrix.core.middleware.RefuseNulMiddleware",
    "coopmatrix.core.middleware.ApiJsonOnlyMiddleware",
    "coopmatrix.core.middleware.PrivateResponsesMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "coopmatrix.accounts.middleware.RequireTwoFactorMiddleware",
    # Axes last, as its documentation asks, so that it sees the final response of a sign-in.
    "axes.middleware.AxesMiddleware",
]

# Who records belong to and are shared with: core names these models only through settings (as
# Django's auth names AUTH_USER_MODEL), so that it knows no domain app.
COOPMATRIX_ORGANIZATION_MODEL = "directory.Organization"

#: The currency funding figures are reported in (ISO 4217); amounts in another currency are
#: converted at the rate of their date (coopmatrix/funding/money.py).
COOPMATRIX_REPORTING_CURRENCY = os.environ.get("COOPMATRIX_REPORTING_CURRENCY", "USD").strip().upper()
#: How many days a rate stays valid after its date when no later one is kept (UN operational
#: rates of exchange are set monthly): an older one is a missing rate, never a guess.
COOPMATRIX_RATE_VALID_DAYS = envint("COOPMATRIX_RATE_VALID_DAYS", "31", low=1)
COOPMATRIX_STATE_MODEL = "geo.State"

ROOT_URLCONF = "coopmatrix.urls"
WSGI_APPLICATION = "coopmatrix.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],  # overrides of third-party templates (allauth)
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "coopmatrix.core.context_processors.navigation",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'coopmatrix.sqlite3'}"),
        # Persistent connections: opening a PostgreSQL connection costs more than most pages' queries.
        conn_max_age=envint("DATABASE_CONN_MAX_AGE", "60"),
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets readers go on while the loader writes; the timeout rides out short write locks.
    # IMMEDIATE: a transaction takes the write lock when it begins. A transaction that read first
    # and wrote later would fail at once ("database is locked") if another connection (a web
    # request, a worker's heartbeat) wrote in between.
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "init_command": "PRAGMA journal_mode=WAL;", "transaction_mode": "IMMEDIATE"}
    )
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Several web servers and workers share one database and nothing else: the cache (allauth's rate
# limits) is a table of that database, as are the sessions, Axes' failure counts and the jobs.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.db.DatabaseCache",
        "LOCATION": "coopmatrix_cache",
        "OPTIONS": {"MAX_ENTRIES": envint("CACHE_MAX_ENTRIES", "5000")},
    }
}
# What the public is given (API answers and pages, asked with no session) is kept in that cache under
# the data generation, which every committed write moves (core/public_cache.py): none outlives its
# data. 0 keeps none.
PUBLIC_CACHE_SECONDS = envint("PUBLIC_CACHE_SECONDS", "300")
PUBLIC_CACHE_MAX_BYTES = envint("PUBLIC_CACHE_MAX_BYTES", "1000000")
#: Addresses never answered from it: sign-in, one's own pages, the administration, health.
PUBLIC_CACHE_SKIP = ("/accounts/", "/me/", "/admin/", "/healthz", "/static/", "/media/", "/i18n/")
#: Tables whose rows no answer holds: a write to them leaves the cached answers in place.
PUBLIC_CACHE_IGNORED_TABLES = (
    "coopmatrix_cache",
    "django_session",
    "axes_accessattempt",
    "axes_accessfailurelog",
    "axes_accesslog",
    "axes_accessattemptexpiration",
    "core_job",
    "core_scheduledrun",
    "core_pendingimport",
    "django_tasks_database_dbtaskresult",
    "accounts_apitoken",
)

# Background jobs (core/jobs.py): django-tasks' database backend, so that the queue lives in the
# database already there (PostgreSQL in production, SQLite on a local run) and `coopmatrix worker`
# runs on any number of machines. Each worker also keeps the jobs' heartbeats, retries or fails
# the jobs of a worker that died, and starts the scheduled jobs (COOPMATRIX_SCHEDULE).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
#: A running job whose worker has not been heard of for this long is retried, then failed.
JOB_STALE_SECONDS = envint("JOB_STALE_SECONDS", "300")
#: How often a worker writes the heartbeat and progress of its job, and looks for stale ones.
JOB_HEARTBEAT_SECONDS = float(os.environ.get("JOB_HEARTBEAT_SECONDS", "2"))
#: How many times a job is tried before it is marked failed (a retry follows a dead worker only).
JOB_ATTEMPTS = envint("JOB_ATTEMPTS", "2")
#: A job that ran longer than this e-mails its user when it ends (0: always).
JOB_EMAIL_AFTER_SECONDS = envint("JOB_EMAIL_AFTER_SECONDS", "30")
#: Scheduled jobs: (job kind, when). "monthly 1 06:00" = the 1st of each month at 06:00 (TIME_ZONE),
#: "daily 06:00", "weekly mon 06:00". Set COOPMATRIX_SCHEDULE_OFF=true to start none.
COOPMATRIX_SCHEDULE = (
    []
    if envbool("COOPMATRIX_SCHEDULE_OFF", "false")
    else [
        ("monthly_matrix_mailing", "monthly 1 06:00"),
        ("saved_view_digests", "daily 06:30"),
        ("stale_contacts_report", "monthly 1 07:00"),
        ("prune_task_results", "daily 03:00"),
    ]
)

AUTHENTICATION_BACKENDS = [
    # Axes first: it refuses a locked-out person before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Sign-in: accounts are created by administrators, never by self sign-up.
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "home"
ACCOUNT_LOGOUT_REDIRECT_URL = "home"
ACCOUNT_LOGIN_METHODS = {"username", "email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "username*", "password1*", "password2*"]
ACCOUNT_ADAPTER = "coopmatrix.accounts.adapter.AccountAdapter"
ACCOUNT_EMAIL_VERIFICATION = "none"
ACCOUNT_LOGIN_ON_PASSWORD_RESET = False
# allauth's rate limits: failed sign-ins and second-factor codes, per address and per account
# (a code guessed 200 times is refused long before). Axes locks an account after
# AXES_FAILURE_LIMIT failures first; these limits are higher so that its page says why.
ACCOUNT_RATE_LIMITS = {"login_failed": "10/m/ip,10/5m/key"}
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "coopmatrix"

AXES_FAILURE_LIMIT = envint("AXES_FAILURE_LIMIT", "5")
AXES_COOLOFF_TIME = envint("AXES_COOLOFF_MINUTES", "30") / 60  # hours
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_USERNAME_CALLABLE = "coopmatrix.accounts.lockout.login_name"
AXES_LOCKOUT_TEMPLATE = "accounts/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

API_TOKEN_DEFAULT_DAYS = envint("API_TOKEN_DEFAULT_DAYS", "90")
# A request still open this many days after it was received, with no answering activity,
# is shown as unanswered (issue 4).
REQUEST_UNANSWERED_DAYS = envint("REQUEST_UNANSWERED_DAYS", "90")
# Possible overlaps (issue 17, README "Overlap and gaps"): the weight of each part of the score
# (each from 0 to 1; the score is their weighted mean), the score from which a pair is kept and
# shown, the move of the score that asks a reviewed pair again, and the most activities the
# database proposes to the score for one activity.
OVERLAP_WEIGHTS = {
    "states": envfloat("OVERLAP_WEIGHT_STATES", "0.25"),
    "months": envfloat("OVERLAP_WEIGHT_MONTHS", "0.20"),
    "areas": envfloat("OVERLAP_WEIGHT_AREAS", "0.15"),
    "instruments": envfloat("OVERLAP_WEIGHT_INSTRUMENTS", "0.10"),
    "modality": envfloat("OVERLAP_WEIGHT_MODALITY", "0.10"),
    "text": envfloat("OVERLAP_WEIGHT_TEXT", "0.20"),
}
# 0.8: on the labelled set of benchmarks/bench_overlaps.py, the same work recorded again scores
# 0.84 and more, other work in the same States and months 0.77 at most.
OVERLAP_THRESHOLD = envfloat("OVERLAP_THRESHOLD", "0.8")
OVERLAP_REASK_MARGIN = envfloat("OVERLAP_REASK_MARGIN", "0.1")
#: The strongest pairs kept for each activity: in a dense matrix (a State and an area that receive
#: thousands of activities a year) one activity can score at the threshold with hundreds; a
#: reviewer reads the strongest, and a pair stays while either of its two keeps it. Ten, where it
#: was twenty: over the benchmark's million activities, 5.8 million pairs where twenty kept 9.3
#: million, and the full computation within 1 GB with a worker per core (benchmarks/RESULTS.md).
OVERLAP_KEEP = envint("OVERLAP_KEEP", "10", low=1)
#: Threads the full computation sweeps in (`coopmatrix find_overlaps`): one per core by default.
#: Each keeps its own strongest pairs until they are merged: some 12 bytes × OVERLAP_KEEP for each
#: activity, a worker.
OVERLAP_WORKERS = envint("OVERLAP_WORKERS", str(os.cpu_count() or 1), low=1)
# Gaps (issue 17): the days an open request may wait, counted from its receipt, before it is
# listed as overdue, for each stage it waits at.
GAP_OVERDUE_DAYS = {
    "waiting_referral": envint("GAP_DAYS_WAITING_REFERRAL", "30"),
    "referred_unanswered": envint("GAP_DAYS_REFERRED_UNANSWERED", "60"),
    "accepted_no_activity": envint("GAP_DAYS_ACCEPTED_NO_ACTIVITY", "120"),
}
#: A directory entry not verified for this many months is flagged stale.
CONTACT_STALE_MONTHS = envint("CONTACT_STALE_MONTHS", "12")
#: How long a verification link sent by e-mail stays usable.
VERIFICATION_LINK_DAYS = envint("VERIFICATION_LINK_DAYS", "14")

LANGUAGE_CODE = "en"
LANGUAGES = [("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)
# Media files (jobs' result files) on the filesystem, or in an S3-compatible store through
# django-storages (MEDIA_STORAGE=s3 and the AWS_* variables of README's "Deploying").
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
MEDIA_STORAGE = os.environ.get("MEDIA_STORAGE", "filesystem")
if MEDIA_STORAGE not in ("filesystem", "s3"):
    raise ImproperlyConfigured(f"MEDIA_STORAGE must be filesystem or s3, not {MEDIA_STORAGE!r}")
if MEDIA_STORAGE == "s3":
    AWS_STORAGE_BUCKET_NAME = os.environ.get("AWS_STORAGE_BUCKET_NAME", "")
    if not AWS_STORAGE_BUCKET_NAME:
        raise ImproperlyConfigured("MEDIA_STORAGE=s3 needs AWS_STORAGE_BUCKET_NAME")
    AWS_S3_ENDPOINT_URL = os.environ.get("AWS_S3_ENDPOINT_URL") or None
    AWS_S3_REGION_NAME = os.environ.get("AWS_S3_REGION_NAME") or None
    AWS_ACCESS_KEY_ID = os.environ.get("AWS_ACCESS_KEY_ID") or None
    AWS_SECRET_ACCESS_KEY = os.environ.get("AWS_SECRET_ACCESS_KEY") or None
    # Result files are private: never a public ACL, always a signed, short-lived address.
    AWS_DEFAULT_ACL = None
    AWS_QUERYSTRING_AUTH = True
    AWS_QUERYSTRING_EXPIRE = 300
    AWS_S3_FILE_OVERWRITE = False
MEDIA_BACKEND = (
    "storages.backends.s3.S3Storage"
    if MEDIA_STORAGE == "s3"
    else "django.core.files.storage.FileSystemStorage"
)
STORAGES = {
    "default": {"BACKEND": MEDIA_BACKEND},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if envbool("STATIC_MANIFEST", "false")
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not envbool("STATIC_MANIFEST", "false")

EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = envint("EMAIL_PORT", "25")
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = envbool("EMAIL_USE_TLS", "false")
EMAIL_USE_SSL = envbool("EMAIL_USE_SSL", "false")
#: With EMAIL_BACKEND=django.core.mail.backends.filebased.EmailBackend: where each e-mail is written.
EMAIL_FILE_PATH = os.environ.get("EMAIL_FILE_PATH", str(VAR_DIR / "mail"))
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "coopmatrix@localhost")
#: The site's address as its users reach it, for links in e-mails (saved views' digests).
SITE_URL = os.environ.get("COOPMATRIX_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

SECURE_PROXY_SSL_HEADER = (
    ("HTTP_X_FORWARDED_PROTO", "https") if envbool("BEHIND_TLS_PROXY", "false") else None
)
SESSION_COOKIE_SECURE = envbool("SECURE_COOKIES", "false")
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_SSL_REDIRECT = envbool("SECURE_SSL_REDIRECT", "false")
SECURE_HSTS_SECONDS = envint("SECURE_HSTS_SECONDS", "0")
SECURE_HSTS_INCLUDE_SUBDOMAINS = SECURE_HSTS_SECONDS > 0
SECURE_HSTS_PRELOAD = SECURE_HSTS_SECONDS > 0
SECURE_CONTENT_TYPE_NOSNIFF = True
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"

# Content-Security-Policy (django-csp): scripts and styles from coopmatrix's own static files
# only, never inline. What must stay inline takes the request's nonce
# (`{{ request.csp_nonce }}`), which django-csp adds to the header only when a page uses it.
# Images may be data: URIs (the favicon, the QR code of two-factor enrolment).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF, NONCE],
        "style-src": [SELF, NONCE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

DJANGO_TABLES2_TEMPLATE = "core/table.html"
DJANGO_TABLES2_TABLE_ATTRS = {"class": "table"}

NINJA_PAGINATION_PER_PAGE = 50
NINJA_PAGINATION_MAX_LIMIT = 1000

# Logs: one JSON line per request and per job (coopmatrix.requests, coopmatrix.jobs) with the
# user's id, never a name, an address or what was searched; LOG_FORMAT=text for people.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "json")
if LOG_FORMAT not in ("json", "text"):
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or text, not {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
        "text": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": LOG_FORMAT}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    "loggers": {
        "coopmatrix.requests": {"level": os.environ.get("REQUEST_LOG_LEVEL", "INFO")},
        "coopmatrix.jobs": {"level": "INFO"},
        # Django's own line per request would repeat ours, without the user.
        "django.server": {"level": "WARNING"},
    },
}

# Lockout is per account (Axes W006 asks for the IP address too): many users of one ministry or
# organization share an address, and one person's typos must not lock all of them out.
# Models W040: the overlaps' lookup index carries two columns for PostgreSQL (INCLUDE) that SQLite
# leaves out, on purpose (overlaps.models.Block); the warning told every `make run` on SQLite.
SILENCED_SYSTEM_CHECKS = ["axes.W006", "models.W040"]
