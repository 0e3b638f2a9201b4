"""The chat page's data and the sidebar's endpoints: rename, delete, search; each scoped to the
user who owns the conversation."""

from __future__ import annotations

import asyncio
import json

import pytest
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.test import Client

from chat.models import Conversation, Message

pytestmark = pytest.mark.django_db

JSON = {"Accept": "application/json"}


def conversation_of(owner, title: str = "Trip to Lisbon", *texts: str) -> Conversation:
    conversation = Conversation.objects.create(owner=owner, model="openai:gpt-test", title=title)
    for text in texts:
        question = conversation.add_user_message(text)
        Message.objects.create(
            conversation=conversation,
            role=Message.Role.ASSISTANT,
            text=f"An answer about {text}",
            seq=conversation.next_seq(),
            reply_to=question,
            model="openai:gpt-test",
        )
    return conversation


def page_data(response) -> dict:
    html = response.content.decode()
    start = html.index('<script id="page-data" type="application/json">')
    start = html.index(">", start) + 1
    return json.loads(html[start : html.index("</script>", start)])


# The page --------------------------------------------------------------------------------


def test_it_opens_a_conversation_at_its_own_url(alice, client_for):
    conversation = conversation_of(alice, "Trip", "where to eat")
    response = client_for(alice).get(f"/c/{conversation.pk}/")
    assert response.status_code == 200
    data = page_data(response)
    assert data["conversation"] == conversation.pk
    assert [(m["role"], m["seq"]) for m in data["messages"]] == [("user", 1), ("assistant", 2)]


def test_it_answers_404_for_another_users_conversation(alice, bob, client_for):
    conversation = conversation_of(alice, "Private", "a secret")
    response = client_for(bob).get(f"/c/{conversation.pk}/")
    assert response.status_code == 404
    assert b"a secret" not in response.content


def test_it_sends_an_anonymous_visitor_to_sign_in(alice):
    conversation = conversation_of(alice)
    response = Client().get(f"/c/{conversation.pk}/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_it_lists_only_the_users_own_conversations(alice, bob, client_for):
    mine = conversation_of(alice, "Mine")
    conversation_of(bob, "Theirs")
    data = page_data(client_for(alice).get("/"))
    assert data["conversation"] is None
    assert [c["title"] for c in data["conversations"]] == ["Mine"]
    assert data["conversations"][0]["id"] == mine.pk


def test_the_page_data_carries_versions_and_the_context_window(alice, client_for):
    conversation = conversation_of(alice, "Long", "first", "second")
    answer = conversation.current_messages().filter(role=Message.Role.ASSISTANT).last()
    answer.context_from_seq = 3
    answer.save()
    # A regenerated answer: a newer version at the same seq, now the one shown.
    newer = Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        text="A better answer",
        seq=answer.seq,
        reply_to=answer.reply_to,
        tool_calls=[{"id": "c1", "name": "calculator", "arguments": {"expression": "1+1"}}],
    )
    newer.make_current()

    messages = page_data(client_for(alice).get(f"/c/{conversation.pk}/"))["messages"]
    assert [m["seq"] for m in messages] == [1, 2, 3, 4]
    last = messages[-1]
    assert last["id"] == newer.pk
    assert last["versions"] == [answer.pk, newer.pk]
    assert last["context_from_seq"] is None
    assert last["tool_calls"][0]["name"] == "calculator"
    assert messages[1]["versions"] == [messages[1]["id"]]
    assert messages[0]["versions"] == []


def test_stored_text_cannot_break_out_of_the_page_data(alice, client_for):
    conversation = conversation_of(alice, "</script><script>alert(1)</script>", "x")
    Message.objects.filter(conversation=conversation, role="assistant").update(
        text="</script><script>window.__pwned=1</script>"
    )
    response = client_for(alice).get(f"/c/{conversation.pk}/")
    assert b"<script>window.__pwned" not in response.content
    assert b"<script>alert(1)" not in response.content
    data = page_data(response)
    assert data["messages"][1]["text"] == "</script><script>window.__pwned=1</script>"


# Rename ----------------------------------------------------------------------------------


def test_it_renames_a_conversation(alice, client_for):
    conversation = conversation_of(alice, "Old name")
    updated = conversation.updated_at
    response = client_for(alice).post(
        f"/c/{conversation.pk}/rename/", {"title": "  New\n name "}, headers=JSON
    )
    assert response.status_code == 200
    assert response.json()["title"] == "New name"
    conversation.refresh_from_db()
    assert conversation.title == "New name"
    assert conversation.updated_at == updated


def test_a_rename_form_without_script_goes_back_to_the_conversation(alice, client_for):
    conversation = conversation_of(alice)
    response = client_for(alice).post(f"/c/{conversation.pk}/rename/", {"title": "Plain form"})
    assert response.status_code == 302
    assert response["Location"] == f"/c/{conversation.pk}/"


def test_it_refuses_an_empty_title(alice, client_for):
    conversation = conversation_of(alice, "Kept")
    response = client_for(alice).post(f"/c/{conversation.pk}/rename/", {"title": " "})
    assert response.status_code == 400
    conversation.refresh_from_db()
    assert conversation.title == "Kept"


def test_it_cuts_a_long_title_to_fit(alice, client_for):
    conversation = conversation_of(alice)
    client_for(alice).post(f"/c/{conversation.pk}/rename/", {"title": "x" * 500}, headers=JSON)
    conversation.refresh_from_db()
    assert conversation.title == "x" * 200


def test_it_does_not_rename_another_users_conversation(alice, bob, client_for):
    conversation = conversation_of(alice, "Hers")
    response = client_for(bob).post(f"/c/{conversation.pk}/rename/", {"title": "Mine now"})
    assert response.status_code == 404
    conversation.refresh_from_db()
    assert conversation.title == "Hers"


def test_rename_needs_a_post_with_the_csrf_token(alice):
    conversation = conversation_of(alice, "Hers")
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get(f"/c/{conversation.pk}/rename/").status_code == 405
    assert client.post(f"/c/{conversation.pk}/rename/", {"title": "x"}).status_code == 403
    conversation.refresh_from_db()
    assert conversation.title == "Hers"


# Delete ----------------------------------------------------------------------------------


def test_it_deletes_a_conversation_and_its_messages(alice, client_for):
    conversation = conversation_of(alice, "Gone", "a", "b")
    response = client_for(alice).post(f"/c/{conversation.pk}/delete/", headers=JSON)
    assert response.status_code == 200
    assert response.json() == {"deleted": conversation.pk}
    assert not Conversation.objects.filter(pk=conversation.pk).exists()
    assert not Message.objects.filter(conversation_id=conversation.pk).exists()


def test_a_delete_form_without_script_goes_home(alice, client_for):
    conversation = conversation_of(alice)
    response = client_for(alice).post(f"/c/{conversation.pk}/delete/")
    assert response.status_code == 302
    assert response["Location"] == "/"


def test_it_does_not_delete_another_users_conversation(alice, bob, client_for):
    conversation = conversation_of(alice, "Hers", "keep me")
    response = client_for(bob).post(f"/c/{conversation.pk}/delete/")
    assert response.status_code == 404
    assert Conversation.objects.filter(pk=conversation.pk).exists()


def test_deleting_stops_an_answer_still_being_written(alice, client_for):
    conversation = conversation_of(alice, "Busy")
    question = conversation.add_user_message("write a lot")
    Message.objects.create(
        conversation=conversation,
        role=Message.Role.ASSISTANT,
        status=Message.Status.STREAMING,
        seq=conversation.next_seq(),
        reply_to=question,
        model="openai:gpt-test",
        owner_channel="owner.process",
    )
    client_for(alice).post(f"/c/{conversation.pk}/delete/", headers=JSON)
    # The stop goes to the process that runs the answer, wherever it is.
    received = async_to_sync(receive_within)("owner.process", 5)
    assert received == {"type": "generation.stop", "message": received["message"]}


async def receive_within(channel: str, seconds: float) -> dict:
    return await asyncio.wait_for(get_channel_layer().receive(channel), seconds)


# Search ----------------------------------------------------------------------------------


def search(client: Client, query: str) -> dict:
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    return response.json()


def test_it_finds_conversations_by_title(alice, client_for):
    wanted = conversation_of(alice, "Sourdough starter")
    conversation_of(alice, "Tax return")
    results = search(client_for(alice), "sourdough")["results"]
    assert [r["id"] for r in results] == [wanted.pk]
    assert results[0]["title"] == "Sourdough starter"


def test_it_finds_conversations_by_what_was_said(alice, client_for):
    wanted = conversation_of(alice, "Untitled", "the hydration of rye dough")
    conversation_of(alice, "Other", "something else")
    results = search(client_for(alice), "HYDRATION")["results"]
    assert [r["id"] for r in results] == [wanted.pk]
    assert "hydration" in results[0]["snippet"]


def test_it_finds_words_in_an_answer(alice, client_for):
    wanted = conversation_of(alice, "Untitled", "bread")
    results = search(client_for(alice), "answer about bread")["results"]
    assert [r["id"] for r in results] == [wanted.pk]


def test_a_conversation_matching_twice_is_listed_once(alice, client_for):
    conversation_of(alice, "rye", "rye", "more rye")
    assert len(search(client_for(alice), "rye")["results"]) == 1


def test_it_never_finds_another_users_conversations(alice, bob, client_for):
    conversation_of(bob, "Bob's rye", "rye secrets")
    assert search(client_for(alice), "rye")["results"] == []


def test_an_empty_search_finds_nothing(alice, client_for):
    conversation_of(alice, "Anything", "anything")
    assert search(client_for(alice), "   ")["results"] == []


def test_search_needs_a_signed_in_user(alice):
    conversation_of(alice, "rye")
    response = Client().get("/search/", {"q": "rye"})
    assert response.status_code == 302
