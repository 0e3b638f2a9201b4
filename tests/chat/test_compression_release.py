"""A socket's permessage-deflate state is let go when it is not in use (``chat.web.compression``):
what the server sends after it let go of its compressor still reads exactly for a client that
kept its own context; what a client sends reads exactly with the server's decompressor let go
after each message; the consumer lets go of the compressor only once no answer streams
(``MID_ANSWER``)."""

from __future__ import annotations

import gc
import json
import zlib

import pytest
from autobahn.websocket.compress import PerMessageDeflate, PerMessageDeflateOffer
from twisted.internet.testing import StringTransport

from chat import answers
from chat.models import Conversation, Message
from chat.queues import Inbox
from chat.web import compression, sockets
from chat.web.server import COMPRESSION, add_to_scope
from chat.web.socket import ChatConsumer
from tests.conftest import connect

TAIL = b"\x00\x00\xff\xff"  # what RFC 7692 takes off the end of each message, and back on
DELTA = json.dumps({"type": "delta", "message": 7, "seq": 3, "offset": 120, "text": "Hello"})


def negotiated() -> PerMessageDeflate:
    """The server's side of a socket, negotiated as with a browser's offer."""
    offer = PerMessageDeflateOffer.parse({"client_max_window_bits": [True]})
    accepted = compression.accept([offer])
    assert "client_no_context_takeover" in accepted.get_extension_string()
    return PerMessageDeflate.create_from_offer_accept(True, accepted)


def sent(deflate: PerMessageDeflate, text: str) -> bytes:
    """One message as autobahn sends it."""
    deflate.start_compress_message()
    data = deflate.compress_message_data(text.encode())
    return data + deflate.end_compress_message()


def received(deflate: PerMessageDeflate, *parts: bytes, between=None) -> str:
    """One message as autobahn reads it, frame by frame; ``between`` is called between frames."""
    deflate.start_decompress_message()
    out = b""
    for i, part in enumerate(parts):
        if i and between is not None:
            between()
        out += deflate.decompress_message_data(part + (TAIL if i == len(parts) - 1 else b""))
    deflate.end_decompress_message()
    return out.decode()


def test_frames_sent_after_a_release_read_exactly_for_a_client_that_kept_its_context():
    deflate = negotiated()
    client = zlib.decompressobj(-compression.WINDOW_BITS)  # a browser's, kept for the socket
    first, again = sent(deflate, DELTA), sent(deflate, DELTA)
    assert len(again) < len(first) / 3  # with context: the same frame is a back-reference
    compression.release_compressor(deflate)
    assert deflate._compressor is None
    after = sent(deflate, DELTA)
    assert after == first  # a fresh compressor: it refers to nothing sent before
    for data in (first, again, after, sent(deflate, DELTA)):
        assert client.decompress(data + TAIL).decode() == DELTA


def client_message(text: str) -> tuple[bytes, bytes]:
    """A message from a client told no context takeover, which compresses each message on its
    own, in two frames as a client may send it."""
    own = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -10)
    data = (own.compress(text.encode()) + own.flush(zlib.Z_SYNC_FLUSH))[:-4]
    return data[: len(data) // 2], data[len(data) // 2 :]


def test_what_a_client_sends_reads_exactly_with_its_decompressor_let_go_after_each_message():
    deflate = negotiated()
    text = json.dumps({"type": "send", "content": "Tell me about deflate. " * 40})
    for _ in range(3):
        assert received(deflate, *client_message(text)) == text
        compression.release_decompressor(deflate)
        assert deflate._decompressor is None


def test_a_client_that_keeps_its_context_keeps_the_servers_decompressor():
    deflate = negotiated()
    deflate.client_no_context_takeover = False  # as if the client had not agreed
    received(deflate, sent(negotiated(), DELTA))
    compression.release_decompressor(deflate)
    assert deflate._decompressor is not None


async def test_the_server_lets_go_of_a_sockets_decompressor_as_each_message_is_read():
    from daphne.ws_protocol import WebSocketFactory

    from chat.web.server import ChatServer, ChatSocket

    factory = WebSocketFactory(None, server="streamchat")
    ChatServer.__new__(ChatServer).ws_factory = factory  # as Daphne's run() sets it
    assert factory.protocol is ChatSocket
    assert factory.perMessageCompressionAccept is compression.accept
    factory.setProtocolOptions(openHandshakeTimeout=0)
    protocol = factory.buildProtocol(None)
    protocol.makeConnection(StringTransport())
    protocol.application_queue = Inbox()
    protocol.muted, protocol.client_addr = False, ["127.0.0.1", 50000]
    protocol._perMessageCompress = negotiated()
    text = json.dumps({"type": "stop", "message": 7})
    assert received(protocol._perMessageCompress, *client_message(text)) == text
    protocol.onMessage(text.encode(), False)
    assert protocol._perMessageCompress._decompressor is None
    assert await protocol.application_queue.get() == {"type": "websocket.receive", "text": text}
    protocol._perMessageCompress = None  # an uncompressed socket: nothing to let go
    protocol.onMessage(text.encode(), False)
    assert (await protocol.application_queue.get())["text"] == text


def test_the_scopes_release_holds_its_socket_weakly():
    class Protocol:
        transport = None
        inside_message = False

    protocol = Protocol()
    protocol._perMessageCompress = negotiated()
    sent(protocol._perMessageCompress, DELTA)
    scope: dict = {}
    add_to_scope(protocol, scope)
    release = scope["extensions"][COMPRESSION]["release"]
    received(protocol._perMessageCompress, sent(negotiated(), DELTA))
    assert sockets.release_of(scope) is release and COMPRESSION == sockets.COMPRESSION
    release()
    assert protocol._perMessageCompress._compressor is None
    assert protocol._perMessageCompress._decompressor is not None  # the protocol's to free
    protocol._perMessageCompress = None  # not compressed: nothing to let go
    release()
    del protocol
    gc.collect()
    release()  # closed and gone: nothing to let go


async def test_the_consumer_lets_go_after_each_frame_but_those_of_an_answer_under_way():
    consumer = ChatConsumer()
    consumer.open = True
    log: list[str] = []

    async def send(text_data: str) -> None:
        log.append(json.loads(text_data)["type"])

    consumer.send = send
    consumer.release = lambda: log.append("let go")
    frames = [
        answers.Frame(type="message.start", message=7),
        answers.Frame(type="message.phase", message=7, phase="thinking", elapsed_ms=5),
        answers.Frame(type="delta", part="reasoning", message=7, seq=1, offset=0, text="Hm"),
        answers.Frame(type="tool.call", message=7, call={}, result=None),
        answers.Frame(type="delta", message=7, seq=2, offset=0, text="Hi"),
        answers.Frame(type="message.end", message=7, status="complete"),
        answers.Frame(type="conversation.title", conversation=3, title="Hi"),
    ]
    for frame in frames:
        assert await consumer.deliver(frame)
    assert log == [
        *("message.start", "message.phase", "delta", "tool.call", "delta"),
        *("message.end", "let go", "conversation.title", "let go"),
    ]


@pytest.mark.django_db(transaction=True)
async def test_a_signed_in_socket_is_given_its_release(alice):
    conversation = await Conversation.objects.acreate(owner=alice, model="openai:gpt-test")
    message = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="complete", seq=1, text="x" * 1000
    )
    releases = []
    ws = await connect(alice, extensions={COMPRESSION: {"release": lambda: releases.append(1)}})
    await ws.send_json_to({"type": "resume", "message": message.pk, "offset": 0})
    seen = [(await ws.receive_json_from())["type"] for _ in range(3)]
    assert seen == ["message.start", "delta", "message.end"]
    assert len(releases) == 1  # after the end: the frames before it were of the answer
    await ws.send_json_to({"type": "resume", "message": message.pk + 1000, "offset": 0})
    assert (await ws.receive_json_from())["type"] == "error"
    assert len(releases) == 2
    await ws.disconnect()
