"""Redis unavailable for a few seconds while an answer streams on one of two processes: the
answer goes on, and when Redis is back a tab on the other process can join and stop it, and new
chats work."""

from __future__ import annotations

import asyncio
import uuid

import psycopg
import pytest
import redis
import websockets

from tests.conftest import require_service
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, running, server_env, sign_in
from tests.security.outage import Outage
from tests.security.test_database_outage import ADMIN, SEND, read_for, stored

pytestmark = pytest.mark.services
REDIS_DB = 13


@pytest.fixture
def services():
    require_service("PostgreSQL", "127.0.0.1", 5432)
    require_service("Redis", "127.0.0.1", 6379)
    name = f"redis_outage_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(ADMIN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
    try:
        with Outage("127.0.0.1", 6379) as proxy:
            yield proxy, name
    finally:
        redis.Redis.from_url(f"redis://127.0.0.1:6379/{REDIS_DB}").flushdb()
        with psycopg.connect(ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def environment(tmp_path, fake, proxy, name) -> tuple[dict[str, str], str]:
    env = server_env(
        tmp_path,
        fake.openai_base_url,
        DATABASE_URL=f"postgres://postgres@127.0.0.1:5432/{name}",
        REDIS_URL=f"redis://127.0.0.1:{proxy.port}/{REDIS_DB}",
    )
    manage(env, "migrate", "--noinput")
    session, _ = sign_in(env, "alice")
    return env, session


async def outage(proxy: Outage, tab: Tab, seconds: float) -> bool:
    """Take Redis down for ``seconds`` while ``tab`` reads; True if the tab stayed open."""
    proxy.take_down()
    try:
        await read_for(tab, seconds)
        return True
    except websockets.ConnectionClosed:
        return False
    finally:
        proxy.bring_back()


async def close(*tabs: Tab) -> None:
    for tab in tabs:
        try:
            await tab.close()
        except websockets.ConnectionClosed:
            pass


async def test_an_answer_outlives_a_redis_outage_and_service_resumes(tmp_path, services):
    proxy, name = services
    script = Script(word_count=800, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script)
        env, session = environment(tmp_path, fake, proxy, name)
        a, b = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(a, b):
            on_a = await Tab.open(a.ws, session)
            await on_a.send(SEND)
            message = (await on_a.until("message.start"))["message"]
            await read_for(on_a, 1.0)
            await outage(proxy, on_a, 3.0)
            # As the page does after a dropped socket: reconnect and resume from what it holds.
            held = on_a.text.get(message, "")
            again = await Tab.open(a.ws, session)
            again.text[message] = held
            await again.send({"type": "resume", "message": message, "offset": len(held)})
            end = await again.until("message.end", timeout=30)
            assert end["status"] == "complete"
            assert again.text[message] == script.answer_text()
            assert stored(name, message) == ("complete", script.answer_text())

            fake.enqueue(Script(text="Redis is back."))
            on_b = await Tab.open(b.ws, session)
            await on_b.send(SEND)
            end = await on_b.until("message.end")
            assert (end["status"], on_b.text[end["message"]]) == ("complete", "Redis is back.")
            await close(on_a, again, on_b)
            assert a.process.poll() is None and b.process.poll() is None


async def test_after_a_redis_outage_another_process_can_join_and_stop_the_answer(
    tmp_path, services
):
    proxy, name = services
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=3000, tokens_per_second=100))
        env, session = environment(tmp_path, fake, proxy, name)
        a, b = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(a, b):
            on_a = await Tab.open(a.ws, session)
            await on_a.send(SEND)
            message = (await on_a.until("message.start"))["message"]
            await read_for(on_a, 1.0)
            await outage(proxy, on_a, 3.0)
            await asyncio.sleep(1.0)

            on_b = await Tab.open(b.ws, session)
            try:
                await on_b.send({"type": "resume", "message": message, "offset": 0})
                assert (await on_b.receive(timeout=10))["type"] == "message.start"
                await on_b.until("delta", timeout=10)
                await on_b.send({"type": "stop", "message": message})
                end = await on_b.until("message.end", timeout=10)
            finally:
                await close(on_a, on_b)
            assert end["status"] == "stopped"
            status, text = stored(name, message)
            assert status == "stopped" and text == on_b.text[message]


async def test_open_sockets_stay_open_through_a_redis_outage(tmp_path, services):
    proxy, name = services
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=800, tokens_per_second=100))
        env, session = environment(tmp_path, fake, proxy, name)
        a = Server(env, tmp_path / "a.log")
        with running(a):
            tab = await Tab.open(a.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]
            await read_for(tab, 1.0)
            held = len(tab.text.get(message, ""))
            stayed_open = await outage(proxy, tab, 3.0)
            await close(tab)
            assert stayed_open
            assert len(tab.text[message]) > held
