"""What chat.web.server changes in Daphne so that an open socket holds less: the handshake's
HTTP channel let go, autobahn's options on the protocol's class, an Inbox for input (the
memory itself is measured by ``python -m bench.socket_memory``); and how it writes a frame:
straight to the socket when nothing waits before it, in order always."""

from __future__ import annotations

import gc
import weakref

from twisted.internet.abstract import FileDescriptor
from twisted.internet.address import IPv4Address
from twisted.internet.main import CONNECTION_LOST
from twisted.internet.testing import StringTransport
from twisted.web.http import HTTPChannel

from chat.queues import Inbox
from chat.web import compression
from chat.web.server import (
    ChatServer,
    ChatSocket,
    buffered_bytes,
    let_go_of_handshake,
    options_on_the_class,
    write_now,
)


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


class Reactor:
    """What a transport asks of its reactor: to be told when its socket can be written."""

    def __init__(self) -> None:
        self.writers: set = set()

    def addWriter(self, writer) -> None:
        self.writers.add(writer)

    def removeWriter(self, writer) -> None:
        self.writers.discard(writer)


class TCP(FileDescriptor):
    """A TCP transport whose socket takes ``room`` bytes at a time (``lost``: none, lost)."""

    def __init__(self, room: int = 10**6, lost: bool = False) -> None:
        super().__init__(reactor=Reactor())
        self.connected = 1
        self.room, self.lost, self.wire = room, lost, b""

    def writeSomeData(self, data) -> int | Exception:
        if self.lost:
            return CONNECTION_LOST
        taken = bytes(data[: self.room])
        self.wire += taken
        self.room -= len(taken)
        return len(taken)

    def getPeer(self) -> IPv4Address:
        return IPv4Address("TCP", "127.0.0.1", 50000)

    getHost = getPeer


def test_a_frame_goes_straight_to_the_socket_when_nothing_waits_before_it():
    tcp = TCP()
    write_now(tcp, b"frame one")
    write_now(tcp, b"frame two")
    assert tcp.wire == b"frame oneframe two"
    assert buffered_bytes(tcp) == 0 and tcp.reactor.writers == set()  # no watch asked for


def test_what_the_socket_does_not_take_waits_in_twisted_and_what_follows_waits_behind_it():
    tcp = TCP(room=4)
    write_now(tcp, b"frame one")
    assert tcp.wire == b"fram" and buffered_bytes(tcp) == 5
    assert tcp.reactor.writers == {tcp}  # Twisted writes the rest when the socket can take it
    tcp.room = 100
    write_now(tcp, b"frame two")  # not before what waits
    assert tcp.wire == b"fram"
    tcp.doWrite()
    assert tcp.wire == b"frame oneframe two" and buffered_bytes(tcp) == 0


def test_a_lost_connection_or_another_transport_is_left_to_twisteds_write():
    lost = TCP(lost=True)
    write_now(lost, b"frame")
    assert lost.wire == b"" and buffered_bytes(lost) == 5  # its doWrite finds the loss
    closing = TCP()
    closing.disconnecting = True
    write_now(closing, b"frame")
    assert closing.wire == b""
    tls = StringTransport()  # no writeSomeData: TLS, or a test's transport
    write_now(tls, b"frame")
    assert tls.value() == b"frame"


def test_an_open_chat_socket_writes_its_frames_now_and_autobahn_queues_the_rest():
    from daphne.ws_protocol import WebSocketFactory

    factory = WebSocketFactory(None, server="streamchat")
    factory.protocol = ChatSocket
    factory.setProtocolOptions(openHandshakeTimeout=0)
    protocol = factory.buildProtocol(None)
    tcp = TCP()
    protocol.makeConnection(tcp)
    protocol.state = protocol.STATE_OPEN
    protocol.sendMessage(b"hello")
    assert tcp.wire == b"\x81\x05hello"  # a text frame, unmasked, on the wire already
    assert protocol.trafficStats.outgoingOctetsWireLevel == 7
    # A chopped or synchronous write waiting, autobahn's next send already due:
    protocol.send_queue.append((b"queued", True))
    protocol.triggered = True
    protocol.sendData(b"after")  # behind it, in autobahn's queue
    assert [data for data, _ in protocol.send_queue] == [b"queued", b"after"]
    assert tcp.wire == b"\x81\x05hello"
    protocol.send_queue.clear()
    protocol.triggered = False
    protocol.state = protocol.STATE_CLOSING  # the closing handshake's frames: autobahn's way
    protocol.sendData(b"bye")
    assert tcp.wire == b"\x81\x05hello" and buffered_bytes(tcp) == 3
