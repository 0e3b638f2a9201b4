"""Every state-changing form and endpoint that uses the session refuses a post without the CSRF
token, and accepts one with it (so the refusal is the token's doing)."""

from __future__ import annotations

import pytest
from django.test import Client

from chat.models import APIToken, Conversation
from chat.web import api_tokens

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery"


def csrf_client(user=None) -> Client:
    client = Client(enforce_csrf_checks=True)
    if user is not None:
        client.force_login(user)
    return client


def token_of(client: Client, page: str = "/login/") -> str:
    client.get(page)
    return client.cookies["csrftoken"].value


def test_sign_in_needs_the_token(alice):
    client = csrf_client()
    credentials = {"username": "alice", "password": PASSWORD}
    assert client.post("/login/", credentials).status_code == 403
    assert "_auth_user_id" not in client.session
    response = client.post("/login/", {**credentials, "csrfmiddlewaretoken": token_of(client)})
    assert response.status_code == 302
    assert "_auth_user_id" in client.session


def test_sign_up_needs_the_token(db, settings):
    client = csrf_client()
    form = {
        "username": "first",
        "password1": "a long passphrase 42",
        "password2": "a long passphrase 42",
    }
    assert client.post("/signup/", form).status_code == 403
    form["csrfmiddlewaretoken"] = token_of(client, "/signup/")
    assert client.post("/signup/", form).status_code == 302


def test_sign_out_needs_the_token(alice):
    client = csrf_client(alice)
    assert client.post("/logout/").status_code == 403
    assert "_auth_user_id" in client.session
    client.post("/logout/", {"csrfmiddlewaretoken": token_of(client, "/")})
    assert "_auth_user_id" not in client.session


def test_creating_and_revoking_tokens_need_the_token(alice):
    client = csrf_client(alice)
    assert client.post("/settings/tokens/", {"name": "x"}).status_code == 403
    assert not APIToken.objects.exists()
    record, _ = api_tokens.create(alice, "laptop")
    assert client.post(f"/settings/tokens/{record.pk}/revoke/").status_code == 403
    record.refresh_from_db()
    assert record.revoked_at is None

    csrf = token_of(client, "/settings/tokens/")
    client.post(f"/settings/tokens/{record.pk}/revoke/", {"csrfmiddlewaretoken": csrf})
    record.refresh_from_db()
    assert record.revoked_at is not None


def test_the_api_with_a_session_needs_the_token(alice):
    # (posting a chat with and without the token: tests/api/test_sse.py)
    conversation = Conversation.objects.create(owner=alice, model="openai:gpt-test")
    message = conversation.add_user_message("hi")
    client = csrf_client(alice)
    assert client.post(f"/api/messages/{message.pk}/stop").status_code == 401
    csrf = token_of(client, "/")
    response = client.post(f"/api/messages/{message.pk}/stop", headers={"X-CSRFToken": csrf})
    assert response.status_code == 409  # past the check: nothing is streaming


def test_admin_actions_need_the_token(django_user_model, alice):
    root = django_user_model.objects.create_superuser("root", password=PASSWORD)
    conversation = Conversation.objects.create(owner=alice, model="openai:gpt-test")
    client = csrf_client(root)
    delete = {"action": "delete_selected", "_selected_action": [conversation.pk], "post": "yes"}
    assert client.post("/admin/chat/conversation/", delete).status_code == 403
    assert Conversation.objects.filter(pk=conversation.pk).exists()
    delete["csrfmiddlewaretoken"] = token_of(client, "/admin/chat/conversation/")
    client.post("/admin/chat/conversation/", delete)
    assert not Conversation.objects.filter(pk=conversation.pk).exists()


def test_the_session_cookie_is_not_readable_by_scripts_nor_sent_cross_site(alice, settings):
    client = Client()
    client.post("/login/", {"username": "alice", "password": PASSWORD})
    cookie = client.cookies[settings.SESSION_COOKIE_NAME]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
