"""The answer journal (chat/answers/journal.py): what answers send is in Redis first, written for
all of a process's answers in one round trip per batch, read back by the stale sweeper by the
protocol's offset rules, and never a reason for an answer to fail or stall."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta

import pytest
import redis
import redis.asyncio.client
from django.utils import timezone

from chat.answers import journal, storage
from chat.models import Conversation, Message
from tests.conftest import connect, receive_until, require_service
from tests.fakes.script import Script
from tests.security.outage import Outage

REDIS = "redis://127.0.0.1:6379/15"


def entries_of(message_id: int) -> list[dict[str, str]]:
    client = redis.Redis.from_url(REDIS, decode_responses=True)
    return [fields for _, fields in client.xrange(journal.key(message_id))]


def write(message_id: int, *entries: tuple[str, int, str]) -> None:
    client = redis.Redis.from_url(REDIS)
    for part, offset, text in entries:
        client.xadd(journal.key(message_id), {"part": part, "offset": offset, "text": text})


@pytest.fixture
def journal_on(settings):
    """The journal on, writing to Redis database 15, with no streams left from before."""
    require_service("Redis", "127.0.0.1", 6379)
    settings.REDIS_URL = REDIS
    settings.ANSWER_JOURNAL = True
    client = redis.Redis.from_url(REDIS)
    for name in client.scan_iter("chat:journal:*"):
        client.delete(name)
    yield client
    for name in client.scan_iter("chat:journal:*"):
        client.delete(name)


@pytest.fixture
def warnings():
    """The journal's log records (held on its own logger: Django's logging set-up, run when the
    application is first imported, replaces the root logger's handlers)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.WARNING)
    handler.emit = records.append
    logger = logging.getLogger("chat.answers.journal")
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)


@pytest.fixture
def pipelines(monkeypatch):
    """Every pipeline the journal's writer sends: the commands of each round trip."""
    sent: list[list[str]] = []
    execute = redis.asyncio.client.Pipeline.execute

    async def counted(self, *args, **kwargs):
        sent.append([str(command[0][0]) for command in self.command_stack])
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.asyncio.client.Pipeline, "execute", counted)
    return sent


# The offset rules ------------------------------------------------------------------------------


def test_an_entry_is_applied_by_the_protocols_offset_rules():
    assert journal.extend("Hello", 5, " world") == "Hello world"  # where the text ends
    assert journal.extend("Hello", 3, "lo world") == "Hello world"  # only the unseen tail
    assert journal.extend("Hello", 1, "ell") == "Hello"  # nothing new
    assert journal.extend("Hello", 0, "Hello") == "Hello"
    assert journal.extend("Hello", 6, "world") is None  # a gap
    assert journal.extend("", 0, "é😀") == "é😀"  # offsets are code points
    assert journal.extend("é😀", 2, "!") == "é😀!"


@pytest.mark.services
def test_recovered_applies_each_part_beside_the_other_and_stops_at_a_gap(journal_on):
    write(
        7,
        ("reasoning", 0, "Think"),
        ("text", 0, "Hel"),  # already stored
        ("text", 3, "lo, w"),  # overlaps what is stored
        ("reasoning", 5, "ing."),
        ("text", 8, "orld"),
        ("text", 8, "orld"),  # sent twice: ignored
        ("text", 20, "far"),  # a gap: nothing from here on can be placed
        ("text", 12, "!"),  # would fit, but comes after the gap
    )
    assert journal.recovered(7, "Hello", "") == ("Hello, world", "Thinking.")
    # Nothing in the journal beyond what is stored.
    assert journal.recovered(8, "stored", "why") == ("stored", "why")


@pytest.mark.services
def test_a_continued_answers_entries_begin_at_its_stored_text(journal_on):
    write(9, ("text", 11, " and more"), ("text", 20, "."))
    assert journal.recovered(9, "Half an ans", "")[0] == "Half an ans and more."


def test_recovered_falls_back_to_the_stored_text_when_redis_is_down(settings, warnings):
    settings.REDIS_URL = "redis://127.0.0.1:9/15"  # nothing listens on the discard port
    settings.ANSWER_JOURNAL = True
    assert journal.recovered(1, "kept", "why") == ("kept", "why")
    assert len(warnings) == 1


# Writing ---------------------------------------------------------------------------------------


@pytest.mark.services
async def test_record_writes_each_entry_with_an_expiry(journal_on):
    await journal.record(
        3, [journal.text(0, "Hi"), journal.reasoning(0, "hm"), journal.text(2, "!")]
    )
    assert entries_of(3) == [
        {"part": "text", "offset": "0", "text": "Hi"},
        {"part": "reasoning", "offset": "0", "text": "hm"},
        {"part": "text", "offset": "2", "text": "!"},
    ]
    assert 0 < journal_on.ttl(journal.key(3)) <= journal.EXPIRY


@pytest.mark.services
async def test_answers_recording_at_once_share_one_round_trip(journal_on, pipelines):
    await asyncio.gather(*(journal.record(n, [journal.text(0, f"answer {n}")]) for n in range(50)))
    assert len(pipelines) == 1
    assert pipelines[0].count("XADD") == 50
    assert all(
        entries_of(n) == [{"part": "text", "offset": "0", "text": f"answer {n}"}] for n in range(50)
    )


@pytest.mark.services
async def test_what_arrives_while_a_batch_is_in_flight_goes_in_the_next_one(
    journal_on, pipelines, monkeypatch
):
    in_flight, release = asyncio.Event(), asyncio.Event()
    execute = redis.asyncio.client.Pipeline.execute  # the counting one

    async def held(self, *args, **kwargs):
        if not in_flight.is_set():  # the first batch waits until the others are queued
            in_flight.set()
            await release.wait()
        return await execute(self, *args, **kwargs)

    monkeypatch.setattr(redis.asyncio.client.Pipeline, "execute", held)
    first = asyncio.create_task(journal.record(1, [journal.text(0, "a")]))
    await in_flight.wait()
    later = [asyncio.create_task(journal.record(n, [journal.text(0, "b")])) for n in range(2, 12)]
    await asyncio.sleep(0.05)
    assert not first.done() and not any(task.done() for task in later)  # each waits for its own
    release.set()
    await asyncio.gather(first, *later)
    assert [batch.count("XADD") for batch in pipelines] == [1, 10]


@pytest.mark.services
async def test_forget_deletes_the_stream_and_a_new_run_starts_it_afresh(journal_on):
    await journal.record(4, [journal.text(0, "first run")])
    await journal.forget(4)
    assert not journal_on.exists(journal.key(4))
    # What a dead process's run left is replaced by this process's first write of the answer.
    write(5, ("text", 0, "an earlier run that went further"))
    await journal.record(5, [journal.text(10, " continued")])
    await journal.record(5, [journal.text(20, ".")])
    assert [e["offset"] for e in entries_of(5)] == ["10", "20"]


@pytest.mark.services
async def test_while_redis_is_down_record_returns_warns_once_and_tries_again_later(
    journal_on, settings, warnings
):
    with Outage("127.0.0.1", 6379) as proxy:
        settings.REDIS_URL = f"redis://127.0.0.1:{proxy.port}/15"
        await journal.record(6, [journal.text(0, "up")])
        proxy.take_down()
        for n in range(1, 30):
            await asyncio.wait_for(journal.record(6, [journal.text(n * 2, "..")]), 5)
        await journal.writer().draining
        assert len(warnings) == 1
        proxy.bring_back()
        await journal.record(6, [journal.text(60, "back")])
        await journal.writer().draining
        assert entries_of(6)[-1] == {"part": "text", "offset": "60", "text": "back"}
        await journal.record(6, [journal.text(64, ".")])  # healthy again: waited for
        assert entries_of(6)[-1]["offset"] == "64"


@contextlib.asynccontextmanager
async def blackhole():
    """The port of a server that accepts connections and never answers: a hung Redis."""
    accepted: list[asyncio.StreamWriter] = []

    async def swallow(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        accepted.append(writer)
        while await reader.read(65536):
            pass

    server = await asyncio.start_server(swallow, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        for writer in accepted:
            writer.close()
        await server.wait_closed()


@pytest.mark.django_db(transaction=True)
async def test_an_answer_streams_whole_while_redis_hangs(alice, upstream, settings, warnings):
    script = Script(word_count=60, tokens_per_second=200)
    upstream.enqueue(script)
    async with blackhole() as port:
        settings.REDIS_URL = f"redis://127.0.0.1:{port}/15"
        settings.ANSWER_JOURNAL = True
        ws = await connect(alice)
        await ws.send_json_to(
            {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
        )
        frames = await receive_until(ws, "message.end", timeout=20)
        await ws.disconnect()
    end = frames[-1]
    assert end["status"] == "complete"
    stored = await Message.objects.aget(pk=end["message"])
    assert stored.text == script.answer_text()
    assert len(warnings) == 1  # not one per flush
    assert "TimeoutError" in warnings[0].getMessage()


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_text_is_in_the_journal_before_clients_get_it_and_gone_after_the_end(
    alice, upstream, journal_on
):
    script = Script(word_count=200, tokens_per_second=200)
    upstream.enqueue(script)
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    message, held = None, ""
    while True:
        frame = await ws.receive_json_from(timeout=10)
        if frame["type"] == "message.start":
            message = frame["message"]
        elif frame["type"] == "delta":
            held = held[: frame["offset"]] + frame["text"]
            if len(held) > 200:
                break
    journaled = journal.recovered(message, "", "")[0]
    assert journaled.startswith(held)
    end = (await receive_until(ws, "message.end"))[-1]
    await ws.disconnect()
    assert end["status"] == "complete"
    assert not journal_on.exists(journal.key(message))


# The sweeper -----------------------------------------------------------------------------------


async def stale_answer(owner, text: str, reasoning: str = "") -> Message:
    conversation = await Conversation.objects.acreate(owner=owner, model="openai:gpt-test")
    question = await Message.objects.acreate(
        conversation=conversation, role="user", text="q", seq=1
    )
    return await Message.objects.acreate(
        conversation=conversation,
        role="assistant",
        status=Message.Status.STREAMING,
        text=text,
        reasoning=reasoning,
        seq=2,
        reply_to=question,
        owner_channel="a dead process's channel",
        heartbeat_at=timezone.now() - timedelta(minutes=5),
    )


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_the_sweeper_stores_what_the_journal_holds_beyond_the_checkpoint(alice, journal_on):
    swept = await stale_answer(alice, "Half an ans", "Let me")
    write(
        swept.pk,
        ("reasoning", 0, "Let me think."),
        ("text", 0, "Half an ans"),
        ("text", 11, "wer, all of it"),
    )
    fresh = await stale_answer(alice, "")
    fresh.heartbeat_at = timezone.now()
    await fresh.asave()
    write(fresh.pk, ("text", 0, "still being written"))
    from asgiref.sync import sync_to_async

    assert await sync_to_async(storage.mark_stale_interrupted)() == 1
    await swept.arefresh_from_db()
    assert swept.status == Message.Status.INTERRUPTED
    assert (swept.text, swept.reasoning) == ("Half an answer, all of it", "Let me think.")
    assert not journal_on.exists(journal.key(swept.pk))
    # An answer whose owner still beats is left alone, journal and all.
    await fresh.arefresh_from_db()
    assert (fresh.status, fresh.text) == (Message.Status.STREAMING, "")
    assert journal_on.exists(journal.key(fresh.pk))


@pytest.mark.services
@pytest.mark.django_db(transaction=True)
async def test_a_stop_for_a_dead_owners_answer_recovers_its_journal_too(alice, journal_on):
    swept = await stale_answer(alice, "Half")
    write(swept.pk, ("text", 4, " and the rest"))
    from asgiref.sync import sync_to_async

    assert await sync_to_async(storage.interrupt_if_stale)(swept.pk) is False
    await swept.arefresh_from_db()
    assert (swept.status, swept.text) == (Message.Status.INTERRUPTED, "Half and the rest")


@pytest.mark.django_db(transaction=True)
async def test_the_sweeper_keeps_the_stored_text_when_redis_is_down(alice, settings):
    settings.REDIS_URL = "redis://127.0.0.1:9/15"
    settings.ANSWER_JOURNAL = True
    swept = await stale_answer(alice, "Half an ans")
    from asgiref.sync import sync_to_async

    assert await sync_to_async(storage.mark_stale_interrupted)() == 1
    await swept.arefresh_from_db()
    assert (swept.status, swept.text) == (Message.Status.INTERRUPTED, "Half an ans")
