"""A process that stops serving interrupts its answers: each stores what its clients were
sent and tells them; nothing new starts meanwhile."""

import pytest

from chat import answers
from chat.models import Conversation, Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def test_stopping_stores_exactly_what_was_sent_and_ends_every_answer(
    alice, upstream, settings
):
    settings.CHECKPOINT_INTERVAL = 60  # what is stored comes from the stop
    upstream.enqueue(Script(word_count=2000, tokens_per_second=200))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    frames = [await ws.receive_json_from(timeout=10) for _ in range(10)]
    message = frames[0]["message"]

    await answers.stop_serving()
    frames += await receive_until(ws, "message.end")
    end = frames[-1]
    assert end["status"] == "interrupted"
    assert end["finish_reason"] == "interrupted"
    assert "restarted" in end["error"]
    stored = await Message.objects.aget(pk=message)
    assert stored.status == Message.Status.INTERRUPTED
    assert stored.text == assemble(frames, message)
    assert stored.text
    assert upstream.requests[0].outcome != "complete"  # the upstream stream was closed

    # A send while stopping is refused, and stores nothing.
    conversations = await Conversation.objects.acount()
    await ws.send_json_to(SEND)
    refusal = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert refusal["type"] == "error"
    assert refusal["code"] == "cannot_answer"
    assert await Conversation.objects.acount() == conversations
    assert len(upstream.requests) == 1
