"""Huge frames against a real Daphne process: one over MAX_FRAME_BYTES gets an error frame and the
socket stays; one over Daphne's 1 MiB message limit closes that socket and nothing else;
the process goes on serving."""

from __future__ import annotations

import json

import pytest
import websockets

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, server_env, sign_in

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def test_huge_frames_are_refused_and_the_server_keeps_serving(tmp_path):
    with FakeUpstream(default=Script(text="Still serving.")) as fake:
        env = server_env(tmp_path, fake.openai_base_url)
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        server = Server(env, tmp_path / "server.log").start()
        try:
            tab = await Tab.open(server.ws, session)
            await tab.send({**SEND, "content": "x" * 100_000})
            reply = await tab.receive()
            assert reply["type"] == "error" and reply["code"] == "too_long"

            bystander = await Tab.open(server.ws, session)
            await tab.socket.send(json.dumps({**SEND, "content": "x" * 2_000_000}))
            with pytest.raises(websockets.ConnectionClosed):
                await tab.receive(timeout=10)

            await bystander.send(SEND)
            end = await bystander.until("message.end")
            await bystander.close()
            assert end["status"] == "complete"
            assert "".join(bystander.text.values()) == "Still serving."
            assert server.process.poll() is None
        finally:
            server.stop()
        assert "Traceback" not in (tmp_path / "server.log").read_text()
