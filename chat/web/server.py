"""Daphne, with three things its WebSockets need that plain Daphne does not do.

Run it exactly as Daphne, with the same options (``make run`` and the tests do)::

    python -m chat.web.server -b 127.0.0.1 -p 8000 chat.asgi:application

Each WebSocket's scope gets:

- ``scheme``: ``wss`` on a TLS connection, else ``ws`` (with ``--proxy-headers``, what
  ``X-Forwarded-Proto`` says, as Daphne does for HTTP requests). Daphne gives an HTTP request
  its scheme but not a socket, and the origin check (``chat.web.origin``) compares it.
- ``extensions["streamchat.backlog"]["bytes"]``: a function giving how many bytes are written to
  the socket but not yet taken by the operating system. A client that does not read leaves
  every frame sent to it in Twisted's write buffer (autobahn writes each frame straight to
  the transport, and the transport keeps what the kernel's socket buffer will not take), so
  the server's memory grows with it; the consumer closes a socket whose backlog passes
  ``MAX_SOCKET_BACKLOG_BYTES`` (``chat.web.sockets``).

It runs on uvloop unless ``EVENT_LOOP=asyncio``.

And each WebSocket whose client offers permessage-deflate (browsers do) gets it, unless
``WEBSOCKET_COMPRESSION`` is off: Daphne never enables it, though autobahn, which Daphne runs
its sockets on, implements it (``chat.web.compression`` says with what bounds).

Under plain ``daphne`` the sockets work, unbounded and uncompressed, and ``chat.web.socket``
logs a warning.
"""

import asyncio  # isort: skip
import os  # isort: skip

from django.conf import settings  # isort: skip

# The event loop first: Daphne makes the loop its Twisted reactor runs on as it is imported.
# The settings import nothing of Twisted, so they can be read before.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chat.settings")
if settings.EVENT_LOOP == "uvloop":
    import uvloop  # isort: skip

    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())

# Daphne installs Twisted's asyncio reactor when imported: before anything else can import
# Twisted.
from daphne.cli import CommandLineInterface  # isort: skip
from daphne.server import Server  # isort: skip

import weakref
from typing import Any

from twisted.internet.interfaces import ISSLTransport

from chat.web import compression

# The scope extension's name; chat.web.sockets reads it (without importing Twisted).
BACKLOG = "streamchat.backlog"


def buffered_bytes(transport: Any) -> int:
    """Bytes written to ``transport`` that the kernel has not taken yet: a TCP transport's write
    buffers and, under TLS, the cleartext waiting in the TLS layer and the TCP transport
    beneath it. (The TLS layer's small-write aggregator holds at most 64 kB more.)"""
    total = 0
    for _ in range(3):  # TCP, or TLS over TCP
        if transport is None:
            break
        data = getattr(transport, "dataBuffer", b"")
        total += len(data) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)
        total += sum(len(chunk) for chunk in getattr(transport, "_appSendBuffer", ()))
        transport = getattr(transport, "transport", None)  # a wrapper's own transport
    return total


def backlog_of(protocol: Any) -> Any:
    # A weak reference: the scope outlives nothing, but must not keep a closed protocol alive.
    ref = weakref.ref(protocol)

    def backlog() -> int:
        protocol = ref()
        return 0 if protocol is None else buffered_bytes(protocol.transport)

    return backlog


def add_to_scope(protocol: Any, scope: dict[str, Any]) -> None:
    """A WebSocket's scope, given its scheme and its backlog."""
    scheme = getattr(protocol, "client_scheme", None)  # set by --proxy-headers
    if scheme is None:
        secure = ISSLTransport(protocol.transport, None) is not None  # as Twisted asks
        scheme = "https" if secure else "http"
    scope["scheme"] = "wss" if scheme == "https" else "ws"
    scope.setdefault("extensions", {})[BACKLOG] = {"bytes": backlog_of(protocol)}


class ChatServer(Server):
    # Daphne makes its WebSocket factory as it starts serving, in run(), after the application
    # (and with it the settings) is imported; the factory's options are set as it is made.
    @property
    def ws_factory(self) -> Any:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: Any) -> None:
        if settings.WEBSOCKET_COMPRESSION:
            factory.setProtocolOptions(perMessageCompressionAccept=compression.accept)
        self._ws_factory = factory

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Any:
        if scope.get("type") == "websocket":
            add_to_scope(protocol, scope)
        return super().create_application(protocol, scope)


class ChatCommandLine(CommandLineInterface):
    server_class = ChatServer


if __name__ == "__main__":
    ChatCommandLine.entrypoint()
