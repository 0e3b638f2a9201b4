"""Nobody reads or writes another user's conversations or messages, on any path; only staff
with the permission reach the admin.

Also covered elsewhere: WebSocket resume, stop, regenerate and continue
(tests/chat/test_resume.py), WebSocket send into another's conversation
(tests/chat/test_socket_access.py), SSE stream and stop (tests/api/test_sse.py), the admin's
pages for non-staff and staff without the permission (tests/admin/test_permissions.py).
"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from chat.models import APIToken, Conversation, Message
from chat.web import api_tokens
from tests.conftest import connect

SECRET = "alice's private question"


def alices_conversation(alice) -> tuple[Conversation, Message]:
    conversation = Conversation.objects.create(owner=alice, model="openai:gpt-test", title="Mine")
    question = conversation.add_user_message(SECRET)
    answer = conversation.messages.create(
        role=Message.Role.ASSISTANT,
        text="alice's private answer",
        seq=question.seq + 1,
        reply_to=question,
        model="openai:gpt-test",
        status=Message.Status.STOPPED,
    )
    return conversation, answer


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_the_chat_page_of_another_users_conversation_is_not_found(alice, bob):
    conversation, _ = alices_conversation(alice)
    response = signed_in(bob).get(f"/c/{conversation.pk}/")
    assert response.status_code == 404
    assert SECRET not in response.content.decode()
    assert signed_in(alice).get(f"/c/{conversation.pk}/").status_code == 200


@pytest.mark.django_db
def test_the_sidebar_lists_only_ones_own_conversations(alice, bob):
    alices_conversation(alice)
    page = signed_in(bob).get("/").content.decode()
    assert "Mine" not in page and SECRET not in page


@pytest.mark.django_db
def test_another_users_token_can_be_neither_seen_nor_revoked(alice, bob):
    record, token = api_tokens.create(alice, "alice's laptop")
    page = signed_in(bob).get("/settings/tokens/").content.decode()
    assert "alice&#x27;s laptop" not in page and record.prefix not in page
    response = signed_in(bob).post(f"/settings/tokens/{record.pk}/revoke/")
    assert response.status_code == 404
    record.refresh_from_db()
    assert record.revoked_at is None
    assert api_tokens.authenticate(token) == alice


@pytest.mark.django_db(transaction=True)
async def test_the_api_refuses_to_post_into_another_users_conversation(alice, bob, upstream):
    conversation, _ = await sync_to_async(alices_conversation)(alice)
    _, token = await sync_to_async(api_tokens.create)(bob, "bob")
    response = await AsyncClient().post(
        "/api/chat",
        {"conversation": conversation.pk, "content": "hi", "model": "openai:gpt-test"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 404
    assert await conversation.messages.acount() == 2
    assert list(upstream.requests) == []


@pytest.mark.django_db(transaction=True)
async def test_the_socket_refuses_to_select_another_users_version(alice, bob, upstream):
    _, answer = await sync_to_async(alices_conversation)(alice)
    ws = await connect(bob)
    await ws.send_json_to({"type": "select_version", "message": answer.pk})
    reply = await ws.receive_json_from(timeout=5)
    await ws.send_json_to({"type": "select_version", "message": answer.reply_to_id})
    reply_for_question = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert (
        reply
        == reply_for_question
        == {
            "type": "error",
            "code": "not_found",
            "detail": "No such message",
        }
    )
    assert "private" not in json.dumps([reply, reply_for_question])


@pytest.mark.django_db
def test_the_admin_export_is_refused_to_people_who_are_not_staff(alice, bob):
    conversation, _ = alices_conversation(alice)
    response = signed_in(bob).post(
        "/admin/chat/conversation/",
        {"action": "export_json", "_selected_action": [conversation.pk]},
    )
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")
    assert SECRET not in response.content.decode()


@pytest.mark.django_db
def test_no_admin_page_answers_people_who_are_not_staff(alice, bob):
    conversation, _ = alices_conversation(alice)
    token, _ = api_tokens.create(alice, "laptop")
    urls = [
        "/admin/",
        "/admin/chat/",
        "/admin/chat/conversation/",
        f"/admin/chat/conversation/{conversation.pk}/change/",
        f"/admin/chat/conversation/{conversation.pk}/delete/",
        f"/admin/chat/conversation/{conversation.pk}/history/",
        "/admin/chat/conversation/dashboard/",
        "/admin/auth/user/",
        f"/admin/auth/user/{alice.pk}/change/",
        f"/admin/auth/user/{alice.pk}/password/",
    ]
    bobs = signed_in(bob)
    for url in urls:
        response = bobs.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith("/admin/login/"), url
    response = bobs.post(f"/admin/chat/conversation/{conversation.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    assert APIToken.objects.filter(pk=token.pk).exists()
