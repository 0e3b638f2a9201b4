"""A conversation's settings through the engine: set by the first send, applied to every
request, recorded on each answer with what the provider adapted, shown again on the page."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from chat.models import Conversation, Message
from chat.web import api_tokens
from tests.conftest import connect, receive_until
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"
SETTINGS = {
    "system_prompt": "Answer in French.",
    "temperature": 0.25,
    "top_p": 0.5,
    "max_output_tokens": 300,
    "tools": ["calculator"],
}


def send(settings=None, conversation=None, **extra) -> dict:
    frame = {"type": "send", "conversation": conversation, "content": "hi", "model": MODEL}
    if settings is not None:
        frame["settings"] = settings
    return {**frame, **extra}


def page_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="page-data" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


def database():
    return (
        list(Conversation.objects.order_by("pk").values_list("pk", "temperature", "tools")),
        list(Message.objects.order_by("pk").values_list("pk", "text")),
    )


async def test_a_new_conversation_takes_the_sends_settings(alice, upstream, settings):
    settings.MAX_OUTPUT_TOKENS = 4096
    upstream.enqueue(Script(text="Bonjour."), Script(text="Encore."))
    ws = await connect(alice)
    await ws.send_json_to(send(SETTINGS))
    first = await receive_until(ws, "message.end")
    conversation = first[0]["conversation"]
    await ws.send_json_to({**send(conversation=conversation), "content": "again"})
    await receive_until(ws, "message.end")
    await ws.disconnect()
    for request in upstream.requests:  # every request of the conversation
        body = request.body
        assert body["messages"][0] == {"role": "system", "content": "Answer in French."}
        assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.25, 0.5, 300)
        assert [tool["function"]["name"] for tool in body["tools"]] == ["calculator"]
    stored = await sync_to_async(Conversation.objects.get)(pk=conversation)
    assert stored.conversation_settings() == {
        **SETTINGS,
        "model": MODEL,
        "reasoning_effort": "off",
    }
    answer = await sync_to_async(Message.objects.get)(pk=first[-1]["message"])
    assert answer.settings == {
        "model": MODEL,
        "temperature": 0.25,
        "top_p": 0.5,
        "max_output_tokens": 300,
        "reasoning_effort": "off",
        "tools": ["calculator"],
        "system_prompt": "Answer in French.",
        "notes": [],
    }
    assert first[-1]["settings_notes"] == []


async def test_the_api_starts_a_conversation_with_settings(alice, upstream):
    token = (await sync_to_async(api_tokens.create)(alice, "tests"))[1]
    upstream.enqueue(Script(text="ok"))
    response = await AsyncClient().post(
        "/api/chat",
        send({"temperature": 1.5}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    b"".join([chunk async for chunk in response.streaming_content])
    assert upstream.requests[-1].body["temperature"] == 1.5


@pytest.mark.parametrize(
    ("bad", "field"),
    [({"temperature": 3}, "temperature"), ({"nope": 1}, "nope"), ("warm", "settings")],
)
async def test_a_bad_setting_refuses_the_send_and_stores_nothing(alice, upstream, bad, field):
    before = await sync_to_async(database)()
    ws = await connect(alice)
    await ws.send_json_to(send(bad))
    error = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert (error["type"], error["code"], error["field"]) == ("error", "bad_settings", field)
    assert f"'{field}'" in error["detail"]
    assert await sync_to_async(database)() == before
    assert not upstream.requests


async def test_settings_on_an_existing_conversation_are_refused(alice, upstream):
    conversation = await sync_to_async(Conversation.objects.create)(
        owner=alice, model=MODEL, title="t"
    )
    before = await sync_to_async(database)()
    ws = await connect(alice)
    await ws.send_json_to(send({"temperature": 1.0}, conversation=conversation.pk))
    error = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert error["code"] == "bad_frame" and "settings" in error["detail"]
    assert await sync_to_async(database)() == before


async def test_a_refused_answer_takes_back_the_new_conversation(alice, upstream, settings):
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 64}
    settings.MAX_OUTPUT_TOKENS = 32
    before = await sync_to_async(database)()
    ws = await connect(alice)
    await ws.send_json_to({**send({"temperature": 0.5}), "content": "word " * 500})
    error = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert error["code"] == "cannot_answer"
    assert await sync_to_async(database)() == before


async def test_an_answer_longer_than_its_model_can_hold_is_lowered_and_says_so(
    alice, upstream, settings
):
    settings.MAX_OUTPUT_TOKENS = None
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 4000}
    upstream.enqueue(Script(text="Short."))
    ws = await connect(alice)
    await ws.send_json_to(send({"max_output_tokens": 100_000}))
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert upstream.requests[-1].body["max_tokens"] == 2000
    assert frames[-1]["settings_notes"] == [
        "max_output_tokens lowered to 2000: gpt-test takes 4000 tokens in all"
    ]
    conversation = await Conversation.objects.aget(pk=frames[0]["conversation"])
    assert conversation.max_output_tokens == 100_000  # kept: another model may take it


async def test_without_a_ceiling_a_model_gets_its_own_limit(alice, upstream, settings):
    settings.MAX_OUTPUT_TOKENS = None
    settings.OPENAI_MODELS = ["gpt-4o", "gpt-test"]
    settings.MODEL_OUTPUT_TOKENS = {"openai:gpt-test": 3000}
    upstream.enqueue(Script(text="One."), Script(text="Two."))
    ws = await connect(alice)
    await ws.send_json_to({**send(), "model": "openai:gpt-4o"})
    await receive_until(ws, "message.end")
    await ws.send_json_to(send())
    await receive_until(ws, "message.end")
    await ws.disconnect()
    assert [r.body["max_tokens"] for r in upstream.requests] == [16_384, 3000]


def test_a_new_conversation_starts_with_the_default_instructions(alice, settings):
    settings.DEFAULT_SYSTEM_PROMPT = "You are terse."
    started = Conversation.start(alice, MODEL, "hi")
    assert started.system_prompt == "You are terse."


@pytest.fixture
def anthropic(settings):
    with FakeUpstream() as fake:
        settings.ANTHROPIC_API_KEY = "test-key"
        settings.ANTHROPIC_BASE_URL = fake.anthropic_base_url
        settings.ANTHROPIC_MODELS = ["claude-sonnet-4-5"]
        yield fake


async def test_what_claude_with_thinking_cannot_take_is_noted_and_stored(alice, anthropic):
    anthropic.enqueue(Script(text="ok", reasoning="Let me think."))
    ws = await connect(alice)
    model = "anthropic:claude-sonnet-4-5"
    await ws.send_json_to({**send({"temperature": 0.2}), "model": model, "reasoning_effort": "low"})
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    body = anthropic.requests[-1].body
    assert "temperature" not in body and body["thinking"]["type"] == "enabled"
    note = "temperature ignored: claude-sonnet-4-5 with extended thinking needs 1"
    assert frames[-1]["settings_notes"] == [note]
    answer = await sync_to_async(Message.objects.get)(pk=frames[-1]["message"])
    assert answer.settings["notes"] == [note]
    assert answer.settings["temperature"] is None  # as sent
    assert answer.settings["reasoning_effort"] == "low"


async def test_what_a_reasoning_model_cannot_take_is_noted(alice, settings):
    with FakeUpstream() as fake:
        settings.OPENAI_API_KEY = "test-key"
        settings.OPENAI_BASE_URL = fake.openai_base_url
        settings.OPENAI_MODELS = ["o3-mini"]
        settings.OPENAI_API = "responses"
        fake.enqueue(Script(text="ok"))
        ws = await connect(alice)
        await ws.send_json_to({**send({"top_p": 0.5}), "model": "openai:o3-mini"})
        frames = await receive_until(ws, "message.end")
        await ws.disconnect()
        assert "top_p" not in fake.requests[-1].body
    note = "top_p ignored: o3-mini is a reasoning model"
    assert frames[-1]["settings_notes"] == [note]
    answer = await sync_to_async(Message.objects.get)(pk=frames[-1]["message"])
    assert answer.settings["notes"] == [note]


def test_the_page_shows_the_settings_again(alice, upstream, settings):
    settings.MAX_OUTPUT_TOKENS = 4096
    settings.LOCAL_MODEL_ENABLED = True
    settings.DEFAULT_SYSTEM_PROMPT = "Be kind."
    conversation = Conversation.objects.create(
        owner=alice, model=MODEL, title="t", temperature=0.7, max_output_tokens=500
    )
    question = conversation.add_user_message("hi")
    Message.objects.create(
        conversation=conversation,
        role="assistant",
        text="hello",
        seq=2,
        reply_to=question,
        settings={"notes": ["top_p ignored: x"]},
    )
    client = Client()
    client.force_login(alice)
    data = page_data(client.get(f"/c/{conversation.pk}/"))
    assert data["settings"] == {
        "system_prompt": "",
        "model": MODEL,
        "temperature": 0.7,
        "top_p": None,
        "max_output_tokens": 500,
        "reasoning_effort": "off",
        "tools": [],
    }
    assert data["settings_defaults"] == {
        # gpt-test, of no known family, gets the ceiling; the local model a quarter of its
        # context (8192 tokens).
        "max_output_tokens_by_model": {MODEL: 4096, "local:smollm2": 2048},
        "max_output_tokens_ceiling": 4096,
        "default_system_prompt": "Be kind.",
    }
    assert data["messages"][1]["settings_notes"] == ["top_p ignored: x"]
    assert page_data(client.get("/"))["settings"] is None


async def test_the_model_picked_goes_on_with_the_conversation(alice, upstream, settings):
    settings.OPENAI_MODELS = ["gpt-test", "gpt-other"]
    upstream.enqueue(Script(text="One."), Script(text="Two."), Script(text="A."), Script(text="B."))
    ws = await connect(alice)
    await ws.send_json_to(send())
    conversation = (await receive_until(ws, "message.end"))[0]["conversation"]
    await ws.send_json_to({**send(conversation=conversation), "model": "openai:gpt-other"})
    await receive_until(ws, "message.end")
    stored = await Conversation.objects.aget(pk=conversation)
    assert stored.model == "openai:gpt-other"
    # Compare mode names several models: the conversation's own stays as it was.
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": conversation,
            "content": "both",
            "models": ["openai:gpt-test", "openai:gpt-other"],
        }
    )
    await receive_until(ws, "message.end")
    await receive_until(ws, "message.end")
    await ws.disconnect()
    await stored.arefresh_from_db()
    assert stored.model == "openai:gpt-other"
    client = Client()
    await sync_to_async(client.force_login)(alice)
    html = (await sync_to_async(client.get)(f"/c/{conversation}/")).content.decode()
    # The option names its provider: here an OpenAI-compatible server on this machine.
    assert '<option value="openai:gpt-other" selected>gpt-other · Local server</option>' in html
