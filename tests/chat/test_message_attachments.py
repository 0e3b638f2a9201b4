"""Files sent with a message: the ``send`` and ``edit`` frames and the API name them by id,
only the sender's own, and every message the page holds lists them. A refused message stores
nothing and leaves the files as they were."""

import json

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient

from chat import answers
from chat.models import Attachment, Conversation, Message
from chat.web import api_tokens
from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

MODEL = "openai:gpt-test"


@pytest.fixture(autouse=True)
async def close_connections():
    yield
    await sync_to_async(connections.close_all)()


def upload(owner, name: str, text: str = "notes") -> Attachment:
    """An uploaded text file, as the upload stores it (the bytes are not read here)."""
    return Attachment.objects.create(
        owner=owner,
        name=name,
        kind=Attachment.Kind.TEXT,
        content_type="text/plain",
        size=len(text),
        digest=f"{name:0<64}"[:64],
        text=text,
    )


def files_of(message_id: int) -> list[str]:
    return [a.name for a in Message.objects.get(pk=message_id).attachments.all()]


def database() -> tuple:
    return (
        list(Conversation.objects.values_list("pk", flat=True)),
        list(Message.objects.values_list("pk", "text")),
        list(Attachment.objects.values_list("pk", "sent")),
    )


def send(content: str, conversation=None, **more) -> dict:
    frame = {"type": "send", "conversation": conversation, "content": content, "model": MODEL}
    return {**frame, **more}


async def test_a_sent_message_carries_its_files_and_every_page_lists_them(alice, upstream):
    notes = await sync_to_async(upload)(alice, "notes.md")
    data = await sync_to_async(upload)(alice, "data.csv", "a,b")
    upstream.enqueue(Script(text="Read."))
    ws = await connect(alice)
    await ws.send_json_to(send("Look", attachments=[data.pk, notes.pk, data.pk]))
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    question = frames[0]["reply_to"]
    assert await sync_to_async(files_of)(question) == ["notes.md", "data.csv"]
    assert await sync_to_async(
        lambda: list(Attachment.objects.order_by("pk").values_list("sent", flat=True))
    )() == [True, True]

    conversation = await sync_to_async(Conversation.objects.get)(pk=frames[0]["conversation"])
    shown = await sync_to_async(answers.transcript)(conversation)
    by_role = {m["role"]: m["attachments"] for m in shown}
    assert [a["name"] for a in by_role["user"]] == ["notes.md", "data.csv"]
    assert by_role["user"][1] == {
        "id": data.pk,
        "name": "data.csv",
        "type": "text/plain",
        "kind": "text",
        "size": 3,
        "width": None,
        "height": None,
        "pages": None,
    }
    assert by_role["assistant"] == []


async def test_an_edit_keeps_the_files_unless_it_names_others(alice, upstream):
    notes = await sync_to_async(upload)(alice, "notes.md")
    other = await sync_to_async(upload)(alice, "other.txt")
    upstream.enqueue(Script(text="A."), Script(text="B."), Script(text="C."), Script(text="D."))
    ws = await connect(alice)
    await ws.send_json_to(send("Q", attachments=[notes.pk]))
    question = (await receive_until(ws, "message.end"))[0]["reply_to"]

    async def edit(shown: int, content: str, **more) -> tuple[dict, int]:
        await ws.send_json_to({"type": "edit", "message": shown, "content": content, **more})
        branch = await ws.receive_json_from(timeout=10)
        frames = await receive_until(ws, "message.end")
        return branch, frames[0]["reply_to"]

    branch, kept = await edit(question, "Q again")
    assert await sync_to_async(files_of)(kept) == ["notes.md"]
    assert [a["name"] for a in branch["messages"][0]["attachments"]] == ["notes.md"]
    _, changed = await edit(kept, "Q other", attachments=[other.pk])
    assert await sync_to_async(files_of)(changed) == ["other.txt"]
    _, none = await edit(changed, "Q bare", attachments=[])
    assert await sync_to_async(files_of)(none) == []
    await ws.disconnect()
    assert await sync_to_async(files_of)(question) == ["notes.md"]  # the old version keeps them


async def test_someone_elses_file_is_not_found_and_nothing_is_stored(alice, bob, upstream):
    theirs = await sync_to_async(upload)(bob, "secret.txt")
    mine = await sync_to_async(upload)(alice, "mine.txt")
    upstream.enqueue(Script(text="A."))
    ws = await connect(alice)
    await ws.send_json_to(send("Q", attachments=[mine.pk]))
    question = (await receive_until(ws, "message.end"))[0]["reply_to"]
    before = await sync_to_async(database)()

    await ws.send_json_to(send("Peek", attachments=[mine.pk, theirs.pk]))
    refused = await ws.receive_json_from(timeout=10)
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    assert refused["detail"] == "No such attachment"
    await ws.send_json_to(
        {"type": "edit", "message": question, "content": "Peek", "attachments": [theirs.pk]}
    )
    refused = await ws.receive_json_from(timeout=10)
    assert (refused["type"], refused["code"]) == ("error", "not_found")
    await ws.disconnect()
    assert await sync_to_async(database)() == before
    assert len(upstream.requests) == 1


async def test_someone_elses_file_over_the_api_is_a_404(alice, bob, upstream):
    theirs = await sync_to_async(upload)(bob, "secret.txt")
    token = (await sync_to_async(api_tokens.create)(alice, "tests"))[1]
    before = await sync_to_async(database)()
    response = await AsyncClient().post(
        "/api/chat",
        send("Peek", attachments=[theirs.pk]),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
    assert await sync_to_async(database)() == before
    assert list(upstream.requests) == []


@pytest.mark.parametrize(
    ("attachments", "code"),
    [
        ("1", "bad_frame"),
        ([0], "bad_frame"),
        ([True], "bad_frame"),
        (["1"], "bad_frame"),
        ([1.5], "bad_frame"),
        (list(range(1, 5)), "too_many_files"),
    ],
)
async def test_a_bad_list_of_files_is_refused(alice, upstream, settings, attachments, code):
    settings.MAX_ATTACHMENTS_PER_MESSAGE = 3
    ws = await connect(alice)
    await ws.send_json_to(send("Q", attachments=attachments))
    refused = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert (refused["type"], refused["code"]) == ("error", code)
    assert await sync_to_async(Message.objects.count)() == 0
    assert list(upstream.requests) == []


async def test_the_api_lists_the_files_of_the_message_it_sent(alice, upstream):
    notes = await sync_to_async(upload)(alice, "notes.md")
    token = (await sync_to_async(api_tokens.create)(alice, "tests"))[1]
    upstream.enqueue(Script(text="Read."))
    response = await AsyncClient().post(
        "/api/chat",
        send("Summarize", attachments=[notes.pk]),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    blocks = [dict(line.split(": ", 1) for line in b.split("\n")) for b in body.split("\n\n") if b]
    assert [b["event"] for b in blocks[:2]] == ["message.start", "conversation.message"]
    assert blocks[1]["id"] == blocks[0]["id"]
    question = json.loads(blocks[1]["data"])["message"]
    assert (question["role"], question["text"]) == ("user", "Summarize")
    assert [f["name"] for f in question["attachments"]] == ["notes.md"]
    assert blocks[-1]["event"] == "message.end"
