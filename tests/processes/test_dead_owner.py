"""An answer whose process was killed: every tab and script following it is told it was
interrupted, by whichever process they reach, without a new answer being started."""

import asyncio
import time

import pytest

from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.processes.clients import Tab
from tests.processes.servers import (
    Server,
    count_rows,
    manage,
    running,
    server_env,
    sign_in,
    stored_answer,
)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
STALE_AFTER = 8.0  # long enough to restart a process inside it


async def status_after(env, message: int, within: float) -> str:
    """The answer's stored status once it is no longer streaming, or after ``within`` s."""
    for _ in range(int(within * 10)):
        status = stored_answer(env, message)[0]
        if status != "streaming":
            return status
        await asyncio.sleep(0.1)
    return stored_answer(env, message)[0]


async def stream_for(tab: Tab, seconds: float) -> int:
    """Start an answer and read it for ``seconds``; its id."""
    await tab.send(SEND)
    message = (await tab.until("message.start"))["message"]
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        await tab.receive()
    return message


async def test_a_resume_sent_inside_the_stale_window_to_a_restarted_process_is_answered(
    tmp_path,
):
    script = Script(word_count=800, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script)
        env = server_env(
            tmp_path,
            fake.openai_base_url,
            HEARTBEAT_INTERVAL_S="0.2",
            HEARTBEAT_STALE_AFTER_S=str(STALE_AFTER),
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        first = Server(env, tmp_path / "first.log").start()
        second = Server(env, tmp_path / "second.log")
        try:
            tab = await Tab.open(first.ws, session)
            message = await stream_for(tab, 1.0)
            held = tab.text[message]
            first.kill()
            killed_at = time.monotonic()
            messages = count_rows(env, "chat_message")

            second.start()
            # The tab reconnects and resumes from what it holds, as the page does, while the
            # dead process's heartbeat is still fresh: the row still says "streaming".
            tab = await Tab.open(second.ws, session)
            tab.text[message] = held
            await tab.send({"type": "resume", "message": message, "offset": len(held)})
            assert time.monotonic() - killed_at < STALE_AFTER, "restarting took too long"
            end = await tab.until("message.end", timeout=STALE_AFTER + 10)
            await tab.close()
        finally:
            first.kill()
            second.stop()
        assert end["status"] == "interrupted"
        assert end["error"]
        status, text = stored_answer(env, message)
        assert status == "interrupted"
        assert held.startswith(text) and text
        # Nothing new was started for it: one request upstream, no new rows.
        assert len(fake.requests) == 1
        assert count_rows(env, "chat_message") == messages


async def test_a_restarted_process_sweeps_stale_answers_before_anyone_asks(tmp_path):
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=800, tokens_per_second=100))
        env = server_env(
            tmp_path, fake.openai_base_url, HEARTBEAT_INTERVAL_S="0.2", HEARTBEAT_STALE_AFTER_S="1"
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        first = Server(env, tmp_path / "first.log").start()
        second = Server(env, tmp_path / "second.log")
        try:
            tab = await Tab.open(first.ws, session)
            message = await stream_for(tab, 0.5)
            first.kill()
            await asyncio.sleep(1.5)  # past the stale window
            assert stored_answer(env, message)[0] == "streaming"
            second.start()  # no request reaches it
            status = await status_after(env, message, within=10)
        finally:
            first.kill()
            second.stop()
        assert status == "interrupted"


@pytest.mark.services
async def test_tabs_on_a_surviving_process_are_told_when_the_owner_dies(tmp_path, shared_services):
    database_url, redis_url = shared_services
    script = Script(word_count=3000, tokens_per_second=100)
    with FakeUpstream() as fake:
        fake.enqueue(script)
        env = server_env(
            tmp_path,
            fake.openai_base_url,
            DATABASE_URL=database_url,
            REDIS_URL=redis_url,
            HEARTBEAT_INTERVAL_S="0.2",
            HEARTBEAT_STALE_AFTER_S="2",
        )
        manage(env, "migrate", "--noinput")
        session, _ = sign_in(env, "alice")
        owner, survivor = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(owner, survivor):
            on_owner = await Tab.open(owner.ws, session)
            message = await stream_for(on_owner, 0.5)
            # Another tab follows it through the surviving process.
            watching = await Tab.open(survivor.ws, session)
            await watching.send({"type": "resume", "message": message, "offset": 0})
            started = time.monotonic()
            while time.monotonic() - started < 0.5:
                await watching.receive()
            owner.kill()
            killed_at = time.monotonic()
            # A third tab asks to stop it, inside the stale window (the stop goes nowhere)...
            stopping = await Tab.open(survivor.ws, session)
            await stopping.send({"type": "stop", "message": message})
            # ...and the watching tab is told it ended, within the heartbeat window.
            end = await watching.until("message.end", timeout=15)
            told_after = time.monotonic() - killed_at
            await watching.close()
            # A stop once the owner is known dead is answered in the database at once.
            await stopping.send({"type": "stop", "message": message})
            await stopping.send({"type": "resume", "message": message, "offset": 0})
            replayed = await stopping.until("message.end", timeout=5)
            await stopping.close()
        assert end["status"] == replayed["status"] == "interrupted"
        assert told_after < 2 + 5  # the stale window, and a few heartbeat intervals
        status, text = stored_answer(env, message)
        assert status == "interrupted"
        assert text and watching.text[message].startswith(text)
        assert stopping.text[message] == text
        assert len(fake.requests) == 1


@pytest.mark.services
async def test_a_stop_for_an_answer_whose_owner_died_marks_it_interrupted(
    tmp_path, shared_services
):
    database_url, redis_url = shared_services
    with FakeUpstream() as fake:
        fake.enqueue(Script(word_count=3000, tokens_per_second=100))
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
        owner, survivor = Server(env, tmp_path / "a.log"), Server(env, tmp_path / "b.log")
        with running(owner, survivor):
            message = await stream_for(await Tab.open(owner.ws, session), 0.5)
            owner.kill()
            await asyncio.sleep(1.5)  # past the stale window
            tab = await Tab.open(survivor.ws, session)
            await tab.send({"type": "stop", "message": message})
            status = await status_after(env, message, within=5)
            await tab.close()
        assert status == "interrupted"
