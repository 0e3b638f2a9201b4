"""A WebSocket's Origin is checked as Django's CSRF check does for a POST: the whole origin
(scheme, host, port) must be the page's own or in CSRF_TRUSTED_ORIGINS."""

from __future__ import annotations

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from chat.asgi import application
from tests.conftest import session_cookie

pytestmark = pytest.mark.django_db(transaction=True)


async def opens(user, origin: str | None, host: str = "127.0.0.1:8000", **scope) -> bool:
    headers = [(b"host", host.encode()), (b"cookie", await sync_to_async(session_cookie)(user))]
    if origin is not None:
        headers.append((b"origin", origin.encode()))
    for name, value in scope.pop("extra_headers", []):
        headers.append((name, value))
    ws = WebsocketCommunicator(application, "/ws/chat/", headers=headers)
    ws.scope.update(scope)
    connected, _ = await ws.connect()
    if connected:
        await ws.disconnect()
    return connected


async def test_the_pages_own_origin_opens_a_socket(alice):
    assert await opens(alice, "http://127.0.0.1:8000")


async def test_another_port_of_the_same_host_is_refused(alice):
    # The hijack of the issue: a page on another port of 127.0.0.1, with the user's cookie.
    assert not await opens(alice, "http://127.0.0.1:8001")
    assert not await opens(alice, "http://127.0.0.1")


async def test_another_scheme_is_refused(alice):
    assert not await opens(alice, "https://127.0.0.1:8000")
    assert not await opens(alice, "http://127.0.0.1:8000", scheme="wss")


async def test_a_secure_connection_needs_a_secure_origin(alice):
    assert await opens(alice, "https://127.0.0.1:8000", scheme="wss")


async def test_another_host_and_no_origin_are_refused(alice):
    assert not await opens(alice, "http://evil.example:8000")
    assert not await opens(alice, "null")
    assert not await opens(alice, None)


async def test_a_host_outside_allowed_hosts_is_not_its_own_origin(alice):
    assert not await opens(alice, "http://evil.example", host="evil.example")


async def test_a_trusted_origin_opens_a_socket(alice, settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://chat.example.com", "https://*.example.org"]
    assert await opens(alice, "https://chat.example.com")
    assert await opens(alice, "https://eu.example.org")
    assert not await opens(alice, "http://chat.example.com")
    assert not await opens(alice, "https://chat.example.com:8443")
    assert not await opens(alice, "http://eu.example.org")


async def test_behind_a_tls_proxy_the_proxy_header_gives_the_scheme(alice, settings):
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    proto = [(b"x-forwarded-proto", b"https")]
    assert await opens(alice, "https://127.0.0.1:8000", extra_headers=proto)
    assert not await opens(alice, "http://127.0.0.1:8000", extra_headers=proto)
