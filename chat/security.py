"""Response headers Django's SecurityMiddleware does not set, and keeping provider keys out of
text that leaves the process.

Django 5.2 has no Content-Security-Policy of its own. The policy (``CONTENT_SECURITY_POLICY``)
goes on every response, pages, API answers, static files and the admin alike: a response
without it would be the one an injected script is loaded into. The middleware sits above
WhiteNoise, which answers static files without going further down the stack.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

# The settings that hold secrets a provider error could echo back (some OpenAI-compatible
# servers put the key they refused in their error message).
KEY_SETTINGS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
REDACTED = "[redacted]"


def _with_policy(response: HttpResponseBase) -> HttpResponseBase:
    if settings.CONTENT_SECURITY_POLICY:
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
    # Django's clickjacking middleware sits below WhiteNoise, so static files would go without.
    response.headers.setdefault("X-Frame-Options", settings.X_FRAME_OPTIONS)
    return response


@sync_and_async_middleware
def security_headers(get_response: Callable) -> Callable:
    if iscoroutinefunction(get_response):

        async def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(await get_response(request))

    else:

        def middleware(request: HttpRequest) -> HttpResponseBase:
            return _with_policy(get_response(request))

    return middleware


def secrets_in_settings() -> list[str]:
    return [value for name in KEY_SETTINGS if len(value := getattr(settings, name, "") or "") >= 8]


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every provider key in it replaced by ``[redacted]``."""
    for secret in secrets_in_settings() if secrets is None else secrets:
        if secret and secret in text:
            text = text.replace(secret, REDACTED)
    return text


class RedactSecrets(logging.Filter):
    """A last line of defence on the log handlers: a provider key that reached a log record
    (in its message, its arguments or its traceback) is written as ``[redacted]``."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secrets_in_settings()
        if not secrets:
            return True
        message = record.getMessage()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        cleaned = redact(message, secrets)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        return True
