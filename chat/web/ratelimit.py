"""Limits on what one client may ask: frames per user, and failed sign-ins.

Frames (WebSocket frames and SSE API requests) are counted in this process, in memory: a
token bucket per user, refilled at ``FRAME_RATE_PER_S`` up to ``FRAME_RATE_BURST``. Counting
them in a shared cache would cost a round trip per frame; a flood is a local problem anyway,
and each process protects itself.

Failed sign-ins are counted in Django's cache, per username and per client address, so a
shared cache (``CACHE_URL``) makes the limit hold across processes. A fixed window starts at
the first failure; when it ends, the count starts again.
"""

from __future__ import annotations

import hashlib
import logging
import math
import time
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.forms import AuthenticationForm
from django.core.cache import cache
from django.http import HttpRequest, JsonResponse

log = logging.getLogger(__name__)


# Frames -------------------------------------------------------------------------------------


class FrameBuckets:
    def __init__(self) -> None:
        self._buckets: dict[Any, tuple[float, float]] = {}  # user -> (tokens, updated at)

    def allow(self, user_id: Any) -> bool:
        """Take one frame from ``user_id``'s bucket; False when it is empty."""
        now = time.monotonic()
        burst, rate = settings.FRAME_RATE_BURST, settings.FRAME_RATE_PER_S
        tokens, updated = self._buckets.get(user_id, (burst, now))
        tokens = min(burst, tokens + (now - updated) * rate)
        if tokens < 1:
            self._buckets[user_id] = (tokens, now)
            return False
        self._buckets[user_id] = (tokens - 1, now)
        if len(self._buckets) > 10_000:
            self._forget_full(now)
        return True

    def _forget_full(self, now: float) -> None:
        # A bucket that has refilled is the same as no bucket: keep memory bounded by the
        # number of users active in the last few seconds, not by every user ever seen.
        burst, rate = settings.FRAME_RATE_BURST, settings.FRAME_RATE_PER_S
        for user_id, (tokens, updated) in list(self._buckets.items()):
            if tokens + (now - updated) * rate >= burst:
                del self._buckets[user_id]

    def reset(self) -> None:
        self._buckets.clear()


frames = FrameBuckets()
TOO_FAST = "Too many requests at once. Wait a moment and try again."


def refuse_api_request(user: Any) -> JsonResponse | None:
    """A 429 for an API request over the user's frame rate, else None."""
    if frames.allow(user.pk):
        return None
    response = JsonResponse(
        {"type": "error", "code": "rate_limited", "detail": TOO_FAST}, status=429
    )
    response["Retry-After"] = str(max(1, math.ceil(1 / settings.FRAME_RATE_PER_S)))
    return response


# Sign-in ------------------------------------------------------------------------------------


def client_address(request: HttpRequest) -> str:
    # Behind a proxy, run Daphne with --proxy-headers so that this is the client's address,
    # not the proxy's (docs/security.md).
    return request.META.get("REMOTE_ADDR") or "unknown"


def socket_address(scope: dict[str, Any]) -> str:
    """A WebSocket's client address: the one ``client_address`` gives its handshake (Django's
    ``REMOTE_ADDR`` is the scope's ``client``, which ``--proxy-headers`` sets)."""
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def _keys(username: str, address: str) -> list[tuple[str, int]]:
    # Hashed: a username is whatever a client typed, of any length.
    name = hashlib.sha256(username.strip().casefold().encode()).hexdigest()
    return [
        (f"login-failures:user:{name}", settings.LOGIN_FAILURES_PER_USERNAME),
        (f"login-failures:ip:{address}", settings.LOGIN_FAILURES_PER_IP),
    ]


def sign_in_blocked(username: str, address: str) -> bool:
    counts = cache.get_many([key for key, _ in _keys(username, address)])
    return any(counts.get(key, 0) >= limit for key, limit in _keys(username, address))


def sign_in_failed(username: str, address: str) -> None:
    log.warning("failed sign-in for %r from %s", username[:150], address)
    for key, _ in _keys(username, address):
        # add() starts the window at the first failure; incr() keeps its expiry.
        cache.add(key, 0, timeout=settings.LOGIN_FAILURE_WINDOW)
        try:
            cache.incr(key)
        except ValueError:  # expired between the two calls: a new window
            cache.add(key, 1, timeout=settings.LOGIN_FAILURE_WINDOW)


def sign_in_succeeded(username: str) -> None:
    # The address keeps its count: a guesser with an account of their own must not be able to
    # wipe it by signing in between guesses.
    cache.delete(_keys(username, "")[0][0])


def _window_text() -> str:
    minutes = math.ceil(settings.LOGIN_FAILURE_WINDOW / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class ThrottledSignIn:
    """Refuses to check a password once its username or address failed too often."""

    error_messages = {
        "throttled": "Too many failed sign-ins. Wait %(window)s and try again.",
    }

    def clean(self) -> dict[str, Any]:
        username = self.data.get("username", "")  # type: ignore[attr-defined]
        address = client_address(self.request)  # type: ignore[attr-defined]
        if sign_in_blocked(username, address):
            raise forms.ValidationError(
                self.error_messages["throttled"],
                code="throttled",
                params={"window": _window_text()},
            )
        try:
            cleaned = super().clean()  # type: ignore[misc]
        except forms.ValidationError as error:
            if any(e.code == "invalid_login" for e in error.error_list):
                sign_in_failed(username, address)
            raise
        sign_in_succeeded(username)
        return cleaned


class ThrottledAuthenticationForm(ThrottledSignIn, AuthenticationForm):
    error_messages = {**AuthenticationForm.error_messages, **ThrottledSignIn.error_messages}


class ThrottledAdminAuthenticationForm(ThrottledSignIn, AdminAuthenticationForm):
    error_messages = {**AdminAuthenticationForm.error_messages, **ThrottledSignIn.error_messages}
