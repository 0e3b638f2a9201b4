"""Keeping provider keys out of text that leaves the process: stored error details, exports and
log records."""

from __future__ import annotations

import base64
import logging
from collections.abc import Iterable
from urllib.parse import quote, quote_plus

from django.conf import settings

# The settings that hold secrets a provider error could echo back (some OpenAI-compatible
# servers put the key they refused in their error message).
KEY_SETTINGS = ("OPENAI_API_KEY", "ANTHROPIC_API_KEY", "GEMINI_API_KEY")
REDACTED = "[redacted]"


def secrets_in_settings() -> list[str]:
    """Every configured provider key, whatever its length: a short key is still a secret."""
    return [value for name in KEY_SETTINGS if (value := getattr(settings, name, "") or "")]


def encoded_forms(secret: str) -> list[str]:
    """``secret`` as an error message could quote it: as it is, percent-encoded (in a URL) and
    base64-encoded (standard and URL-safe, with and without padding); longest first, so a
    longer form is replaced before a shorter one inside it."""
    raw = secret.encode()
    forms = {secret, quote(secret, safe=""), quote_plus(secret)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(raw).decode()
        forms |= {encoded, encoded.rstrip("=")}
    return sorted((form for form in forms if form), key=len, reverse=True)


def redact(text: str, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every provider key in it, in any of its encoded forms, replaced by
    ``[redacted]``."""
    for secret in secrets_in_settings() if secrets is None else secrets:
        for form in encoded_forms(secret) if secret else ():
            if form in text:
                text = text.replace(form, REDACTED)
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
