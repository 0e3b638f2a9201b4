"""permessage-deflate on the sockets of a real server process (``python -m chat.web.server``):
a client that offers it, as browsers do, gets it and reads every answer exactly; with
``WEBSOCKET_COMPRESSION=false`` it is never negotiated."""

from __future__ import annotations

import json

import pytest
import websockets
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, server_env, sign_in

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


class CountingConnection(websockets.ClientConnection):
    """Counts the bytes that come off the socket and the bytes of the messages they carried."""

    wire_bytes = 0
    message_bytes = 0

    def data_received(self, data: bytes) -> None:
        self.wire_bytes += len(data)
        super().data_received(data)

    async def recv(self, *args, **kwargs):
        message = await super().recv(*args, **kwargs)
        self.message_bytes += len(message.encode() if isinstance(message, str) else message)
        return message


@pytest.fixture
def serve(tmp_path):
    """Starts a server with the given settings, whose first answer is ``script``."""
    with FakeUpstream() as fake:
        started = []

        def start(script: Script, **settings: str) -> tuple[Server, str]:
            fake.enqueue(script)
            env = server_env(tmp_path, fake.openai_base_url, **settings)
            manage(env, "migrate", "--noinput")
            session, _ = sign_in(env, "alice")
            server = Server(env, tmp_path / "server.log").start()
            started.append(server)
            return server, session

        yield start
        for server in started:
            server.stop()
    assert "Traceback" not in (tmp_path / "server.log").read_text()


async def open_tab(server: Server, session: str, **options) -> Tab:
    socket = await websockets.connect(
        server.ws,
        additional_headers={"Cookie": f"sessionid={session}", "Origin": server.http},
        create_connection=CountingConnection,
        **options,
    )
    return Tab(socket)


async def answer(tab: Tab, script: Script | None = None) -> str:
    """The text of one answer, read delta by delta, every offset checked; the answer is
    ``script`` if given, else the next the fake upstream has."""
    content = SEND["content"] if script is None else "fake:" + json.dumps(script.to_dict())
    await tab.send({**SEND, "content": content})
    message = (await tab.until("message.start"))["message"]
    assert (await tab.until("message.end"))["status"] == "complete"
    return tab.text[message]


async def test_it_negotiates_deflate_with_a_client_that_offers_it_as_browsers_do(serve):
    script = Script(word_count=300, tokens_per_second=400)
    server, session = serve(script)
    # The websockets client offers what Chromium and Firefox do:
    # permessage-deflate; client_max_window_bits
    tab = await open_tab(server, session)
    extensions = tab.socket.response.headers["Sec-WebSocket-Extensions"]
    assert extensions.split(";")[0] == "permessage-deflate"
    # The client is asked for a small window, so that the server's decompressor stays small;
    # the server's own smaller window needs no saying.
    assert "client_max_window_bits=10" in extensions
    assert "server_max_window_bits" not in extensions
    # And to compress each of its messages on its own, so that the server need not keep a
    # decompressor between them.
    assert "client_no_context_takeover" in extensions

    assert await answer(tab) == script.answer_text()
    # The frames came compressed: far fewer bytes on the wire than they decompressed to.
    assert tab.socket.wire_bytes < tab.socket.message_bytes / 2
    await tab.close()


async def test_the_next_answer_reads_exactly_after_the_server_let_go_of_its_compressor(serve):
    # After an answer's end the server frees the socket's compressor and decompressor; the
    # next answer comes from a new compressor into the client's same context, and the client's
    # next frames into a new decompressor.
    first, second = Script(word_count=300, tokens_per_second=400), Script(text="Again: " * 200)
    server, session = serve(first)
    tab = await open_tab(server, session)
    assert await answer(tab) == first.answer_text()
    assert await answer(tab, second) == second.answer_text()
    assert await answer(tab, first) == first.answer_text()
    assert tab.socket.wire_bytes < tab.socket.message_bytes / 2
    await tab.close()


async def test_it_keeps_to_a_smaller_window_a_client_asks_for(serve):
    script = Script(word_count=300, tokens_per_second=400)
    server, session = serve(script)
    offer = ClientPerMessageDeflateFactory(server_max_window_bits=9, client_max_window_bits=True)
    tab = await open_tab(server, session, extensions=[offer], compression=None)
    extensions = tab.socket.response.headers["Sec-WebSocket-Extensions"]
    assert "server_max_window_bits=9" in extensions
    assert await answer(tab) == script.answer_text()
    await tab.close()


async def test_it_does_not_negotiate_deflate_when_the_setting_is_off(serve):
    script = Script(word_count=300, tokens_per_second=400)
    server, session = serve(script, WEBSOCKET_COMPRESSION="false")
    tab = await open_tab(server, session)
    assert "Sec-WebSocket-Extensions" not in tab.socket.response.headers
    assert await answer(tab) == script.answer_text()
    assert tab.socket.wire_bytes > tab.socket.message_bytes  # every byte, and frame headers
    await tab.close()
