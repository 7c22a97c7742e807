"""simtrain settings: one module, driven by the environment.

With nothing set, the embedded default runs: SQLite in WAL mode and the in-memory
channel layer, one Daphne process. `DATABASE_URL` and `REDIS_URL` select the scale-out
shape (PostgreSQL, channels_redis).
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import dj_database_url
from csp.constants import SELF
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

from simtrain.env import env_bool, env_int, env_list, env_str, persisted_secret

BASE_DIR = Path(__file__).resolve().parent.parent

# Off unless asked for (`make run DEBUG=1`, `python -m simtrain.serve --debug`): the
# embedded default may be left running on a classroom's network.
DEBUG = env_bool("DJANGO_DEBUG", default=False)
# The embedded default makes its own key on first start and keeps it in var/ (not in
# the repository): passes and sessions survive restarts, and nobody else knows it.
# Production sets DJANGO_SECRET_KEY (settings_production refuses to start without).
SECRET_KEY = env_str("DJANGO_SECRET_KEY") or persisted_secret(
    Path(env_str("SIMTRAIN_SECRET_KEY_FILE", str(BASE_DIR / "var" / "secret_key")))
)
ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("DJANGO_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "daphne",  # first, so that runserver is the ASGI one
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "django_htmx",
    "template_partials",
    "simtrain",
    "scenarios",
    "sessions.apps.LiveSessionsConfig",
    "actors",
    "rehearsal",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "csp.middleware.CSPMiddleware",
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

# A strict Content-Security-Policy in every mode, so that tests exercise it: no inline
# script or style, nothing from another origin. 'self' covers the same-origin
# WebSocket (ws:/wss:) in current browsers; it is spelled out for older ones.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF, "ws:", "wss:"],
        "media-src": [SELF],
        "object-src": [SELF],  # the in-page PDF viewer embeds same-origin attachments
        "frame-src": [SELF],
        "frame-ancestors": [SELF],
        "base-uri": [SELF],
        "form-action": [SELF],
    }
}

ROOT_URLCONF = "simtrain.urls"
ASGI_APPLICATION = "simtrain.asgi.application"

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
                "simtrain.context_processors.roles",
            ],
            "builtins": ["simtrain.templatetags.simtrain"],
        },
    }
]

# --- Database -------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL", f"sqlite:///{BASE_DIR / 'db.sqlite3'}")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["OPTIONS"] = {
        # WAL lets readers (live screens) proceed while the engine writes; IMMEDIATE
        # takes the write lock at BEGIN so concurrent writers queue instead of failing.
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }
    # A file, not shared-cache memory: concurrency tests need real locking across
    # threads, and servers started by tests open the same file. One per test process.
    DATABASES["default"]["TEST"] = {
        "NAME": env_str(
            "SIMTRAIN_TEST_SQLITE", str(BASE_DIR / "var" / f"test-{os.getpid()}.sqlite3")
        )
    }
    (BASE_DIR / "var").mkdir(exist_ok=True)
elif DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Under ASGI, persistent connections must stay off (CONN_MAX_AGE=0; Django refuses
    # a pool with persistent connections anyway): the psycopg pool owns reuse, and
    # every `database_sync_to_async` call hands its connection back. Per process, at
    # most `max_size` connections; size PostgreSQL's max_connections for
    # (workers + schedulers) × max_size. A saturated pool fails after `timeout` s
    # instead of hanging a consumer for psycopg's default 30 s.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        "pool": {
            "min_size": 1,
            "max_size": env_int("SIMTRAIN_DB_POOL_MAX", 10),
            "timeout": env_int("SIMTRAIN_DB_POOL_TIMEOUT", 10),
        },
    }

# Threads the live hub reads the log on (sessions.hub.READERS), each holding one pooled
# connection while it reads: keep it below the pool's max_size, leaving room for the
# ORM thread of the sockets' commands and the embedded scheduler.
HUB_READERS = env_int("SIMTRAIN_HUB_READERS", 4)
if "pool" in DATABASES["default"].get("OPTIONS", {}):
    _pool_max = DATABASES["default"]["OPTIONS"]["pool"]["max_size"]
    if HUB_READERS + 2 > _pool_max:
        raise ImproperlyConfigured(
            f"SIMTRAIN_HUB_READERS={HUB_READERS} needs SIMTRAIN_DB_POOL_MAX ≥ {HUB_READERS + 2}"
            f" (the hub's readers, the commands' thread and the scheduler), not {_pool_max}"
        )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Channels -------------------------------------------------------------------------
# The layer only carries doorbells, and each server process listens on one channel for
# all its sockets (sessions.hub), so a channel's capacity bounds doorbells in flight
# per process, not per socket: over it they are dropped and the 2 s check recovers.
REDIS_URL = env_str("REDIS_URL", "")
# Every server process checks its live sessions' last seq this often, in case a
# doorbell was lost (Redis restarting, a group send dropped over capacity).
LIVE_CHECK_EVERY_S = float(env_str("SIMTRAIN_LIVE_CHECK_S", "2"))
# How long Daphne keeps a WebSocket open (`daphne --websocket_timeout`, default 86400).
# Group memberships must not expire before the sockets that hold them: group_expiry is
# this same number (the hub also renews its memberships every minute).
WEBSOCKET_TIMEOUT_S = env_int("SIMTRAIN_WEBSOCKET_TIMEOUT", 86400)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                "hosts": [
                    {
                        "address": REDIS_URL,
                        # Longer than the layer's 5 s blocking pop, or every idle receive
                        # times out (channels_redis #422; redis-py 8 defaults to 5 s).
                        "socket_timeout": 30,
                        "socket_connect_timeout": 5,
                    }
                ],
                "group_expiry": WEBSOCKET_TIMEOUT_S,
                "capacity": 1000,
            },
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": WEBSOCKET_TIMEOUT_S, "capacity": 1000},
        }
    }

# Throttling counters (join codes, logins) must be shared by every worker when scaled out.
if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                          "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Rendered fragments that never change once rendered (an inbox item as of its
# read/unread state): per process, never shared, so never stale.
CACHES["fragments"] = {
    "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
    "LOCATION": "simtrain-fragments",
    "TIMEOUT": 3600,
    "OPTIONS": {"MAX_ENTRIES": 50000},
}

# Proxies whose X-Real-IP / X-Forwarded-For we read for the client's address
# (simtrain.clientip): IPs or networks, e.g. "127.0.0.1" for nginx on the same machine.
# None by default: the TCP peer is the client.
SIMTRAIN_TRUSTED_PROXIES = env_list("SIMTRAIN_TRUSTED_PROXIES", [])
for _proxy in SIMTRAIN_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_proxy, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"SIMTRAIN_TRUSTED_PROXIES: {_proxy!r} is not an IP address or network"
        ) from None

# --- Auth -----------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# One throttle for every login path, in the backend (simtrain.auth).
AUTHENTICATION_BACKENDS = ["simtrain.auth.ThrottledModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "scenarios:library"
LOGOUT_REDIRECT_URL = "login"

# --- i18n: French first ---------------------------------------------------------------
LANGUAGE_CODE = "fr"
LANGUAGES = [("fr", _("Français")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
TIME_ZONE = env_str("TIME_ZONE", "Europe/Paris")
USE_TZ = True

# --- Static and uploaded files --------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "var" / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
WHITENOISE_USE_FINDERS = True  # serve straight from static/ without collectstatic
WHITENOISE_AUTOREFRESH = DEBUG

# Scenario uploads: the bundle limit of the format (50 MiB) plus multipart overhead.
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The scenario editor posts one field per key of the document: a scenario of 130 injects
# is some 4000 fields (the size limit above still bounds the request).
DATA_UPLOAD_MAX_NUMBER_FIELDS = 20_000

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.channels.server": {"level": "WARNING"},
        # WeasyPrint logs every layout step at INFO.
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
    },
}
