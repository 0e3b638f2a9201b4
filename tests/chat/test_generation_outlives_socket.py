import asyncio

import pytest

from chat.models import Message
from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def wait_finished(message_id: int, timeout: float = 20) -> Message:
    async with asyncio.timeout(timeout):
        while True:
            message = await Message.objects.aget(pk=message_id)
            if message.status not in Message.LIVE:
                return message
            await asyncio.sleep(0.05)


async def test_it_keeps_writing_the_answer_after_every_tab_closes(alice, upstream):
    script = Script(word_count=60, tokens_per_second=300)
    upstream.enqueue(script)
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    start = await ws.receive_json_from(timeout=10)
    await ws.receive_json_from(timeout=10)  # the first delta
    await ws.disconnect()

    answer = await wait_finished(start["message"])
    assert answer.status == Message.Status.COMPLETE
    assert answer.text == script.answer_text()
    assert upstream.requests[0].outcome == "complete"


async def test_it_refuses_answers_beyond_the_per_user_limit(alice, upstream, settings):
    settings.MAX_CONCURRENT_GENERATIONS = 1
    upstream.enqueue(Script(word_count=200, tokens_per_second=100))
    ws = await connect(alice)
    await ws.send_json_to(SEND)
    start = await ws.receive_json_from(timeout=10)
    await ws.send_json_to(SEND)
    while (frame := await ws.receive_json_from(timeout=10))["type"] != "error":
        pass
    assert frame["code"] == "too_many"
    await ws.send_json_to({"type": "stop", "message": start["message"]})
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert len(upstream.requests) == 1
