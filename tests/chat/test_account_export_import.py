"""A user's own export and import: every conversation and branch out as JSON and back in as
new conversations of the importer; a bad file is refused with a 400 saying why, storing
nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from chat.models import Conversation, Message
from chat.review import importing

pytestmark = pytest.mark.django_db


def answer(conversation: Conversation, question: Message, text: str, **fields) -> Message:
    return Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text=text,
        seq=fields.pop("seq", None) or conversation.next_seq(),
        reply_to=question,
        model="openai:gpt-test",
        **fields,
    )


def branching_conversation(owner) -> Conversation:
    """Two versions of the first question (the second shown), two of an answer, and an answer
    still being written."""
    conversation = Conversation.objects.create(owner=owner, model="openai:gpt-test", title="Trip")
    first = conversation.add_user_message("Where to go?")
    answer(conversation, first, "Lisbon.", finish_reason="stop")
    edited = conversation.add_edit(first, "Where to go in spring?")
    old = answer(conversation, edited, "Porto.", chosen=False, active=False)
    answer(conversation, edited, "Seville.", seq=old.seq, reasoning="Warm in spring.")
    follow_up = conversation.add_user_message("And to eat?")
    answer(conversation, follow_up, "Pastéis", status=Message.Status.STREAMING)
    return conversation


def shape(conversation: Conversation) -> list[tuple]:
    """What must survive the trip, ids replaced by positions."""
    rows = list(conversation.messages.order_by("seq", "pk"))
    at = {row.pk: i for i, row in enumerate(rows)}
    return [
        (
            row.seq,
            row.role,
            row.text,
            row.reasoning,
            row.model,
            row.chosen,
            row.active,
            at.get(row.reply_to_id),
            at.get(row.parent_id),
            row.finish_reason,
            # JSON keeps times to the millisecond.
            row.created_at.replace(microsecond=row.created_at.microsecond // 1000 * 1000),
        )
        for row in rows
    ]


def exported(client: Client) -> bytes:
    response = client.get("/settings/account/export/")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"].startswith('attachment; filename="conversations-')
    return b"".join(response.streaming_content)


def upload(client: Client, content: bytes, name: str = "conversations.json"):
    return client.post(
        "/settings/account/import/", {"file": SimpleUploadedFile(name, content, "application/json")}
    )


def test_an_export_imports_back_as_the_same_conversations(alice, bob, client_for):
    original = branching_conversation(alice)
    Conversation.objects.create(owner=bob, model="openai:gpt-test", title="Bob's own")
    data = exported(client_for(alice))
    assert [c["title"] for c in json.loads(data)["conversations"]] == ["Trip"]  # hers alone
    assert "error_detail" not in data.decode()  # operators' details stay out

    as_bob = client_for(bob)
    response = upload(as_bob, data)
    assert response.status_code == 302
    imported = Conversation.objects.get(owner=bob, title="Trip")
    assert imported.pk != original.pk
    expected = shape(original)
    live = next(i for i, row in enumerate(expected) if row[2] == "Pastéis")
    got = shape(imported)
    assert [row for i, row in enumerate(got) if i != live] == [
        row for i, row in enumerate(expected) if i != live
    ]
    assert got[live][:9] == expected[live][:9]
    # Nothing will write the answer that was still being written.
    assert imported.messages.get(text="Pastéis").status == Message.Status.INTERRUPTED
    assert [m.text for m in imported.current_messages()] == [
        m.text for m in original.current_messages()
    ]
    assert not imported.messages.filter(pk__in=original.messages.values("pk")).exists()
    assert "Imported 1 conversation." in as_bob.get("/settings/account/").content.decode()

    # And out again: the same file, but for the ids and the times of the export.
    again = json.loads(exported(as_bob))["conversations"]
    mine = next(c for c in again if c["title"] == "Trip")
    before = json.loads(data)["conversations"][0]
    strip = lambda m: {k: v for k, v in m.items() if k not in ("id", "reply_to_id", "parent_id")}  # noqa: E731
    assert [strip(m) | {"status": ""} for m in mine["messages"]] == [
        strip(m) | {"status": ""} for m in before["messages"]
    ]


def test_importing_twice_makes_two_copies(alice, client_for):
    branching_conversation(alice)
    client = client_for(alice)
    data = exported(client)
    assert upload(client, data).status_code == 302
    assert Conversation.objects.filter(owner=alice, title="Trip").count() == 2


def file_with(change) -> bytes:
    good = {
        "conversations": [
            {
                "title": "T",
                "model": "openai:gpt-test",
                "messages": [
                    {"id": 1, "seq": 1, "role": "user", "text": "hi", "status": "complete"},
                    {"id": 2, "seq": 2, "role": "assistant", "text": "yo", "reply_to_id": 1},
                ],
            },
            {"title": "Second", "messages": []},
        ]
    }
    change(good)
    return json.dumps(good).encode()


def message(data, i=1):
    return data["conversations"][0]["messages"][i]


BAD_FILES = {
    "not JSON": (b"{nope", "not JSON"),
    "not an export": (b"[1, 2]", '"conversations"'),
    "a bad role": (file_with(lambda d: message(d).update(role="wizard")), "role must be one of"),
    "a bad status": (file_with(lambda d: message(d).update(status="done")), "status must be"),
    "a missing seq": (file_with(lambda d: message(d).pop("seq")), "seq is missing"),
    "a dangling reply": (file_with(lambda d: message(d).update(reply_to_id=9)), "reply_to_id"),
    "a dangling parent": (file_with(lambda d: message(d, 0).update(parent_id=7)), "parent_id"),
    "a repeated id": (file_with(lambda d: message(d).update(id=1)), "same id"),
    "a text not text": (file_with(lambda d: message(d).update(text=["x"])), "text must be text"),
    "a bad time": (file_with(lambda d: message(d).update(created_at="soon")), "created_at"),
    "tool calls not calls": (
        file_with(lambda d: message(d).update(tool_calls=["x"])),
        "tool_calls must be a list of calls",
    ),
    "messages not a list": (
        file_with(lambda d: d["conversations"][1].update(messages={})),
        "messages must be a list",
    ),
    "a bad effort": (
        file_with(lambda d: d["conversations"][0].update(reasoning_effort="max")),
        "reasoning_effort",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_a_bad_file_is_refused_storing_nothing(alice, client_for, case):
    content, said = BAD_FILES[case]
    response = upload(client_for(alice), content)
    assert response.status_code == 400
    html = response.content.decode()
    assert "Nothing was imported." in html
    assert said.replace('"', "&quot;") in html
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_a_good_file_of_the_same_shape_imports(alice, client_for):
    assert upload(client_for(alice), file_with(lambda d: None)).status_code == 302
    first = Conversation.objects.get(owner=alice, title="T")
    question, reply = first.messages.order_by("seq")
    assert reply.reply_to == question
    assert Conversation.objects.filter(owner=alice, title="Second").exists()


def test_a_file_too_large_or_missing_is_refused(alice, client_for, monkeypatch):
    monkeypatch.setattr(importing, "MAX_BYTES", 100)
    response = upload(client_for(alice), file_with(lambda d: None))
    assert response.status_code == 400
    assert "larger than" in response.content.decode()
    response = client_for(alice).post("/settings/account/import/", {})
    assert response.status_code == 400
    assert "Choose a file" in response.content.decode()
    assert not Conversation.objects.exists()


def test_export_and_import_need_a_sign_in():
    assert Client().get("/settings/account/export/").status_code == 302
    assert Client().post("/settings/account/import/").status_code == 302
