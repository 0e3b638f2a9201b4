"""Every setting comes from the environment, with a development default that works offline.

A bad value stops start-up with a message naming the variable.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("VAR_DIR", BASE_DIR / "var"))


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in ("1", "true", "yes", "on"):
        return True
    if value.lower() in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_number(name: str, default: float, *, minimum: float = 0, kind: type = int) -> float:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        number = kind(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None
    if number < minimum:
        raise ImproperlyConfigured(f"{name} must be at least {minimum}, not {value!r}")
    return number


def env_json(name: str, default: dict[str, object]) -> dict[str, object]:
    value = os.environ.get(name)
    if not value:
        return default
    try:
        options = json.loads(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be a JSON object: {exc}") from None
    if not isinstance(options, dict):
        raise ImproperlyConfigured(f"{name} must be a JSON object, not {value!r}")
    return options


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


def development_secret_key() -> str:
    # Kept in a git-ignored file so sessions survive restarts of the development server.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


DEBUG = env_bool("DEBUG", True)
SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG=false")
    SECRET_KEY = development_secret_key()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
ALLOW_SIGNUP = env_bool("ALLOW_SIGNUP", False)

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "chat",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "chat.web.headers.security_headers",  # above WhiteNoise: static files get them too
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chat.urls"
ASGI_APPLICATION = "chat.asgi.application"

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
                "chat.web.account.theme",
            ],
        },
    },
]

try:
    DATABASES = {
        "default": dj_database_url.parse(
            os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'db.sqlite3'}",
            # Kept open between checkpoints: opening a connection per write was the largest
            # single CPU cost of streaming in the benchmarks' profile (docs/benchmarks.md).
            conn_max_age=int(env_number("DATABASE_CONN_MAX_AGE", 600)),
            conn_health_checks=True,
        )
    }
except ValueError as exc:
    raise ImproperlyConfigured(f"DATABASE_URL is not a database URL: {exc}") from None
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    # WAL lets the generation runner checkpoint while pages read; a busy timeout instead of
    # "database is locked" when two writers meet.
    DATABASES["default"]["OPTIONS"] = {
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
    }

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    if not REDIS_URL.startswith(("redis://", "rediss://", "unix://")):
        raise ImproperlyConfigured(f"REDIS_URL must start with redis://, not {REDIS_URL!r}")
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.channel_layer.ResilientRedisChannelLayer",
            "CONFIG": {"hosts": [REDIS_URL], "capacity": 1000, "expiry": 30},
        }
    }
else:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "chat.channel_layer.LeanInMemoryChannelLayer",
            "CONFIG": {"capacity": 1000},
        }
    }

# With Redis, every flush of an answer is written to a Redis stream before it is sent, so a
# process killed outright loses nothing its clients saw (chat/answers/journal.py; without it, up
# to one checkpoint interval).
ANSWER_JOURNAL = env_bool("ANSWER_JOURNAL", bool(REDIS_URL))
if ANSWER_JOURNAL and not REDIS_URL:
    raise ImproperlyConfigured("ANSWER_JOURNAL needs REDIS_URL")

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    # Uploaded attachments: never under a public media URL, only through the authorized view.
    # ATTACHMENT_STORAGE names another backend (several processes on several machines need a
    # shared one, such as django-storages' S3Storage), with ATTACHMENT_STORAGE_OPTIONS (JSON).
    "attachments": {
        "BACKEND": os.environ.get(
            "ATTACHMENT_STORAGE", "django.core.files.storage.FileSystemStorage"
        ),
        "OPTIONS": env_json(
            "ATTACHMENT_STORAGE_OPTIONS",
            {"location": str(VAR_DIR / "attachments"), "base_url": None},
        ),
    },
}
WHITENOISE_USE_FINDERS = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"httpx": {"level": "WARNING"}, "httpx2": {"level": "WARNING"}},
}

# Providers. A provider appears in the model picker only when it is usable here.
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_MODELS = env_list("OPENAI_MODELS")
# What users are told a compatible server is called ("Ollama", "our vLLM"); empty: "the local
# server" for this machine, else "the server at <host>".
OPENAI_SERVER_NAME = os.environ.get("OPENAI_SERVER_NAME", "")
# Which OpenAI API: the Responses API (reasoning summaries) for OpenAI itself, Chat Completions
# for a compatible server; empty picks by whether OPENAI_BASE_URL is set.
OPENAI_API = os.environ.get("OPENAI_API", "")
if OPENAI_API not in ("", "responses", "chat_completions"):
    raise ImproperlyConfigured(
        f"OPENAI_API must be responses or chat_completions, not {OPENAI_API!r}"
    )
ANTHROPIC_API_KEY = os.environ.get("ANTHROPIC_API_KEY", "")
ANTHROPIC_BASE_URL = os.environ.get("ANTHROPIC_BASE_URL", "")
ANTHROPIC_MODELS = env_list("ANTHROPIC_MODELS")
GEMINI_API_KEY = os.environ.get("GEMINI_API_KEY") or os.environ.get("GOOGLE_API_KEY", "")
GEMINI_BASE_URL = os.environ.get("GEMINI_BASE_URL", "")
GEMINI_MODELS = env_list("GEMINI_MODELS")
LOCAL_MODEL_PATH = os.environ.get("LOCAL_MODEL_PATH", "")
LOCAL_MODEL_ENABLED = env_bool("LOCAL_MODEL_ENABLED", True)
DEFAULT_MODEL = os.environ.get("DEFAULT_MODEL", "")
# The instructions (system prompt) a new conversation starts with; its owner may change them.
DEFAULT_SYSTEM_PROMPT = os.environ.get("DEFAULT_SYSTEM_PROMPT", "")

# Generations.
# The operator's ceiling on an answer's length; unset, each model's own limit applies.
MAX_OUTPUT_TOKENS = (
    int(env_number("MAX_OUTPUT_TOKENS", 0, minimum=1))
    if os.environ.get("MAX_OUTPUT_TOKENS")
    else None
)
MAX_MESSAGE_CHARS = int(env_number("MAX_MESSAGE_CHARS", 32_000, minimum=1))
MAX_ATTACHMENTS_PER_MESSAGE = int(env_number("MAX_ATTACHMENTS_PER_MESSAGE", 10, minimum=1))
# Attachments: the size of one upload, a user's storage (each distinct file counted once), and
# what an image may be: decoded at most MAX_IMAGE_PIXELS (an "image bomb" is refused before it
# is decoded), stored with its longest side at most IMAGE_MAX_SIDE.
MAX_UPLOAD_BYTES = int(env_number("MAX_UPLOAD_BYTES", 20 * 2**20, minimum=1024))
ATTACHMENT_QUOTA_BYTES = int(env_number("ATTACHMENT_QUOTA_BYTES", 500 * 2**20, minimum=1024))
MAX_IMAGE_PIXELS = int(env_number("MAX_IMAGE_PIXELS", 50_000_000, minimum=1))
IMAGE_MAX_SIDE = int(env_number("IMAGE_MAX_SIDE", 2048, minimum=16))
# A paste longer than this many characters becomes a text attachment in the composer.
PASTE_AS_FILE_CHARS = int(env_number("PASTE_AS_FILE_CHARS", 8000, minimum=1))
# Uploads never sent with a message are deleted by truncate_history after this many hours.
ATTACHMENT_ABANDON_HOURS = env_number("ATTACHMENT_ABANDON_HOURS", 24, minimum=0, kind=float)
MAX_FRAME_BYTES = int(env_number("MAX_FRAME_BYTES", 64_000, minimum=1024))
MAX_CONCURRENT_GENERATIONS = int(env_number("MAX_CONCURRENT_GENERATIONS", 4, minimum=1))
FLUSH_INTERVAL = env_number("FLUSH_INTERVAL_MS", 30, minimum=1, kind=float) / 1000
# Once an answer has streamed for a second, a reader follows the text rather than waits for
# it: frames may then carry more of it each, which saves bytes and work per token.
FLUSH_INTERVAL_UNDER_WAY = (
    env_number("FLUSH_INTERVAL_UNDER_WAY_MS", 75, minimum=1, kind=float) / 1000
)
FLUSH_CHARS = int(env_number("FLUSH_CHARS", 256, minimum=1))
# Watchers on other processes get text at most this often (each message costs a Redis round
# trip through the receiving process's one receive loop).
REMOTE_FLUSH_INTERVAL = env_number("REMOTE_FLUSH_INTERVAL_MS", 100, minimum=1, kind=float) / 1000
CHECKPOINT_INTERVAL = env_number("CHECKPOINT_INTERVAL_MS", 500, minimum=10, kind=float) / 1000
HEARTBEAT_INTERVAL = env_number("HEARTBEAT_INTERVAL_S", 2, minimum=0.05, kind=float)
HEARTBEAT_STALE_AFTER = env_number("HEARTBEAT_STALE_AFTER_S", 15, minimum=0.2, kind=float)
IDLE_TIMEOUT = env_number("PROVIDER_IDLE_TIMEOUT_S", 120, minimum=0.1, kind=float)
PROVIDER_RETRIES = int(env_number("PROVIDER_RETRIES", 3, minimum=0))
# On SIGTERM or SIGINT, how long a process may take to store and end its answers before it exits
# anyway (what is left is marked interrupted by another process once its heartbeat is stale).
# Orchestrators should wait a little longer than this before SIGKILL (docs/deploy.md).
GRACEFUL_STOP_TIMEOUT = env_number("GRACEFUL_STOP_TIMEOUT_S", 8, minimum=0.1, kind=float)
if HEARTBEAT_STALE_AFTER <= HEARTBEAT_INTERVAL:
    raise ImproperlyConfigured("HEARTBEAT_STALE_AFTER_S must be longer than HEARTBEAT_INTERVAL_S")

# Memory: what of a long conversation each model is sent (docs/operations.md).
from streaming.window import parse_context_lengths  # noqa: E402 (kept beside its setting)

try:
    MODEL_CONTEXT_LENGTHS = parse_context_lengths(os.environ.get("MODEL_CONTEXT_LENGTHS", ""))
except ValueError as exc:
    raise ImproperlyConfigured(f"MODEL_CONTEXT_LENGTHS: {exc}") from None
try:
    MODEL_OUTPUT_TOKENS = parse_context_lengths(os.environ.get("MODEL_OUTPUT_TOKENS", ""))
except ValueError as exc:
    raise ImproperlyConfigured(f"MODEL_OUTPUT_TOKENS: {exc}") from None
# Files: what each model takes besides text, where its provider's defaults are wrong.
from streaming.providers.base import parse_capabilities  # noqa: E402 (kept beside its setting)

try:
    MODEL_CAPABILITIES = parse_capabilities(os.environ.get("MODEL_CAPABILITIES", ""))
except ValueError as exc:
    raise ImproperlyConfigured(f"MODEL_CAPABILITIES: {exc}") from None
SUMMARIZE_DROPPED = env_bool("SUMMARIZE_DROPPED", False)
# Titles: after a new conversation's first answer, its model names it (docs/operations.md).
GENERATE_TITLES = env_bool("GENERATE_TITLES", True)

# Security (docs/security.md) ----------------------------------------------------------------
# Strict by default when DEBUG=false: `manage.py check --deploy` passes with only SECRET_KEY and
# ALLOWED_HOSTS set. Each knob can be relaxed for a deployment that needs it.


def env_proxy_ssl_header(name: str) -> tuple[str, str] | None:
    """``X-Forwarded-Proto: https`` as Django wants it: ("HTTP_X_FORWARDED_PROTO", "https")."""
    value = os.environ.get(name, "")
    if not value:
        return None
    header, _, expected = value.partition(":")
    header, expected = header.strip(), expected.strip()
    if not header or not expected or not all(c.isalnum() or c == "-" for c in header):
        raise ImproperlyConfigured(
            f"{name} must look like 'X-Forwarded-Proto: https', not {value!r}"
        )
    return "HTTP_" + header.upper().replace("-", "_"), expected


# Only behind a TLS-terminating proxy that sets this header (and strips it from clients).
SECURE_PROXY_SSL_HEADER = env_proxy_ssl_header("SECURE_PROXY_SSL_HEADER")
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_HSTS_SECONDS = int(env_number("SECURE_HSTS_SECONDS", 0 if DEBUG else 31_536_000))
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = os.environ.get("REFERRER_POLICY", "same-origin")
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Model output is rendered as HTML: no inline script or style, and nothing loaded from another
# host, so a sanitizer bug alone cannot run a script or send a conversation away.
CONTENT_SECURITY_POLICY = os.environ.get(
    "CONTENT_SECURITY_POLICY",
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'",
)
# The one page that differs: the sandboxed frame Mermaid draws diagrams in
# (static/js/markdown/diagram-frame.html). Mermaid measures text in a live document and writes
# inline styles as it goes, so this frame allows them; it loads nothing but its own scripts,
# may only be framed by this site, and its sandbox gives it no origin (no cookies, no storage,
# no reach into the page).
DIAGRAM_FRAME_PATH = STATIC_URL.rstrip("/") + "/js/markdown/diagram-frame.html"
if not DIAGRAM_FRAME_PATH.startswith("/"):
    DIAGRAM_FRAME_PATH = "/" + DIAGRAM_FRAME_PATH
DIAGRAM_FRAME_CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; "
    "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
)

# A provider key that reaches a log record anyway is written as [redacted].
LOGGING["filters"] = {"redact_secrets": {"()": "chat.redaction.RedactSecrets"}}
LOGGING["handlers"]["console"]["filters"] = ["redact_secrets"]

# The cache holds the sign-in throttle's counters. The in-memory default counts per process;
# several processes should share Redis so that a guesser cannot spread over them.
CACHE_URL = os.environ.get("CACHE_URL", "")
if not CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
elif CACHE_URL.startswith(("redis://", "rediss://", "unix://")):
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}
    }
else:
    raise ImproperlyConfigured(f"CACHE_URL must start with redis://, not {CACHE_URL!r}")

# Sign-in throttling: after this many failures in the window, further tries are refused.
LOGIN_FAILURES_PER_USERNAME = int(env_number("LOGIN_FAILURES_PER_USERNAME", 5, minimum=1))
LOGIN_FAILURES_PER_IP = int(env_number("LOGIN_FAILURES_PER_IP", 5, minimum=1))
LOGIN_FAILURE_WINDOW = env_number("LOGIN_FAILURE_WINDOW_S", 900, minimum=1, kind=float)
# What one user may send, over every socket and the API of one process: a burst, then a
# sustained rate (a browser sends a few frames a minute; this only stops floods).
FRAME_RATE_BURST = int(env_number("FRAME_RATE_BURST", 60, minimum=1))
FRAME_RATE_PER_S = env_number("FRAME_RATE_PER_S", 10, minimum=0.01, kind=float)
# What one user, and one client address, may hold open on one process: WebSockets (a tab
# holds one), and what one socket may have waiting to be sent to a client that does not read
# (docs/deploy.md: the file limit to set beside these).
MAX_SOCKETS_PER_USER = int(env_number("MAX_SOCKETS_PER_USER", 20, minimum=1))
MAX_SOCKETS_PER_ADDRESS = int(env_number("MAX_SOCKETS_PER_ADDRESS", 50, minimum=1))
MAX_SOCKET_BACKLOG_BYTES = int(env_number("MAX_SOCKET_BACKLOG_BYTES", 4_000_000, minimum=65_536))
# permessage-deflate for clients that offer it (chat/web/server.py): a long answer takes under a
# quarter of the bytes, for some CPU and memory per socket (docs/benchmarks.md).
WEBSOCKET_COMPRESSION = env_bool("WEBSOCKET_COMPRESSION", True)
# The event loop under Daphne's Twisted reactor (chat/web/server.py): uvloop, which measured
# less CPU per token and a shorter first token under load (docs/benchmarks.md), or asyncio's.
EVENT_LOOP = os.environ.get("EVENT_LOOP") or "uvloop"
if EVENT_LOOP not in ("uvloop", "asyncio"):
    raise ImproperlyConfigured(f"EVENT_LOOP must be uvloop or asyncio, not {EVENT_LOOP!r}")
