"""Personal API tokens: shown once, stored as a SHA-256 digest, revocable."""

from __future__ import annotations

import hashlib
import secrets

from django.utils import timezone

from chat.models import APIToken

PREFIX = "sc_"


def digest(token: str) -> str:
    # Tokens are 256 random bits, so a fast hash is enough: no dictionary to slow down.
    return hashlib.sha256(token.encode()).hexdigest()


def create(user: object, name: str) -> tuple[APIToken, str]:
    """A new token for ``user``; the clear text is returned here and never stored."""
    token = PREFIX + secrets.token_urlsafe(32)
    record = APIToken.objects.create(
        user=user, name=name, prefix=token[: len(PREFIX) + 6], digest=digest(token)
    )
    return record, token


def authenticate(token: str) -> object | None:
    """The user a valid, unrevoked token belongs to, else None."""
    record = (
        APIToken.objects.select_related("user")
        .filter(digest=digest(token), revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    if record is None:
        return None
    APIToken.objects.filter(pk=record.pk).update(last_used_at=timezone.now())
    return record.user
