import pytest

from chat.models import Message
from tests.conftest import assemble, connect, receive_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


async def test_it_streams_a_real_answer_from_the_offline_model(alice, settings):
    settings.MAX_OUTPUT_TOKENS = 24
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": None,
            "content": "Name a colour.",
            "model": "local:smollm2",
        }
    )
    frames = await receive_until(ws, "message.end", timeout=120)
    await ws.disconnect()

    start, end = frames[0], frames[-1]
    text = assemble(frames, start["message"])
    assert end["status"] == "complete", end
    assert text.strip()
    assert 0 < end["usage"]["output_tokens"] <= 24
    assert end["usage"]["input_tokens"] > 0
    stored = await Message.objects.aget(pk=start["message"])
    assert stored.text == text
    assert stored.tokens_per_second and stored.tokens_per_second > 0
