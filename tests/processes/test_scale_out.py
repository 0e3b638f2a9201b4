import asyncio
import time

import httpx
import psycopg
import pytest

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab, sse_events
from tests.processes.servers import Server, manage, running, server_env, sign_in

pytestmark = pytest.mark.services

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def test_an_answer_started_on_one_process_is_watched_resumed_and_stopped_on_another(
    tmp_path, shared_services
):
    database_url, redis_url = shared_services
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=3000, tokens_per_second=100))
        env = server_env(
            tmp_path, fake.openai_base_url, DATABASE_URL=database_url, REDIS_URL=redis_url
        )
        manage(env, "migrate", "--noinput")
        session, token = sign_in(env, "alice")
        a, b = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(a, b):
            on_a = await Tab.open(a.ws, session)
            await on_a.send(SEND)
            message = (await on_a.until("message.start"))["message"]
            for _ in range(5):
                await on_a.receive()

            # A second tab, on the other process, joins from the start.
            on_b = await Tab.open(b.ws, session)
            await on_b.send({"type": "resume", "message": message, "offset": 0})
            assert (await on_b.receive())["type"] == "message.start"
            for _ in range(5):
                await on_b.receive()

            # A script resumes it over SSE on the other process too.
            async with httpx.AsyncClient() as client:
                auth = {"Authorization": f"Bearer {token}"}
                url = f"{b.http}/api/messages/{message}/stream?offset=0"
                sse_text = ""

                async def read_sse():
                    nonlocal sse_text
                    async for event, _, data in sse_events(client, "GET", url, headers=auth):
                        if event == "delta":
                            sse_text = sse_text + data["text"][len(sse_text) - data["offset"] :]
                        if event == "message.end":
                            return data

                reader = asyncio.create_task(read_sse())
                await asyncio.sleep(0.5)

                # Stop from process B: the owner, process A, closes the upstream stream.
                await on_b.send({"type": "stop", "message": message})
                stopped_at = time.monotonic()
                end_a = await on_a.until("message.end")
                end_b = await on_b.until("message.end")
                end_sse = await asyncio.wait_for(reader, 10)
            await on_a.close()
            await on_b.close()

        assert end_a["status"] == end_b["status"] == end_sse["status"] == "stopped"
        record = fake.requests[0]
        assert fake.wait_for(lambda: record.disconnected_at is not None, timeout=2)
        assert record.disconnected_at - stopped_at < 0.5
        with psycopg.connect(database_url.replace("postgres://", "postgresql://")) as conn:
            stored, status = conn.execute(
                "select text, status from chat_message where id = %s", (message,)
            ).fetchone()
        assert status == "stopped"
        assert on_a.text[message] == on_b.text[message] == sse_text == stored
        assert 0 < len(stored) < len(Script(word_count=3000).answer_text())
