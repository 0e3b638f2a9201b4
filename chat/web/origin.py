"""Which pages may open a WebSocket: the same rule as Django's CSRF origin check.

A browser sends the session cookie with a WebSocket from any page, so the ``Origin`` header is
all that stops another site — or another port of this host — from opening one as the user.
Channels' ``AllowedHostsOriginValidator`` compares the host only: ``http://127.0.0.1:8001``
passed for a site on port 8000. Here the whole origin (scheme, host, port) must be the
request's own (``Host``, checked against ``ALLOWED_HOSTS``, with the scheme of the connection
or of ``SECURE_PROXY_SSL_HEADER``) or one of ``CSRF_TRUSTED_ORIGINS``, exactly as
``CsrfViewMiddleware._origin_verified`` decides for a POST. A socket without an ``Origin`` (no
browser sends one) is refused, as Channels did.
"""

from __future__ import annotations

import io
import logging
from typing import Any
from urllib.parse import urlsplit

from channels.security.websocket import WebsocketDenier
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from django.utils.http import is_same_domain

log = logging.getLogger(__name__)

# A WebSocket's scheme as the page's: what the CSRF rule compares.
PAGE_SCHEME = {"ws": "http", "wss": "https", "http": "http", "https": "https"}


def request_of(scope: dict[str, Any]) -> ASGIRequest:
    """The socket's handshake as a Django request, so that ``get_host`` and ``is_secure`` apply
    ``ALLOWED_HOSTS``, ``USE_X_FORWARDED_HOST`` and ``SECURE_PROXY_SSL_HEADER`` as for a page."""
    scheme = PAGE_SCHEME.get(scope.get("scheme", "ws"), "http")
    return ASGIRequest({**scope, "method": "GET", "scheme": scheme}, io.BytesIO())


def origin_allowed(scope: dict[str, Any]) -> bool:
    request = request_of(scope)
    origin = request.META.get("HTTP_ORIGIN")
    if origin is None:
        return False
    try:
        own = f"{'https' if request.is_secure() else 'http'}://{request.get_host()}"
    except DisallowedHost:
        pass
    else:
        if origin == own:
            return True
    trusted = settings.CSRF_TRUSTED_ORIGINS
    if origin in (t for t in trusted if "*" not in t):
        return True
    try:
        parsed = urlsplit(origin)
    except ValueError:
        return False
    return any(
        is_same_domain(parsed.netloc, allowed.netloc.lstrip("*"))
        for allowed in (urlsplit(t) for t in trusted if "*" in t)
        if allowed.scheme == parsed.scheme
    )


class SameOriginValidator:
    """Refuses, before the handshake completes (HTTP 403), a socket from another origin."""

    def __init__(self, application: Any) -> None:
        self.application = application

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> Any:
        if scope["type"] == "websocket" and not origin_allowed(scope):
            headers = dict(scope.get("headers", []))
            log.warning(
                "refused a WebSocket from origin %r (host %r)",
                headers.get(b"origin", b"").decode("latin1")[:200],
                headers.get(b"host", b"").decode("latin1")[:200],
            )
            return await WebsocketDenier()(scope, receive, send)
        return await self.application(scope, receive, send)
