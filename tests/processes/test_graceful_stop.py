"""A process sent SIGTERM (every deploy) or SIGINT stops gracefully: each answer it writes
stores exactly the text its clients were sent, as interrupted, and tells them, then it exits."""

import asyncio
import signal
import time

import httpx
import pytest

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab, sse_events
from tests.processes.servers import Server, manage, server_env, sign_in, stored_answer

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
async def test_a_stopped_process_stores_what_its_clients_were_sent_and_tells_them(tmp_path, number):
    script = Script(word_count=3000, tokens_per_second=100)
    continuation = Script(tokens=["and ", "the ", "rest."])
    with FakeUpstream() as fake:
        fake.enqueue(script, Script(word_count=3000, tokens_per_second=100), continuation)
        # Checkpoints far apart: what is stored must come from the stop, not a checkpoint.
        env = server_env(tmp_path, fake.openai_base_url, CHECKPOINT_INTERVAL_MS="60000")
        manage(env, "migrate", "--noinput")
        session, token = sign_in(env, "alice")
        server = Server(env, tmp_path / "server.log").start()
        later = Server(env, tmp_path / "later.log")
        try:
            tab = await Tab.open(server.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]

            # A script follows a second answer over SSE.
            async with httpx.AsyncClient() as client:
                auth = {"Authorization": f"Bearer {token}"}
                events = []

                async def read_sse():
                    url = f"{server.http}/api/chat"
                    async for event, _, data in sse_events(
                        client, "POST", url, headers=auth, json={**SEND, "conversation": None}
                    ):
                        events.append((event, data))

                reader = asyncio.create_task(read_sse())
                started = time.monotonic()
                while time.monotonic() - started < 1.0:
                    await tab.receive()
                server.signal(number)
                end = await tab.until("message.end", timeout=10)
                await asyncio.wait_for(reader, 10)
            assert server.exited(timeout=15) is not None, "the process did not exit"

            assert end["status"] == "interrupted"
            assert "restarted" in end["error"]
            status, text = stored_answer(env, message)
            assert status == "interrupted"
            assert text == tab.text[message]  # exactly what the tab held: nothing lost
            assert len(text) > 0
            assert script.answer_text().startswith(text)

            sse_text = ""
            for event, data in events:
                if event == "delta":
                    sse_text = sse_text + data["text"][len(sse_text) - data["offset"] :]
            assert events[-1][0] == "message.end"
            assert events[-1][1]["status"] == "interrupted"
            assert stored_answer(env, events[-1][1]["message"]) == ("interrupted", sse_text)

            # Another process continues it from exactly there.
            later.start()
            tab = await Tab.open(later.ws, session)
            tab.text[message] = text
            await tab.send({"type": "continue", "message": message})
            end = await tab.until("message.end")
            await tab.close()
            assert end["status"] == "complete"
            assert tab.text[message] == text + "and the rest."
        finally:
            server.kill()
            later.stop()
