"""PostgreSQL unavailable for a few seconds while answers stream (every connection reset, new
ones refused, as in a restart): the answer goes on or ends with its text kept, nothing crashes,
and service resumes when the database is back."""

from __future__ import annotations

import asyncio
import time
import uuid

import psycopg
import pytest

from tests.conftest import require_service
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, server_env, sign_in
from tests.security.outage import Outage

pytestmark = pytest.mark.services

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def database():
    """A fresh database, reached directly (for the test) and through an outage proxy (for the
    server)."""
    require_service("PostgreSQL", "127.0.0.1", 5432)
    name = f"outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        with Outage("127.0.0.1", 5432) as proxy:
            yield proxy, f"postgres://postgres@127.0.0.1:{proxy.port}/{name}", name
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def stored(name: str, message: int) -> tuple[str, str]:
    with psycopg.connect(f"postgresql://postgres@127.0.0.1:5432/{name}") as conn:
        return conn.execute(
            "select status, text from chat_message where id = %s", (message,)
        ).fetchone()


async def read_for(tab: Tab, seconds: float) -> dict | None:
    """Frames for ``seconds`` (or until the answer ends): the end frame, if it came."""
    deadline = time.monotonic() + seconds
    while (left := deadline - time.monotonic()) > 0:
        try:
            frame = await tab.receive(timeout=left)
        except TimeoutError:
            return None
        if frame["type"] == "message.end":
            return frame
    return None


async def outage_while(tab: Tab, proxy: Outage, seconds: float) -> dict | None:
    proxy.take_down()
    try:
        return await read_for(tab, seconds)
    finally:
        proxy.bring_back()


def start_server(tmp_path, fake, database_url: str, **extra: str) -> tuple[Server, str]:
    env = server_env(
        tmp_path,
        fake.openai_base_url,
        DATABASE_URL=database_url,
        CHECKPOINT_INTERVAL_MS="100",
        HEARTBEAT_INTERVAL_S="0.2",
        HEARTBEAT_STALE_AFTER_S="1.5",
        **extra,
    )
    manage(env, "migrate", "--noinput")
    session, _ = sign_in(env, "alice")
    return Server(env, tmp_path / "server.log").start(), session


async def assert_serving(server: Server, session: str, fake: FakeUpstream) -> None:
    fake.enqueue(Script(text="The database is back."))
    tab = await Tab.open(server.ws, session)
    await tab.send(SEND)
    end = await tab.until("message.end")
    await tab.close()
    assert end["status"] == "complete"
    assert tab.text[end["message"]] == "The database is back."


async def test_an_answer_streaming_through_an_outage_ends_with_its_text_kept(tmp_path, database):
    proxy, url, name = database
    script = Script(word_count=600, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script)
        server, session = start_server(tmp_path, fake, url)
        try:
            tab = await Tab.open(server.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]
            assert await read_for(tab, 1.0) is None
            end = await outage_while(tab, proxy, 3.0)
            if end is None:
                end = await tab.until("message.end", timeout=30)
            await tab.close()

            assert end["status"] in ("complete", "failed")
            status, text = stored(name, message)
            assert status == end["status"]
            assert text == tab.text[message]
            if status == "complete":
                assert text == script.answer_text()
            await assert_serving(server, session, fake)
            assert server.process.poll() is None
        finally:
            server.stop()


async def test_checkpoints_and_heartbeats_resume_after_an_outage(tmp_path, database):
    proxy, url, name = database
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=1500, tokens_per_second=100))
        server, session = start_server(tmp_path, fake, url)
        try:
            tab = await Tab.open(server.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]
            await read_for(tab, 1.0)
            assert await outage_while(tab, proxy, 2.0) is None
            _, before = stored(name, message)
            await read_for(tab, 3.0)  # longer than HEARTBEAT_STALE_AFTER_S
            status, after = stored(name, message)
            await tab.send({"type": "stop", "message": message})
            await tab.until("message.end")
            await tab.close()
            assert status == "streaming"
            assert len(after) > len(before)
        finally:
            server.stop()


async def test_an_answer_that_ends_during_an_outage_is_stored_whole(tmp_path, database):
    proxy, url, name = database
    script = Script(word_count=150, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script)
        server, session = start_server(tmp_path, fake, url)
        try:
            tab = await Tab.open(server.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]
            await read_for(tab, 0.5)
            # The answer's text ends in here; its end is announced once it is stored.
            end = await outage_while(tab, proxy, 4.0) or await tab.until("message.end", timeout=30)
            assert len(tab.text[message]) == len(script.answer_text())
            await asyncio.sleep(3.0)  # past HEARTBEAT_STALE_AFTER_S: any sweep has happened
            await tab.close()
            status, text = stored(name, message)
            assert (status, text) == (end["status"], tab.text[message])
        finally:
            server.stop()
