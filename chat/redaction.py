"""Keeping provider keys out of text that leaves the process: stored error details, exports and
log records."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.conf import settings

# The settings that hold secrets a provider error could echo back (some OpenAI-compatible
# servers put the key they refused in their error message).
KEY_SETTINGS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
REDACTED = "[redacted]"


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
