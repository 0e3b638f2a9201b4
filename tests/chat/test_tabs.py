"""A user's open tabs in sync: what one tab does (a message sent, an edit, another version
chosen, a rename, a delete, a new conversation) every other socket of the same user is told,
never the socket that did it, and never another user's."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from chat.models import Conversation
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"
JSON = {"Accept": "application/json"}


def send(content: str, conversation=None) -> dict:
    return {"type": "send", "conversation": conversation, "content": content, "model": MODEL}


async def nothing_more(ws, timeout: float = 0.3) -> None:
    assert await ws.receive_nothing(timeout=timeout)


def post(user, url: str, fields: dict):
    client = Client()
    client.force_login(user)
    return client.post(url, fields, headers=JSON)


async def test_a_message_sent_in_one_tab_shows_in_the_others_which_follow_its_answer(
    alice, bob, upstream
):
    upstream.enqueue(Script(text="Lisbon is hilly.", tokens_per_second=200))
    tab_a, tab_b, bobs = await connect(alice), await connect(alice), await connect(bob)
    await tab_a.send_json_to(send("Tell me of Lisbon"))
    frames_a = await receive_until(tab_a, "message.end")
    start = frames_a[0]

    created = await tab_b.receive_json_from(timeout=10)
    told = await tab_b.receive_json_from(timeout=10)
    assert created == {
        "type": "conversation.created",
        "conversation": start["conversation"],
        "title": start["title"],
        "updated_at": created["updated_at"],
    }
    assert told["type"] == "conversation.message"
    assert told["conversation"] == start["conversation"]
    assert told["answers"] == [start["message"]]
    assert told["message"]["id"] == start["reply_to"]
    assert told["message"]["role"] == "user"
    assert told["message"]["text"] == "Tell me of Lisbon"

    # The other tab follows the answer from its start, as the asking one did.
    await tab_b.send_json_to({"type": "resume", "message": start["message"], "offset": 0})
    frames_b = await receive_until(tab_b, "message.end")
    assert assemble(frames_b, start["message"]) == "Lisbon is hilly."

    # The asking tab is not told of its own message; another user hears nothing.
    assert not [f for f in frames_a if f["type"].startswith("conversation.")]
    await nothing_more(tab_a)
    await nothing_more(bobs)

    # A message in that conversation now: no "created" this time.
    upstream.enqueue(Script(text="And Porto too."))
    await tab_a.send_json_to(send("And Porto?", start["conversation"]))
    await receive_until(tab_a, "message.end")
    told = await tab_b.receive_json_from(timeout=10)
    assert told["type"] == "conversation.message"
    assert told["message"]["text"] == "And Porto?"
    await nothing_more(tab_a)
    await nothing_more(bobs)
    for ws in (tab_a, tab_b, bobs):
        await ws.disconnect()


async def test_an_edit_and_a_version_chosen_tell_the_other_tabs_the_branch_changed(
    alice, bob, upstream
):
    upstream.enqueue(Script(text="A1."), Script(text="B1."))
    tab_a = await connect(alice)
    await tab_a.send_json_to(send("Q1"))
    start = (await receive_until(tab_a, "message.end"))[0]
    conversation, question = start["conversation"], start["reply_to"]
    tab_b, bobs = await connect(alice), await connect(bob)

    await tab_a.send_json_to({"type": "edit", "message": question, "content": "Q1 again"})
    branch = await tab_a.receive_json_from(timeout=10)
    assert branch["type"] == "branch"
    await receive_until(tab_a, "message.end")
    assert await tab_b.receive_json_from(timeout=10) == {
        "type": "conversation.branch",
        "conversation": conversation,
    }

    await tab_a.send_json_to({"type": "select_version", "message": question})
    assert (await tab_a.receive_json_from(timeout=10))["type"] == "branch"
    assert await tab_b.receive_json_from(timeout=10) == {
        "type": "conversation.branch",
        "conversation": conversation,
    }
    await nothing_more(tab_a)
    await nothing_more(bobs)
    for ws in (tab_a, tab_b, bobs):
        await ws.disconnect()


async def test_a_rename_and_a_delete_reach_every_tab_of_the_user_only(alice, bob):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL, title="Old")
    tab_a, tab_b, bobs = await connect(alice), await connect(alice), await connect(bob)
    url = f"/c/{conversation.pk}/"

    response = await sync_to_async(post)(alice, url + "rename/", {"title": "New name"})
    assert response.status_code == 200
    renamed = {"type": "conversation.renamed", "conversation": conversation.pk, "title": "New name"}
    assert await tab_a.receive_json_from(timeout=5) == renamed
    assert await tab_b.receive_json_from(timeout=5) == renamed

    response = await sync_to_async(post)(alice, url + "delete/", {})
    assert response.status_code == 200
    deleted = {"type": "conversation.deleted", "conversation": conversation.pk}
    assert await tab_a.receive_json_from(timeout=5) == deleted
    assert await tab_b.receive_json_from(timeout=5) == deleted
    await nothing_more(bobs)

    # Bob renaming or deleting Alice's conversation is refused, and tells nobody.
    other = await Conversation.objects.acreate(owner=alice, model=MODEL, title="Alice's")
    response = await sync_to_async(post)(bob, f"/c/{other.pk}/rename/", {"title": "Bob's"})
    assert response.status_code == 404
    await nothing_more(tab_a)
    await nothing_more(bobs)
    for ws in (tab_a, tab_b, bobs):
        await ws.disconnect()


async def test_a_tab_reads_a_conversations_messages_again_as_json(alice, bob, upstream):
    upstream.enqueue(Script(text="A1."))
    ws = await connect(alice)
    await ws.send_json_to(send("Q1"))
    start = (await receive_until(ws, "message.end"))[0]
    await ws.disconnect()

    def get(user):
        client = Client()
        client.force_login(user)
        return client.get(f"/c/{start['conversation']}/", headers=JSON)

    response = await sync_to_async(get)(alice)
    data = response.json()
    assert data["conversation"] == start["conversation"]
    assert [(m["role"], m["text"]) for m in data["messages"]] == [
        ("user", "Q1"),
        ("assistant", "A1."),
    ]
    assert (await sync_to_async(get)(bob)).status_code == 404


async def test_a_channel_layer_that_fails_fails_no_message(alice, upstream, monkeypatch):
    from channels.layers import InMemoryChannelLayer

    async def broken(self, group, message):
        raise ConnectionError("the layer is away")

    upstream.enqueue(Script(text="Still answered."))
    ws = await connect(alice)
    monkeypatch.setattr(InMemoryChannelLayer, "group_send", broken)
    await ws.send_json_to(send("Q1"))
    frames = await receive_until(ws, "message.end")
    assert assemble(frames, frames[0]["message"]) == "Still answered."
    conversation = frames[0]["conversation"]
    response = await sync_to_async(post)(alice, f"/c/{conversation}/rename/", {"title": "Fine"})
    assert response.status_code == 200
    await asyncio.sleep(0)
    await ws.disconnect()


async def test_a_message_sent_and_a_chat_forked_through_the_api_reach_every_tab(
    alice, bob, upstream
):
    from django.test import AsyncClient

    upstream.enqueue(Script(text="From a script."))
    tab, bobs = await connect(alice), await connect(bob)
    client = AsyncClient()
    await sync_to_async(client.force_login)(alice)
    response = await client.post(
        "/api/chat",
        {"conversation": None, "content": "From the API", "model": MODEL},
        content_type="application/json",
    )
    assert response.status_code == 200
    async for _ in response.streaming_content:
        pass
    created = await tab.receive_json_from(timeout=10)
    told = await tab.receive_json_from(timeout=10)
    assert created["type"] == "conversation.created"
    assert told["type"] == "conversation.message"
    assert told["message"]["text"] == "From the API"

    response = await client.post(f"/api/messages/{told['answers'][0]}/fork")
    assert response.status_code == 201
    forked = response.json()["conversation"]
    created = await tab.receive_json_from(timeout=10)
    assert created["type"] == "conversation.created"
    assert created["conversation"] == forked
    await nothing_more(bobs)
    for ws in (tab, bobs):
        await ws.disconnect()


async def test_a_channel_layer_that_hangs_holds_up_no_message(alice, upstream, monkeypatch):
    from channels.layers import InMemoryChannelLayer

    from chat.web import tabs

    async def hung(self, group, message):
        await asyncio.sleep(60)

    monkeypatch.setattr(tabs, "PATIENCE", 0.2)
    upstream.enqueue(Script(text="Still answered."))
    ws = await connect(alice)
    monkeypatch.setattr(InMemoryChannelLayer, "group_send", hung)
    await ws.send_json_to(send("Q1"))
    frames = await receive_until(ws, "message.end", timeout=5)
    assert assemble(frames, frames[0]["message"]) == "Still answered."
    # The socket handles its frames in order: the next one is not kept waiting either.
    await ws.send_json_to({"type": "resume", "message": frames[0]["message"], "offset": 0})
    replayed = await receive_until(ws, "message.end", timeout=2)
    assert assemble(replayed, frames[0]["message"]) == "Still answered."
    await ws.disconnect()
