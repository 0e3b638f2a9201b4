import asyncio
import contextlib
import time

import pytest
import redis
import websockets

from tests.fakes.script import Fault, Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import Server, manage, server_env, sign_in, stored_answer

CONTINUATION = ["and ", "the ", "rest."]
SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def test_a_killed_process_leaves_the_answer_interrupted_with_its_text_and_continue_ends_it(
    tmp_path,
):
    script = Script(word_count=800, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script, Script(tokens=CONTINUATION))
        env = server_env(
            tmp_path, fake.openai_base_url, HEARTBEAT_INTERVAL_S="0.2", HEARTBEAT_STALE_AFTER_S="1"
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        first = Server(env, tmp_path / "first.log").start()
        second = Server(env, tmp_path / "second.log")
        try:
            tab = await Tab.open(first.ws, session)
            await tab.send(
                {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
            )
            message = (await tab.until("message.start"))["message"]
            held_at: list[tuple[float, int]] = []
            started = time.monotonic()
            while time.monotonic() - started < 1.5:
                await tab.receive()
                held_at.append((time.monotonic(), len(tab.text.get(message, ""))))
            killed_at = time.monotonic()
            first.kill()
            # What the user saw a checkpoint interval (500 ms) before the crash must survive.
            must_keep = max(n for t, n in held_at if t <= killed_at - 0.5)

            second.start()
            await asyncio.sleep(1.2)  # past HEARTBEAT_STALE_AFTER_S
            tab = await Tab.open(second.ws, session)
            await tab.send({"type": "resume", "message": message, "offset": 0})
            end = await tab.until("message.end")
            assert end["status"] == "interrupted"
            assert end["error"]
            kept = tab.text[message]
            assert len(kept) >= must_keep > 0
            assert script.answer_text().startswith(kept)

            await tab.send({"type": "continue", "message": message})
            end = await tab.until("message.end")
            await tab.close()
            assert end["status"] == "complete"
            assert tab.text[message] == kept + "".join(CONTINUATION)
            assert fake.requests[-1].body["messages"][-1] == {"role": "assistant", "content": kept}
        finally:
            first.kill()
            second.stop()


async def held_when_closed(tab: Tab) -> None:
    """Read what the killed process had already written to the tab's socket."""
    with contextlib.suppress(websockets.ConnectionClosed, TimeoutError):
        while True:
            await tab.receive(timeout=5)


@pytest.mark.services
async def test_with_redis_a_killed_process_leaves_exactly_the_text_the_tab_was_shown(
    tmp_path, shared_services
):
    database_url, redis_url = shared_services
    # 60 tokens, then nothing: everything the model said has been flushed to the tab when the
    # process is killed, and no checkpoint has stored any of it (the first is due at 4 s).
    script = Script(word_count=400, tokens_per_second=300, fault=Fault.stall(after=60))
    shown = "".join(script.answer_tokens()[:60])
    with FakeUpstream() as fake:
        fake.enqueue(script)
        env = server_env(
            tmp_path,
            fake.openai_base_url,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            CHECKPOINT_INTERVAL_MS="4000",
            HEARTBEAT_INTERVAL_S="0.2",
            HEARTBEAT_STALE_AFTER_S="6",
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        first = Server(env, tmp_path / "first.log").start()
        second = Server(env, tmp_path / "second.log")
        try:
            tab = await Tab.open(first.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]
            while tab.text.get(message, "") != shown:
                await tab.receive(timeout=10)
            first.kill()
            await held_when_closed(tab)
            assert stored_answer(env, message) == ("streaming", "")  # no checkpoint yet

            second.start()
            other = await Tab.open(second.ws, session)
            await other.send({"type": "resume", "message": message, "offset": 0})
            end = await other.until("message.end", timeout=30)
            await other.close()
        finally:
            first.kill()
            second.stop()
        assert end["status"] == "interrupted"
        assert tab.text[message] == shown
        assert end["length"] == len(shown)
        assert other.text[message] == shown
        assert stored_answer(env, message) == ("interrupted", shown)
        assert not redis.Redis.from_url(redis_url).keys("chat:journal:*")


@pytest.mark.services
async def test_with_redis_nothing_a_tab_was_shown_is_lost_when_killed_mid_flow(
    tmp_path, shared_services
):
    database_url, redis_url = shared_services
    script = Script(word_count=800, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script)
        env = server_env(
            tmp_path,
            fake.openai_base_url,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            HEARTBEAT_INTERVAL_S="0.2",
            HEARTBEAT_STALE_AFTER_S="1",
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        first = Server(env, tmp_path / "first.log").start()
        second = Server(env, tmp_path / "second.log")
        try:
            tab = await Tab.open(first.ws, session)
            await tab.send(SEND)
            message = (await tab.until("message.start"))["message"]
            while len(tab.text.get(message, "")) < 300:
                await tab.receive(timeout=10)
            first.kill()  # while tokens flow: a flush may be journaled and not yet sent
            await held_when_closed(tab)
            shown = tab.text[message]

            second.start()
            await asyncio.sleep(1.2)  # past HEARTBEAT_STALE_AFTER_S
            other = await Tab.open(second.ws, session)
            await other.send({"type": "resume", "message": message, "offset": 0})
            end = await other.until("message.end")
            await other.close()
        finally:
            first.kill()
            second.stop()
        assert end["status"] == "interrupted"
        status, stored = stored_answer(env, message)
        assert status == "interrupted"
        assert stored.startswith(shown)  # the checkpoints alone lose up to 500 ms of it
        assert script.answer_text().startswith(stored)
        assert other.text[message] == stored
