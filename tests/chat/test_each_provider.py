import pytest

from chat.models import Message
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.django_db(transaction=True)


async def test_a_chat_streams_through_each_provider(alice, provider):
    fake, model = provider
    fake.enqueue(Script(text="Bonjour, ça va? 🌍 Fine.", input_tokens=12, output_tokens=7))
    ws = await connect(alice)
    await ws.send_json_to({"type": "send", "conversation": None, "content": "hi", "model": model})
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    message = frames[0]["message"]
    assert assemble(frames, message) == "Bonjour, ça va? 🌍 Fine."
    assert frames[-1]["status"] == "complete"
    assert frames[-1]["usage"] == {"input_tokens": 12, "output_tokens": 7, "reasoning_tokens": None}
    stored = await Message.objects.aget(pk=message)
    assert (stored.text, stored.input_tokens, stored.output_tokens) == (
        "Bonjour, ça va? 🌍 Fine.",
        12,
        7,
    )


async def test_a_failure_mid_answer_keeps_the_text_and_tells_the_user(alice, provider):
    fake, model = provider
    fake.enqueue(
        Script(tokens=["Part ", "one ", "two ", "three"], fault=Fault.error_event(after=2))
    )
    ws = await connect(alice)
    await ws.send_json_to({"type": "send", "conversation": None, "content": "hi", "model": model})
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    end = frames[-1]
    assert end["status"] == "failed"
    assert end["error"]  # a plain sentence for the user
    stored = await Message.objects.aget(pk=frames[0]["message"])
    assert stored.text == assemble(frames, stored.pk) == "Part one "
    assert stored.error_detail  # the precise reason, for the admin


async def test_a_rate_limit_before_the_first_token_is_retried(alice, provider, settings):
    fake, model = provider
    settings.PROVIDER_RETRIES = 2
    fake.enqueue(Script(fault=Fault.rate_limited(retry_after_ms=1)), Script(text="After a retry."))
    ws = await connect(alice)
    await ws.send_json_to({"type": "send", "conversation": None, "content": "hi", "model": model})
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert frames[-1]["status"] == "complete"
    assert assemble(frames, frames[0]["message"]) == "After a retry."
    assert len(fake.requests) == 2


async def test_text_alone_is_sent_as_a_plain_string_where_the_api_allows(alice, provider):
    # Some proxies in front of compatible servers answer a list of text blocks with nothing.
    fake, model = provider
    fake.enqueue(Script(tokens=["One ", "two ", "three "], fault=Fault.drop(after=2)))
    fake.enqueue(Script(text="three."))
    ws = await connect(alice)
    await ws.send_json_to({"type": "send", "conversation": None, "content": "hi", "model": model})
    frames = await receive_until(ws, "message.end")
    await ws.send_json_to({"type": "continue", "message": frames[0]["message"]})
    await receive_until(ws, "message.end")
    await ws.disconnect()
    body = fake.requests[-1].body
    if model.startswith("gemini"):  # the API has parts only
        turns = [(c["role"], c["parts"]) for c in body["contents"]]
        assert turns == [("user", [{"text": "hi"}]), ("model", [{"text": "One two "}])]
        return
    turns = [m for m in body["messages"] if m["role"] != "system"]
    # Anthropic refuses a prefill ending in whitespace: it is trimmed.
    said = "One two " if model.startswith("openai") else "One two"
    assert turns == [{"role": "user", "content": "hi"}, {"role": "assistant", "content": said}]
