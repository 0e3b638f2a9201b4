"""A client that never reads cannot grow the server's memory: once more than
MAX_SOCKET_BACKLOG_BYTES wait to be sent on its socket, the socket is closed (4408) and what
waited is dropped. In a real Daphne process, served as `make run` serves it
(chat/web/server.py), with a socket that asks for a large answer again and again and never
reads; and in process, for the close code."""

from __future__ import annotations

import base64
import json
import os
import socket
import struct
import time
from pathlib import Path

import pytest

from chat.models import Conversation, Message
from chat.web import sockets
from tests.conftest import connect
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, server_env, sign_in

LIMIT = 1_000_000
ANSWER_CHARS = 300_000
LOGGED = "over 1000000 bytes wait to be sent"

BIG_ANSWER = """
from chat.models import Conversation, Message
from django.contrib.auth import get_user_model
user = get_user_model().objects.get(username="alice")
conversation = Conversation.objects.create(owner=user, model="openai:gpt-test", title="big")
message = Message.objects.create(
    conversation=conversation, role="assistant", status="complete", model="openai:gpt-test",
    seq=1, text="".join(chr(0x61 + i % 26) for i in range({chars})),
)
print(message.pk)
"""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class NeverReads:
    """A WebSocket client that sends frames and never reads one (after the handshake), with a
    small receive buffer, as a stuck or hostile client does."""

    def __init__(self, server: Server, session: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.connect(("127.0.0.1", server.port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET /ws/chat/ HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
                f"Origin: {server.http}\r\nCookie: sessionid={session}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
            ).encode()
        )
        response = b""
        while b"\r\n\r\n" not in response:  # only the handshake, byte by byte: nothing more
            response += self.sock.recv(1)
        assert response.startswith(b"HTTP/1.1 101"), response

    def send(self, frame: dict) -> None:
        payload = json.dumps(frame).encode()
        assert len(payload) < 126
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(struct.pack("!BB", 0x81, 0x80 | len(payload)) + mask + masked)

    def flood(self, message_id: int, frames: int) -> bool:
        """Ask for the answer up to ``frames`` times; True once the server has dropped us."""
        for _ in range(frames):
            try:
                self.send({"type": "resume", "message": message_id, "offset": 0})
            except OSError:  # reset by the server
                return True
            time.sleep(0.02)  # pacing only: what is asserted is the outcome
        return False

    def close(self) -> None:
        self.sock.close()


def wait_for(condition, timeout: float = 60) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


async def test_a_socket_that_never_reads_is_closed_and_its_memory_given_back(tmp_path):
    with FakeUpstream() as fake:
        env = server_env(
            tmp_path,
            fake.openai_base_url,
            MAX_SOCKET_BACKLOG_BYTES=str(LIMIT),
            FRAME_RATE_BURST="1000",
            FRAME_RATE_PER_S="1000",
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        created = manage(env, "shell", "-c", BIG_ANSWER.format(chars=ANSWER_CHARS))
        message_id = int(created.splitlines()[-1])
        log = tmp_path / "server.log"
        server = Server(env, log).start()
        try:
            # Warm up as a reading client does: every path the flood takes, once.
            tab = await Tab.open(server.ws, session)
            for _ in range(3):
                await tab.send({"type": "resume", "message": message_id, "offset": 0})
                await tab.until("message.end")
            await tab.close()
            baseline = rss_bytes(server.process.pid)

            for round_ in range(1, 4):
                client = NeverReads(server, session)
                # 150 asks of 300 kB would pile 45 MB up in the server's memory, unbounded.
                dropped = client.flood(message_id, frames=150)
                closed = wait_for(lambda n=round_: log.read_text().count(LOGGED) >= n)
                assert closed, f"round {round_}: the server never closed the socket"
                if not dropped:
                    dropped = client.flood(message_id, frames=100)
                client.close()
                assert dropped, f"round {round_}: the socket stayed open"

            # Memory is back near its level (generous: the allocator keeps some).
            margin = 25_000_000
            back = wait_for(lambda: rss_bytes(server.process.pid) < baseline + margin)
            after = rss_bytes(server.process.pid)
            assert back, f"RSS {baseline / 1e6:.0f} MB before, {after / 1e6:.0f} MB after"

            # The server goes on serving, the same user included.
            tab = await Tab.open(server.ws, session)
            await tab.send({"type": "resume", "message": message_id, "offset": 0})
            await tab.until("message.end")
            assert len(tab.text[message_id]) == ANSWER_CHARS
            await tab.close()
            assert server.process.poll() is None
        finally:
            server.stop()
        assert "Traceback" not in log.read_text()


@pytest.mark.django_db(transaction=True)
async def test_the_close_code_says_the_client_fell_behind(alice, settings):
    settings.MAX_SOCKET_BACKLOG_BYTES = 100_000
    conversation = await Conversation.objects.acreate(owner=alice, model="openai:gpt-test")
    message = await Message.objects.acreate(
        conversation=conversation, role="assistant", status="complete", seq=1, text="x" * 1000
    )
    waiting = [0]  # what the server says waits to be sent, as chat.web.server tells it
    ws = await connect(alice, extensions={sockets.BACKLOG: {"bytes": lambda: waiting[0]}})

    await ws.send_json_to({"type": "resume", "message": message.pk, "offset": 0})
    assert [(await ws.receive_json_from())["type"] for _ in range(3)] == [
        "message.start",
        "delta",
        "message.end",
    ]
    waiting[0] = 100_001
    await ws.send_json_to({"type": "resume", "message": message.pk, "offset": 0})
    assert (await ws.receive_json_from())["type"] == "message.start"
    assert await ws.receive_output() == {"type": "websocket.close", "code": sockets.TOO_FAR_BEHIND}
    assert await ws.receive_nothing()  # nothing more is sent after the close
    await ws.disconnect()


def test_the_server_measures_what_waits_in_twisteds_buffers():
    from twisted.internet.abstract import FileDescriptor
    from twisted.internet.interfaces import ISSLTransport
    from zope.interface import directlyProvides

    from chat.web.server import BACKLOG, add_to_scope, buffered_bytes

    tcp = FileDescriptor.__new__(FileDescriptor)
    tcp.dataBuffer, tcp.offset = b"x" * 1000, 400  # 600 bytes still to write
    tcp._tempDataBuffer, tcp._tempDataLen = [b"y" * 50], 50
    assert buffered_bytes(tcp) == 650

    class TLS:  # a TLS wrapper: cleartext waiting for the handshake, over TCP
        _appSendBuffer = [b"z" * 7]
        transport = tcp

    directlyProvides(TLS, ISSLTransport)
    assert buffered_bytes(TLS) == 657

    class Protocol:
        transport = tcp

    plain, secure, forwarded = {}, {}, {}
    protocol = Protocol()  # the scope holds it weakly: Daphne holds it while it is open
    add_to_scope(protocol, plain)
    assert plain["scheme"] == "ws"
    assert plain["extensions"][BACKLOG]["bytes"]() == 650
    del protocol
    assert plain["extensions"][BACKLOG]["bytes"]() == 0  # closed and gone: nothing waits
    Protocol.transport = TLS
    add_to_scope(Protocol(), secure)
    assert secure["scheme"] == "wss"
    Protocol.transport, Protocol.client_scheme = tcp, "https"  # X-Forwarded-Proto, trusted
    add_to_scope(Protocol(), forwarded)
    assert forwarded["scheme"] == "wss"
    assert BACKLOG == sockets.BACKLOG
