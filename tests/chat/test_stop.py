import time

import pytest

from chat.models import Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def test_two_tabs_see_one_stream_and_a_stop_in_either_ends_both(alice, upstream):
    upstream.enqueue(Script(word_count=2000, tokens_per_second=100))
    first = await connect(alice)
    second = await connect(alice)
    await first.send_json_to(SEND)
    start = await first.receive_json_from(timeout=10)
    message = start["message"]
    await second.send_json_to({"type": "resume", "message": message, "offset": 0})
    assert (await second.receive_json_from(timeout=10))["type"] == "message.start"

    # Let a few frames through, then stop from the second tab.
    seen = [await first.receive_json_from(timeout=10) for _ in range(5)]
    await second.send_json_to({"type": "stop", "message": message})
    stopped_at = time.monotonic()
    first_frames = seen + await receive_until(first, "message.end")
    second_frames = await receive_until(second, "message.end")
    await first.disconnect()
    await second.disconnect()

    assert first_frames[-1]["status"] == second_frames[-1]["status"] == "stopped"
    first_text = assemble(first_frames, message)
    assert assemble(second_frames, message) == first_text
    stored = await Message.objects.aget(pk=message)
    assert stored.status == Message.Status.STOPPED
    assert stored.text == first_text
    assert 0 < len(first_text) < len(Script(word_count=2000).answer_text())

    record = upstream.requests[0]
    assert upstream.wait_for(lambda: record.disconnected_at is not None, timeout=2)
    assert record.disconnected_at - stopped_at < 0.5


async def test_it_says_when_there_is_nothing_to_stop(alice, upstream):
    upstream.enqueue(Script(text="short"))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    frames = await receive_until(ws, "message.end")
    await ws.send_json_to({"type": "stop", "message": frames[0]["message"]})
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply["code"] == "not_streaming"
