"""A new conversation's title, made by its model in the background after the first answer."""

import asyncio

import pytest

from chat.models import Conversation
from tests.conftest import connect, receive_until
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.django_db(transaction=True)

PASTED = "```python\nprint('hello')\n```\nWhy does this print twice?"
SEND = {"type": "send", "conversation": None, "content": PASTED, "model": "openai:gpt-test"}


@pytest.fixture
def titles_on(settings):
    settings.GENERATE_TITLES = True


async def first_answer(ws):
    await ws.send_json_to(SEND)
    frames = await receive_until(ws, "message.end")
    return frames[0]["conversation"], frames


async def test_it_names_the_conversation_after_the_first_answer(alice, upstream, titles_on):
    upstream.enqueue(Script(text="It runs in a loop."), Script(text='"Python prints twice."'))
    ws = await connect(alice)
    conversation, frames = await first_answer(ws)
    # The start frame had today's title; the model's comes after the end frame.
    assert frames[0]["title"] == " ".join(PASTED.split())[:80]
    titled = await receive_until(ws, "conversation.title", timeout=10)
    await ws.disconnect()

    assert titled == [
        {"type": "conversation.title", "conversation": conversation, "title": "Python prints twice"}
    ]
    stored = await Conversation.objects.aget(pk=conversation)
    assert (stored.title, stored.title_pending) == ("Python prints twice", False)
    # One request for the answer, one for the title: the same model, told both sides.
    assert len(upstream.requests) == 2
    request = upstream.requests[1].body
    assert request["model"] == "gpt-test"
    prompt = request["messages"][-1]["content"]
    assert "Why does this print twice?" in prompt and "It runs in a loop." in prompt
    assert request["messages"][0]["role"] == "system"
    assert "title" in request["messages"][0]["content"]


async def test_it_names_it_once(alice, upstream, titles_on):
    upstream.enqueue(Script(text="One."), Script(text="Twice"), Script(text="Two."))
    ws = await connect(alice)
    conversation, _ = await first_answer(ws)
    await receive_until(ws, "conversation.title", timeout=10)
    await ws.send_json_to({**SEND, "conversation": conversation, "content": "And again?"})
    await receive_until(ws, "message.end")
    await asyncio.sleep(0.3)
    await ws.disconnect()
    assert (await Conversation.objects.aget(pk=conversation)).title == "Twice"
    assert len(upstream.requests) == 3


@pytest.mark.parametrize(
    "title_script",
    [
        Script(fault=Fault("http", status=400, message="no")),
        Script(text=""),
        Script(text="  \n"),
    ],
    ids=["fails", "says-nothing", "blank"],
)
async def test_it_falls_back_to_the_first_message_cleaned(alice, upstream, titles_on, title_script):
    upstream.enqueue(Script(text="It runs in a loop."), title_script)
    ws = await connect(alice)
    conversation, _ = await first_answer(ws)
    titled = await receive_until(ws, "conversation.title", timeout=10)
    await ws.disconnect()

    expected = "print('hello') Why does this print twice?"
    assert titled[-1]["title"] == expected
    assert (await Conversation.objects.aget(pk=conversation)).title == expected


async def test_a_renamed_conversation_keeps_its_title(alice, upstream, titles_on, settings):
    settings.GENERATE_TITLES = False
    upstream.enqueue(Script(text="First."), Script(text="Second."), Script(text="Model title"))
    ws = await connect(alice)
    conversation, _ = await first_answer(ws)  # no title made: the user renames it meanwhile

    def rename():
        from django.test import Client

        client = Client()
        client.force_login(alice)
        response = client.post(f"/c/{conversation}/rename/", {"title": "Mine"})
        assert response.status_code in (200, 302)

    from asgiref.sync import sync_to_async

    await sync_to_async(rename)()
    settings.GENERATE_TITLES = True
    await ws.send_json_to({**SEND, "conversation": conversation, "content": "More?"})
    await receive_until(ws, "message.end")
    await asyncio.sleep(0.5)
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()
    stored = await Conversation.objects.aget(pk=conversation)
    assert (stored.title, stored.title_pending) == ("Mine", False)
    assert len(upstream.requests) == 2  # the model was not asked for a title


async def test_a_rename_while_the_title_is_written_wins(alice, upstream, titles_on):
    upstream.enqueue(Script(text="Answer."), Script(text="Model title", first_token_delay=1))
    ws = await connect(alice)
    conversation, _ = await first_answer(ws)
    assert await upstream.await_for(lambda: len(upstream.requests) == 2)
    await Conversation.objects.filter(pk=conversation).aupdate(title="Mine", title_pending=False)
    await asyncio.sleep(1.5)
    assert await ws.receive_nothing(timeout=0.3)
    await ws.disconnect()
    assert (await Conversation.objects.aget(pk=conversation)).title == "Mine"


async def test_it_is_off_with_the_setting(alice, upstream):
    upstream.enqueue(Script(text="Answer."))
    ws = await connect(alice)
    conversation, _ = await first_answer(ws)
    assert await ws.receive_nothing(timeout=0.5)
    await ws.disconnect()
    assert len(upstream.requests) == 1
    assert (await Conversation.objects.aget(pk=conversation)).title_pending
