import math
import time

import pytest
from django.db.backends.utils import CursorWrapper

from chat.models import Message
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
