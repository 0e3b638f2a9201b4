import asyncio
import math
import time
from types import SimpleNamespace

import pytest
from django.db import DatabaseError
from django.db.backends.utils import CursorWrapper

from chat.answers import checkpoints, storage
from chat.models import Conversation, Message
from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def message_writes(monkeypatch):
    """Every INSERT, UPDATE and DELETE of a message row, from any thread."""
    writes: list[str] = []
    execute = CursorWrapper.execute

    def counting(self, sql, params=None):
        words = sql.lstrip().split(None, 3)
        if words and words[0].upper() in ("INSERT", "UPDATE", "DELETE") and '"chat_message"' in sql:
            writes.append(sql)
        return execute(self, sql, params)

    monkeypatch.setattr(CursorWrapper, "execute", counting)
    return writes


@pytest.mark.parametrize("tokens", [40, 1200])
async def test_database_writes_grow_with_duration_not_with_tokens(
    alice, upstream, message_writes, tokens
):
    # The same 1.5 seconds of streaming, at 27 and at 800 tokens per second.
    upstream.enqueue(Script(word_count=tokens, tokens_per_second=tokens / 1.5))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    start = await ws.receive_json_from(timeout=10)
    user_message_writes = len(message_writes)  # the user's message is not the answer's cost
    began = time.monotonic()
    frames = await receive_until(ws, "message.end")
    duration = time.monotonic() - began
    await ws.disconnect()

    answer_writes = len(message_writes) - user_message_writes + 1  # + the answer's INSERT
    assert frames[-1]["status"] == "complete"
    assert answer_writes <= 2 + math.ceil(duration / 0.5), (answer_writes, duration)
    stored = await Message.objects.aget(pk=start["message"])
    assert stored.text == Script(word_count=tokens).answer_text()


async def test_a_quiet_stream_still_beats(alice, upstream, settings):
    settings.HEARTBEAT_INTERVAL = 0.2
    settings.CHECKPOINT_INTERVAL = 0.05
    upstream.enqueue(Script(tokens=["slow", " start"], first_token_delay=1.0))
    ws = await connect(alice)
    await ws.send_json_to(
        {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
    )
    start = await ws.receive_json_from(timeout=10)
    created = (await Message.objects.aget(pk=start["message"])).heartbeat_at
    await ws.receive_json_from(timeout=10)  # the first token, a second later
    beat = (await Message.objects.aget(pk=start["message"])).heartbeat_at
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert (beat - created).total_seconds() >= 0.5


@pytest.fixture
def batches(monkeypatch):
    """The checkpoints of each batch the writer stores, in order."""
    stored: list[list[storage.Checkpoint]] = []
    save = storage.save_checkpoints

    def recording(checkpoints):
        stored.append(list(checkpoints))
        return save(checkpoints)

    monkeypatch.setattr(storage, "save_checkpoints", recording)
    return stored


async def send_answers(user, count: int) -> tuple[list, list[int]]:
    sockets, ids = [], []
    for _ in range(count):
        ws = await connect(user)
        await ws.send_json_to(
            {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
        )
        ids.append((await ws.receive_json_from(timeout=10))["message"])
        sockets.append(ws)
    return sockets, ids


async def test_the_answers_of_a_process_are_checkpointed_together(
    alice, upstream, settings, batches
):
    settings.CHECKPOINT_INTERVAL = 0.2
    script = Script(word_count=150, tokens_per_second=100)
    upstream.enqueue(script, script, script)
    sockets, ids = await send_answers(alice, 3)
    for ws in sockets:
        await receive_until(ws, "message.end")
        await ws.disconnect()

    # One batch an interval for all three, never one per answer.
    together = [b for b in batches if {c.message_id for c in b} == set(ids)]
    assert len(together) >= 3, [[c.message_id for c in b] for b in batches]
    assert len(batches) <= 1.5 / 0.2 + 2
    for message_id in ids:
        stored = await Message.objects.aget(pk=message_id)
        assert stored.text == script.answer_text()


async def test_a_failed_batch_is_carried_by_the_next(alice, upstream, settings, monkeypatch):
    settings.CHECKPOINT_INTERVAL = 0.2
    save = storage.save_checkpoints
    tried: list[list[storage.Checkpoint]] = []

    def failing_once(checkpoints):
        tried.append(list(checkpoints))
        if len(tried) == 1:
            raise DatabaseError("the database went away")
        return save(checkpoints)

    monkeypatch.setattr(storage, "save_checkpoints", failing_once)
    upstream.enqueue(Script(word_count=400, tokens_per_second=100))
    sockets, (message_id,) = await send_answers(alice, 1)
    while len(tried) < 2:
        await sockets[0].receive_json_from(timeout=10)
    # The second batch holds the whole text so far: more than the failed one carried.
    failed, carried = tried[0][0], tried[1][0]
    assert carried.text is not None and carried.text.startswith(failed.text)
    assert len(carried.text) > len(failed.text)
    stored = await Message.objects.aget(pk=message_id)
    assert stored.status == Message.Status.STREAMING
    assert stored.text.startswith(carried.text) and stored.text
    await sockets[0].send_json_to({"type": "stop", "message": message_id})
    await receive_until(sockets[0], "message.end")
    await sockets[0].disconnect()


@pytest.mark.django_db(transaction=True)
def test_a_late_checkpoint_never_overwrites_a_stored_outcome(alice):
    conversation = Conversation.objects.create(owner=alice, title="t")
    asked = conversation.messages.create(role=Message.Role.USER, text="hi", seq=0)
    answer = conversation.messages.create(
        role=Message.Role.ASSISTANT, status=Message.Status.STREAMING, seq=1, reply_to=asked
    )
    other = conversation.messages.create(
        role=Message.Role.ASSISTANT, status=Message.Status.COMPLETE, seq=2, reply_to=asked,
        text="done",
    )  # fmt: skip
    Message.objects.filter(pk=answer.pk).update(status=Message.Status.COMPLETE, text="whole")
    storage.save_checkpoints(
        [storage.Checkpoint(answer.pk, "par"), storage.Checkpoint(other.pk, None)]
    )
    assert Message.objects.get(pk=answer.pk).text == "whole"
    assert Message.objects.get(pk=other.pk).text == "done"


async def test_an_answer_shorter_than_an_interval_is_never_checkpointed(
    alice, upstream, settings, batches
):
    # Another answer keeps the writer busy; the short one still costs only its insert and its
    # final save, as it would alone.
    settings.CHECKPOINT_INTERVAL = 0.3
    upstream.enqueue(
        Script(word_count=200, tokens_per_second=100),
        Script(tokens=["Hi", " there", "!"], tokens_per_second=10),
    )
    # The short one begins about 0.2 s into the first interval and streams past its end.
    first, (long_id,) = await send_answers(alice, 1)
    await asyncio.sleep(0.2)
    second, (short_id,) = await send_answers(alice, 1)
    sockets = first + second
    await receive_until(sockets[1], "message.end")
    await receive_until(sockets[0], "message.end")
    for ws in sockets:
        await ws.disconnect()

    checkpointed = {c.message_id for batch in batches for c in batch}
    assert long_id in checkpointed
    assert short_id not in checkpointed


async def test_the_first_checkpoint_is_taken_by_a_timer_that_fires_a_little_early(settings):
    # The writer's timer may fire up to the loop's clock resolution before an interval has
    # passed (libuv counts milliseconds): an answer that began with it is still due then, or its
    # first checkpoint would wait a whole interval more.
    settings.CHECKPOINT_INTERVAL = 1.0
    writer = checkpoints._Writer(asyncio.get_running_loop())
    streaming = SimpleNamespace(message_id=7, text="some text", reasoning="", redacted=False)
    writer.answers[7] = checkpoints._Tracked(streaming, (0, 0), beat=100.0, began=100.0)

    batch, _ = writer.due(now=100.999)
    assert [c.message_id for c in batch] == [7]
    assert batch[0].text == "some text"
    batch, _ = writer.due(now=100.5)
    assert batch == []
