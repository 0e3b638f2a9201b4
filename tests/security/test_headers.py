"""Every response carries the security headers: pages, forms, the API, static files, the admin
and error pages alike."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from chat.models import Conversation
from chat.web import api_tokens

pytestmark = pytest.mark.django_db

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def assert_secured(response, where: str) -> None:
    assert response["Content-Security-Policy"] == POLICY, where
    assert response["X-Content-Type-Options"] == "nosniff", where
    assert response["Referrer-Policy"] == "same-origin", where
    assert response["X-Frame-Options"] == "DENY", where
    assert response["Cross-Origin-Opener-Policy"] == "same-origin", where


def test_it_is_the_policy_the_issue_asks_for():
    assert settings.CONTENT_SECURITY_POLICY == POLICY


def test_it_secures_pages_forms_static_files_and_errors(client: Client, alice):
    anonymous = {
        "/login/": 200,
        "/signup/": 403,  # closed: alice exists
        "/static/css/app.css": 200,
        "/admin/login/": 200,
        "/no/such/page/": 404,
        "/api/messages/1/stream": 401,
    }
    for url, status in anonymous.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert_secured(response, url)

    conversation = Conversation.objects.create(owner=alice, model="openai:gpt-test")
    client.force_login(alice)
    signed_in = {
        "/": 200,
        f"/c/{conversation.pk}/": 200,
        "/settings/tokens/": 200,
        "/c/999999/": 404,
        "/admin/": 302,  # not staff: to the admin's sign-in
    }
    for url, status in signed_in.items():
        response = client.get(url)
        assert response.status_code == status, url
        assert_secured(response, url)
    response = client.post("/settings/tokens/", {"name": "laptop"})
    assert_secured(response, "token created")


def test_it_secures_the_admin(client: Client, django_user_model):
    client.force_login(django_user_model.objects.create_superuser("root", password="x"))
    for url in ("/admin/", "/admin/chat/conversation/", "/admin/chat/conversation/dashboard/"):
        response = client.get(url)
        assert response.status_code == 200, url
        assert_secured(response, url)


@pytest.mark.django_db(transaction=True)
async def test_it_secures_the_event_stream(alice, upstream):
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient

    from tests.fakes.script import Script

    _, token = await sync_to_async(api_tokens.create)(alice, "tests")
    upstream.enqueue(Script(text="ok"))
    response = await AsyncClient().post(
        "/api/chat",
        {"conversation": None, "content": "hi", "model": "openai:gpt-test"},
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response["Content-Type"] == "text/event-stream"
    assert_secured(response, "event stream")
    async for _ in response.streaming_content:
        pass


def test_the_diagram_frame_has_its_own_policy_and_may_be_framed_by_the_site(client: Client):
    # Mermaid measures text with inline styles (static/js/markdown/diagrams.js): its frame, and
    # only it, allows them; it loads nothing but this site's scripts and fonts.
    response = client.get("/static/js/markdown/diagram-frame.html")
    assert response.status_code == 200
    assert response["Content-Security-Policy"] == (
        "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src data:; "
        "font-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'self'"
    )
    assert response["X-Frame-Options"] == "SAMEORIGIN"
    script = client.get("/static/js/markdown/diagram-frame.js")
    assert_secured(script, "the frame's script")
