"""What chat.web.server changes in Daphne so that an open socket holds less: the handshake's
HTTP channel let go, autobahn's options on the protocol's class, an Inbox for input (the
memory itself is measured by ``python -m bench.socket_memory``)."""

from __future__ import annotations

import gc
import weakref

from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel

from chat.queues import Inbox
from chat.web import compression
from chat.web.server import ChatServer, let_go_of_handshake, options_on_the_class


def test_the_http_channel_a_socket_was_upgraded_from_is_let_go():
    transport = StringTransport()
    channel = HTTPChannel()
    channel.makeConnection(transport)  # registers itself as the connection's producer
    assert transport.producer is channel

    class Socket:  # the WebSocket protocol that took the connection over
        pass

    socket = Socket()
    socket.transport = transport
    let_go_of_handshake(socket)
    assert transport.producer is None
    gone = weakref.ref(channel)
    del channel
    gc.collect()
    assert gone() is None  # nothing else held it


async def test_autobahns_options_are_the_protocols_class_attributes_not_each_connections():
    from daphne.ws_protocol import WebSocketFactory, WebSocketProtocol

    factory = WebSocketFactory(None, server="streamchat")
    factory.setProtocolOptions(
        perMessageCompressionAccept=compression.accept,
        autoPingTimeout=7,
        allowNullOrigin=True,
        openHandshakeTimeout=0,  # no timer left behind by the connection below
    )
    options_on_the_class(factory)
    assert issubclass(factory.protocol, WebSocketProtocol)
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    assert protocol.autoPingTimeout == 7 and protocol.allowNullOrigin is True
    # A function stays a function, not a method of the protocol.
    assert protocol.perMessageCompressionAccept is compression.accept
    copied = set(vars(protocol)) & set(WebSocketProtocol.CONFIG_ATTRS)
    assert copied == set()


async def test_a_connections_input_queue_is_an_inbox():
    seen = {}

    async def application(scope, receive, send):
        seen["receive"] = receive

    class Protocol:
        transport = StringTransport()

    server = ChatServer.__new__(ChatServer)
    server.application = application
    server.connections = {}
    protocol = Protocol()
    server.connections[protocol] = {}
    scope = {"type": "http", "path": "/"}
    queue = server.create_application(protocol, scope)
    assert isinstance(queue, Inbox)
    assert scope["asgi"] == {"version": "3.0"}
    instance = server.connections[protocol]["application_instance"]
    instance.cancel()
