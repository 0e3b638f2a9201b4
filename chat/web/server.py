"""Daphne, with what its WebSockets need that plain Daphne does not do.

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
- ``extensions["streamchat.compression"]["release"]``: a function that frees the socket's
  permessage-deflate compressor until its next frame (``chat.web.compression``); the consumer
  calls it once no answer streams to the socket.

It runs on uvloop unless ``EVENT_LOOP=asyncio``.

And each WebSocket whose client offers permessage-deflate (browsers do) gets it, unless
``WEBSOCKET_COMPRESSION`` is off: Daphne never enables it, though autobahn, which Daphne runs
its sockets on, implements it (``chat.web.compression`` says with what bounds).

A frame goes to the socket as it is sent (``write_now``), not at the event loop's next turn
after it was told the socket can take it, as under Twisted's own write: that took a watch
added and removed per frame (docs/benchmarks.md has what it saves).

And a compressed socket keeps no decompressor between the messages its client sends (each
comes compressed on its own, as ``chat.web.compression`` asks).

An open socket holds less than under plain Daphne (``python -m bench.socket_memory`` measures
where it goes):

- its input queue is a ``chat.queues.Inbox``, which holds nothing while empty (Daphne's
  ``asyncio.Queue`` holds 3 KB);
- the HTTP request it was upgraded from is let go: Daphne leaves Twisted's HTTP channel, and
  the request with its headers, registered as the connection's producer. For a socket that
  producer does nothing (it pauses the connection only between requests, and the upgraded
  request never ends), so it is unregistered;
- autobahn's protocol options live on the protocol's class, not on each connection: autobahn
  copies 29 of them from the factory onto every connection, unless the protocol already has
  them.

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
from daphne.ws_protocol import WebSocketProtocol  # isort: skip

import weakref
from functools import partial
from typing import Any

from twisted.internet import reactor
from twisted.internet.interfaces import ISSLTransport

from chat.queues import Inbox
from chat.web import compression

# The scope extensions' names; chat.web.sockets reads them (without importing Twisted).
BACKLOG = "streamchat.backlog"
COMPRESSION = "streamchat.compression"


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


def release_of(protocol: Any) -> Any:
    ref = weakref.ref(protocol)  # as for the backlog

    def release() -> None:
        protocol = ref()
        deflate = getattr(protocol, "_perMessageCompress", None)  # autobahn's, once negotiated
        if deflate is not None:
            compression.release_compressor(deflate)

    return release


def add_to_scope(protocol: Any, scope: dict[str, Any]) -> None:
    """A WebSocket's scope, given its scheme, its backlog and its compression's release."""
    scheme = getattr(protocol, "client_scheme", None)  # set by --proxy-headers
    if scheme is None:
        secure = ISSLTransport(protocol.transport, None) is not None  # as Twisted asks
        scheme = "https" if secure else "http"
    scope["scheme"] = "wss" if scheme == "https" else "ws"
    extensions = scope.setdefault("extensions", {})
    extensions[BACKLOG] = {"bytes": backlog_of(protocol)}
    extensions[COMPRESSION] = {"release": release_of(protocol)}


def options_on_the_class(factory: Any) -> None:
    """Make the factory's protocol a subclass that has the factory's options as class
    attributes, once they are all set: autobahn then copies none onto each connection.
    (A function among them, ``perMessageCompressionAccept``, stays a plain function.)"""
    base = factory.protocol
    options = {}
    for name in base.CONFIG_ATTRS:
        value = getattr(factory, name)
        options[name] = staticmethod(value) if callable(value) else value
    factory.protocol = type(base.__name__, (base,), options)


def let_go_of_handshake(protocol: Any) -> None:
    """Unregister the HTTP channel the socket was upgraded from as its connection's producer,
    so that it and its request can be freed (see the module's docstring)."""
    unregister = getattr(protocol.transport, "unregisterProducer", None)
    if unregister is not None:
        unregister()


def write_now(transport: Any, data: bytes) -> None:
    """Write ``data`` to a TCP transport's socket now when nothing waits before it, and leave
    what the kernel does not take to Twisted, which would otherwise have buffered it all and
    asked the event loop to tell it when the socket can be written: a watch added and removed,
    and a turn of the loop, for every frame. Any other transport (TLS) writes as it does."""
    send = getattr(transport, "writeSomeData", None)  # a TCP connection's
    if (
        send is None
        or not transport.connected
        or transport.disconnecting
        or buffered_bytes(transport)
    ):
        transport.write(data)
        return
    sent = send(data)
    if not isinstance(sent, int):  # the connection is lost: Twisted's own write finds it so
        transport.write(data)
    elif sent < len(data):
        transport.write(data[sent:])


class ChatSocket(WebSocketProtocol):
    """Daphne's WebSocket, which writes each frame straight to its socket and lets go of its
    decompressor as each message is read."""

    def sendData(self, data: bytes, sync: bool = False, chopsize: int | None = None) -> None:
        # As autobahn's own, which hands a frame to the transport unless its queue (for chopped
        # or synchronous writes, which Daphne makes none of) holds some before it; but now.
        if sync or chopsize or self.send_queue or self.state != self.STATE_OPEN or self.logOctets:
            super().sendData(data, sync, chopsize)
            return
        write_now(self.transport, data)
        self.trafficStats.outgoingOctetsWireLevel += len(data)

    def onMessage(self, payload: bytes, isBinary: bool) -> None:
        super().onMessage(payload, isBinary)
        if self._perMessageCompress is not None:
            compression.release_decompressor(self._perMessageCompress)


class ChatServer(Server):
    # Daphne makes its WebSocket factory as it starts serving, in run(), after the application
    # (and with it the settings) is imported; the factory's options are set as it is made,
    # and by Daphne just after; no connection is made before the reactor runs.
    @property
    def ws_factory(self) -> Any:
        return self._ws_factory

    @ws_factory.setter
    def ws_factory(self, factory: Any) -> None:
        factory.protocol = ChatSocket
        if settings.WEBSOCKET_COMPRESSION:
            factory.setProtocolOptions(perMessageCompressionAccept=compression.accept)
        reactor.callWhenRunning(options_on_the_class, factory)
        self._ws_factory = factory

    def create_application(self, protocol: Any, scope: dict[str, Any]) -> Inbox | None:
        """Daphne's, with an ``Inbox`` for the input queue."""
        assert "application_instance" not in self.connections[protocol]
        if scope.get("type") == "websocket":
            add_to_scope(protocol, scope)
            let_go_of_handshake(protocol)
        input_queue = Inbox()
        scope.setdefault("asgi", {"version": "3.0"})
        application_instance = self.application(
            scope=scope, receive=input_queue.get, send=partial(self.handle_reply, protocol)
        )
        if protocol not in self.connections:
            return None
        self.connections[protocol]["application_instance"] = asyncio.ensure_future(
            application_instance
        )
        return input_queue


class ChatCommandLine(CommandLineInterface):
    server_class = ChatServer


if __name__ == "__main__":
    ChatCommandLine.entrypoint()
