"""Settings for Comunas, read from the environment (see .env.example for every variable).

With no environment at all the app runs on an embedded default: SQLite, an in-process cache and
Celery's filesystem broker, so `make run` needs no server. DATABASE_URL and REDIS_URL switch to
PostgreSQL and Redis.
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Development only: a fixed, obviously unsafe key so sessions survive restarts.
    SECRET_KEY = "django-insecure-development-key-never-use-in-production"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# How many proxies in front append to X-Forwarded-For (0: use the connection's address).
TRUSTED_PROXY_HOPS = int(os.environ.get("TRUSTED_PROXY_HOPS", "0"))
# The rate limits "per address" count per client address too: without this, behind the load
# balancer every visitor shares the balancer's address, and a limit reached locks out everyone.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_HOPS

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "allauth",
    "allauth.account",
    "allauth.mfa",
    "django_htmx",
    "audit",
    "outbox",
    "accounts",
    "communes",
    "consultations",
    "voting",
    "funding",
    "cycle",  # the round's lifecycle, above the apps it drives
    "demo",  # the top layer: the demo data, built through every app's services
]

MIDDLEWARE = [
    "config.request_log.RequestLogMiddleware",  # first: times the whole stack, sees the status
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "config.middleware.SiteLanguageMiddleware",
    "config.limits.RequestLimitsMiddleware",  # hostile input: before anything reads the body
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "allauth.account.middleware.AccountMiddleware",
    "accounts.middleware.StaffSecurityMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.AuditContextMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "django.template.context_processors.csp",
                "accounts.context_processors.navigation",
            ],
        },
    },
]

DATABASE_URL = os.environ.get("DATABASE_URL", "")
if not DATABASE_URL:
    VAR_DIR.mkdir(parents=True, exist_ok=True)  # the embedded default keeps its file here
DATABASES = {
    "default": dj_database_url.parse(
        DATABASE_URL or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
        conn_max_age=int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        # No health check: it costs a round trip per request. A connection the database dropped
        # fails one request, then Django closes it at the request's end.
        conn_health_checks=False,
    )
}
if DATABASES["default"]["ENGINE"].endswith("postgresql"):
    # Django's cursors bind on the client and never prepare; this lets the few statements run on
    # a psycopg cursor of their own (the vote) be prepared once per connection.
    DATABASES["default"]["OPTIONS"] = {"prepare_threshold": 5}
elif DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # The embedded database as a real one, for the web, the worker and the beat alike (they all
    # read these settings). A transaction takes the write lock when it begins (IMMEDIATE), so
    # concurrent writers queue for up to SQLITE_BUSY_TIMEOUT seconds instead of failing at once
    # with "database is locked" when a reader tries to become a writer; the write-ahead log lets
    # pages be read while one writer writes; synchronous=NORMAL is safe with WAL (a power cut may
    # lose the last commits, never corrupt the file) and spares an fsync per commit.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": float(os.environ.get("SQLITE_BUSY_TIMEOUT", "20")),
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "config.cache.ResilientRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": os.environ.get("CACHE_KEY_PREFIX", "comunas"),
            # A Redis that hangs must not hang the site: the cache misses (ResilientRedisCache).
            "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        }
    }
    # Sessions are read from Redis (one round trip that the database does not pay for on every
    # request) and written through to the database, which stays the reference.
    SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
else:
    # The embedded stack: one cache for every process (gunicorn's workers, the Celery worker and
    # the beat): rate limits must count once, and the urns' key shares typed in on a page are
    # read by the count in the worker. It lives in the SQLite file, in a table `migrate` makes
    # (accounts/apps.py); nothing on the vote's path reads or writes it.
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.db.DatabaseCache",
            "LOCATION": "comunas_cache",
            "OPTIONS": {"MAX_ENTRIES": 100_000},
        }
    }

AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "allauth.account.auth_backends.AuthenticationBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "account_login"
LOGIN_REDIRECT_URL = "accounts:home-for-user"
LOGOUT_REDIRECT_URL = "home"

# django-allauth: people sign in with their email address, which they must confirm.
ACCOUNT_LOGIN_METHODS = {"email"}
ACCOUNT_SIGNUP_FIELDS = ["email*", "password1*", "password2*"]
ACCOUNT_USER_MODEL_USERNAME_FIELD = None
ACCOUNT_EMAIL_VERIFICATION = "mandatory"
ACCOUNT_CONFIRM_EMAIL_ON_GET = False
ACCOUNT_LOGIN_ON_EMAIL_CONFIRMATION = True
ACCOUNT_EMAIL_SUBJECT_PREFIX = "[Comunas] "
ACCOUNT_LOGOUT_ON_PASSWORD_CHANGE = False

# Two-factor authentication (TOTP and recovery codes); staff cannot open a staff page without it.
MFA_ADAPTER = "accounts.adapters.MFAAdapter"
MFA_SUPPORTED_TYPES = ["totp", "recovery_codes"]
MFA_TOTP_ISSUER = "Comunas"

# Staff sessions end after this much inactivity; residents' last the default two weeks.
STAFF_SESSION_IDLE_SECONDS = int(os.environ.get("STAFF_SESSION_IDLE_SECONDS", str(30 * 60)))

# Rate limits (django-allauth's limiter, which also serves our own actions): "count/period/scope".
ACCOUNT_ADAPTER = "accounts.adapters.AccountAdapter"
ACCOUNT_RATE_LIMITS = {
    # Signing in (issue 18): many residents share one address (an infocentro, a school's lab, a
    # phone company's), so no sign-in is refused for its address; accounts/signin_limits.py slows
    # an address past its allowance instead and raises the alarm on one address failing across
    # many accounts. Failures are limited per account ("key": the email address), wherever they
    # come from: ten wrong passwords lock that account for fifteen minutes.
    "login": "",
    "login_failed": "10/15m/key",
    "signup": "10/m/ip",
    "reset_password": "10/m/ip,3/5m/key",
    "reset_password_from_key": "20/m/ip",
    "change_password": "5/m/user",
    "confirm_email": "1/3m/key",
    # Ours: the census claim must not let anyone enumerate cédulas and birth dates; the public
    # receipt check must not be scraped. The online vote has no limit: it needs a verified
    # resident's session and is recorded once, and a repeat is refused by one indexed query,
    # cheaper than the limiter's four cache round trips; a limit per address would also turn away
    # everyone behind one carrier-grade NAT or one infocentro on voting day (allauth's limiter
    # makes all requests from one address wait on one cache lock). See bench/votes.py.
    "census_claim": "5/h/user,20/h/ip",
    "receipt_check": "30/m/ip",
    # ¿Dónde voto? tells where a cédula votes: enough for anyone looking up their own or their
    # family's, too few to walk through the cédulas of a town (cédulas are serial numbers).
    "where_to_vote": "10/m/ip,100/h/ip",
}
# Networks whose addresses many residents share on purpose (infocentros, voting centres), in CIDR
# notation, comma-separated: they get the "trusted" allowances below.
TRUSTED_NETWORKS = env_list("TRUSTED_NETWORKS")
# Per address, per sign-in: how many a minute go through at once, how many failures in ten
# minutes before each sign-in is slowed too, and how many different accounts failing within ten
# minutes raise the alarm (accounts/signin_limits.py).
SIGNIN_LIMITS = {
    "address": {
        "signins_per_minute": int(os.environ.get("SIGNIN_PER_ADDRESS_PER_MINUTE", "300")),
        "failures_per_window": int(os.environ.get("SIGNIN_FAILURES_PER_ADDRESS", "100")),
        "alarm_accounts": int(os.environ.get("SIGNIN_ALARM_ACCOUNTS", "30")),
    },
    "trusted": {
        "signins_per_minute": int(os.environ.get("SIGNIN_TRUSTED_PER_MINUTE", "3000")),
        "failures_per_window": int(os.environ.get("SIGNIN_TRUSTED_FAILURES", "1000")),
        "alarm_accounts": int(os.environ.get("SIGNIN_TRUSTED_ALARM_ACCOUNTS", "150")),
    },
}
# Past an allowance a sign-in waits this long, plus as much again for each allowance exceeded,
# up to the maximum.
SIGNIN_SLOWDOWN_SECONDS = float(os.environ.get("SIGNIN_SLOWDOWN_SECONDS", "1"))
SIGNIN_SLOWDOWN_MAX_SECONDS = float(os.environ.get("SIGNIN_SLOWDOWN_MAX_SECONDS", "5"))

LANGUAGE_CODE = "es"
LANGUAGES = [("es", _("Spanish")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "America/Caracas"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", VAR_DIR / "static"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}
MEDIA_URL = "/media/"
MEDIA_ROOT = Path(os.environ.get("MEDIA_ROOT", VAR_DIR / "media"))
# A round without commissioners (the demo's 1 of 1) keeps the server's only key share here,
# outside the database (DESIGN.md §4); back this folder up apart.
URN_KEY_DIR = Path(os.environ.get("URN_KEY_DIR", VAR_DIR / "urn-keys"))
# Precomputed ballots each process keeps ready per ballot length (2.4 KB each; 0: none).
URN_POOL_SIZE = int(os.environ.get("URN_POOL_SIZE", "300"))
# The count is split into parts of this many communes, each a job any worker takes (5,340
# communes: 22 parts); a round of no more communes is counted in one part, in the count's job.
COUNT_CHUNK_COMMUNES = int(os.environ.get("COUNT_CHUNK_COMMUNES", "250"))
# Whether a round may open voting with the server's own key (no commissioners, or k < 2)
# without an admin recording why: yes on the embedded demo, no with a real database unless
# said so (the test suite says so: its rounds are 1 of 1).
URN_SINGLE_KEY_ALLOWED = os.environ.get(
    "URN_SINGLE_KEY_ALLOWED", "1" if not os.environ.get("DATABASE_URL") else "0"
) in ("1", "true", "yes")

# Outgoing email (Django 6.1's MAILERS): SMTP when EMAIL_HOST is set, otherwise the console.
if os.environ.get("EMAIL_HOST"):
    MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {
                "host": os.environ["EMAIL_HOST"],
                "port": int(os.environ.get("EMAIL_PORT", "587")),
                "username": os.environ.get("EMAIL_HOST_USER", ""),
                "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
                "use_tls": env_bool("EMAIL_USE_TLS", True),
                "timeout": 20,
            },
        }
    }
else:
    MAILERS = {"default": {"BACKEND": "django.core.mail.backends.console.EmailBackend"}}
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "Comunas <no-responder@comunas.invalid>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL

# Security: production values whenever DEBUG is off; each can be relaxed behind a proxy that
# already does it (for example SECURE_SSL_REDIRECT=0 when TLS ends at the load balancer).
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
# The load balancer probes /healthz over plain HTTP on the node's own port.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "0" if DEBUG else "31536000"))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
LANGUAGE_COOKIE_SECURE = SESSION_COOKIE_SECURE
LANGUAGE_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
# Content Security Policy: our own scripts and styles only; an inline script needs the nonce.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "frame-ancestors": [CSP.NONE],
    "form-action": [CSP.SELF],
}
# Uploads (minutes, receipts, photos) are refused above this size.
UPLOAD_MAX_BYTES = 10 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024  # form fields other than files
# Hostile input (config/limits.py): a multipart body above this is refused (413) before it is
# read: the largest form's files (a progress update's five photos) and its fields.
UPLOAD_MAX_REQUEST_BYTES = 5 * UPLOAD_MAX_BYTES + DATA_UPLOAD_MAX_MEMORY_SIZE

# Celery: Redis when REDIS_URL is set, otherwise a filesystem broker that needs no server.
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL") or REDIS_URL or "filesystem://"
if CELERY_BROKER_URL == "filesystem://":
    _broker_dir = VAR_DIR / "celery-broker"
    (_broker_dir / "processed").mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir),
        "data_folder_out": str(_broker_dir),
        "processed_folder": str(_broker_dir / "processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
# The beat schedule lives in code (django-celery-beat does not support Django 6.1); the dates of
# each round live in our own tables. The cycle's tick moves the rounds whose dates have come,
# retries unfinished counts and allocates published rounds' winners (cycle/services.py).
CELERY_BEAT_SCHEDULE = {
    "cycle-advance-due": {
        "task": "cycle.tasks.rounds_advance_due_task",
        "schedule": float(os.environ.get("CYCLE_TICK_SECONDS", "60")),
    },
    "cycle-propose-next": {
        "task": "cycle.tasks.round_propose_next_task",
        "schedule": 6 * 60 * 60,
    },
    "outbox-flush": {
        "task": "outbox.tasks.pending_jobs_flush_task",
        "schedule": float(os.environ.get("CYCLE_TICK_SECONDS", "60")),
    },
    "accounts-clear-expired-sessions": {
        "task": "accounts.tasks.sessions_clear_expired_task",
        "schedule": 60 * 60,
    },
}
# Money: a new disbursement request needs receipts covering this share of what was already
# disbursed to the project; requests above this amount need two approvers of the paying source.
FUNDING_RECEIPTS_SHARE = float(os.environ.get("FUNDING_RECEIPTS_SHARE", "0.8"))
FUNDING_TWO_APPROVALS_ABOVE_USD = float(os.environ.get("FUNDING_TWO_APPROVALS_ABOVE_USD", "5000"))

# When the next quarter's round is proposed, its dates: (days after the quarter starts, hour).
CONSULTATION_CALENDAR = {
    "assemblies_open_at": (7, 8),
    "validation_opens_at": (35, 8),
    "voting_opens_at": (55, 7),
    "voting_closes_at": (55, 18),
    "tally_deadline_at": (58, 18),
}

# Logs: one JSON object a line (LOG_FORMAT=json, the default when DEBUG is off) for the log
# collector, or plain lines for a person at a terminal (the default with DEBUG, `make run`).
# Every record, Django's and Celery's included, passes a filter that blanks cédulas and email
# addresses and is stamped with its request's id (config/logging.py); requests and jobs log one
# structured line each (config/request_log.py, config/celery.py).
LOG_FORMAT = os.environ.get("LOG_FORMAT", "") or ("plain" if DEBUG else "json")
if LOG_FORMAT not in {"plain", "json"}:
    raise ImproperlyConfigured("LOG_FORMAT must be plain or json.")
LOG_LEVEL = os.environ.get("LOG_LEVEL", "INFO")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_context": {"()": "config.logging.RequestContextFilter"},
        "personal_data": {"()": "config.logging.PersonalDataFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "config.logging.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_context", "personal_data"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    # Django's loggers come with handlers of their own (django.utils.log.DEFAULT_LOGGING) that
    # would print unfiltered lines: theirs go to the root's handler instead. runserver's line per
    # request (with the whole query string) gives way to ours.
    "loggers": {
        "django": {"handlers": [], "level": LOG_LEVEL, "propagate": True},
        "django.server": {"handlers": [], "level": "ERROR", "propagate": True},
    },
}

# Directory pages: how many communes one page lists, and the most a visitor may ask for.
DIRECTORY_PAGE_SIZE = 20
DIRECTORY_MAX_PAGE_SIZE = 100

# --- Voting day at national scale (issue 15): sign-in cost, read replica, connection pooler ---
# Passwords: Argon2id at OWASP's settings first (accounts/hashers.py); older hashes are still
# checked with their own hasher and stored again with the first at the person's next sign-in.
PASSWORD_HASHERS = [
    "accounts.hashers.Argon2idPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
]
# The signed-in person is loaded by one fixed statement (accounts/backends.py); Django's own
# backend stays listed so sessions signed in before keep working.
AUTHENTICATION_BACKENDS = ["accounts.backends.ModelBackend", *AUTHENTICATION_BACKENDS]
# Behind the load balancer the sign-in's rate limits (allauth) must count the visitor's address,
# as the audit trail does, not the balancer's: otherwise one limit would cover everybody.
ALLAUTH_TRUSTED_PROXY_COUNT = TRUSTED_PROXY_HOPS

# A streaming replica for the public pages (replica/): results, open data, the money
# trail and the directory read it; everything else, and every visitor's reads until the replica
# has replayed their last write, the primary. Unset: everything reads the primary.
DATABASE_REPLICA_URL = os.environ.get("DATABASE_REPLICA_URL", "")
if DATABASE_REPLICA_URL:
    DATABASES["replica"] = dj_database_url.parse(
        DATABASE_REPLICA_URL,
        conn_max_age=DATABASES["default"]["CONN_MAX_AGE"],
        conn_health_checks=False,
    )
    DATABASES["replica"]["OPTIONS"] = {
        **DATABASES["default"].get("OPTIONS", {}),
        # A replica that does not answer is left for the primary quickly, not after a minute.
        "connect_timeout": int(os.environ.get("DATABASE_REPLICA_CONNECT_TIMEOUT", "2")),
    }
    # The test suite points it at the test database (a mirror, not a copy).
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
    DATABASE_ROUTERS = ["replica.PrimaryReplicaRouter"]
    MIDDLEWARE.insert(
        MIDDLEWARE.index("config.request_log.RequestLogMiddleware") + 1,
        "replica.ReadYourWritesMiddleware",
    )

# Behind PgBouncer in transaction mode (DATABASE_POOLING=transaction) a connection is lent for
# one transaction at a time: no statement is prepared on the server (the vote's would be missing
# on the next one lent) and querysets read with .iterator() use no server-side cursor.
DATABASE_POOLING = os.environ.get("DATABASE_POOLING", "")
if DATABASE_POOLING not in {"", "transaction"}:
    raise ImproperlyConfigured("DATABASE_POOLING must be empty or transaction.")
if DATABASE_POOLING == "transaction":
    for _database in DATABASES.values():
        if _database["ENGINE"].endswith("postgresql"):
            _database["OPTIONS"] = {**_database.get("OPTIONS", {}), "prepare_threshold": None}
            _database["DISABLE_SERVER_SIDE_CURSORS"] = True
