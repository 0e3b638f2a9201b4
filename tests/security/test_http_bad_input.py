"""The SSE API and the forms answer bad input with a clear 4xx, never a 500. (Bad JSON bodies,
unknown models and conversations: tests/api/test_sse.py.)"""

from __future__ import annotations

import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client

from chat.models import APIToken, Conversation
from chat.web import api_tokens

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"
TOO_BIG = 2**63


@pytest.fixture
def auth(alice):
    return {"Authorization": f"Bearer {api_tokens.create(alice, 'tests')[1]}"}


BODIES = [
    ({"conversation": None, "content": "hi", "models": [MODEL] * 5}, 400, "bad_frame"),
    ({"conversation": None, "content": "hi", "models": "all"}, 400, "bad_frame"),
    ({"conversation": None, "content": "hi", "model": MODEL, "tools": ["rm"]}, 400, "bad_frame"),
    ({"conversation": True, "content": "hi", "model": MODEL}, 400, "bad_frame"),
    ({"conversation": TOO_BIG, "content": "hi", "model": MODEL}, 404, "not_found"),
    ({"conversation": None, "content": {"text": "hi"}, "model": MODEL}, 400, "bad_frame"),
    ({"conversation": None, "content": "x" * 40_000, "model": MODEL}, 413, "too_long"),
]


@pytest.mark.parametrize(("body", "status", "code"), BODIES, ids=lambda v: str(v)[:50])
async def test_the_chat_endpoint_answers_bad_fields_with_a_4xx(auth, upstream, body, status, code):
    response = await AsyncClient().post(
        "/api/chat", body, content_type="application/json", headers=auth
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert list(upstream.requests) == []


async def test_a_body_over_the_upload_limit_is_a_4xx(auth, upstream, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100_000
    body = json.dumps({"conversation": None, "content": "x" * 200_000, "model": MODEL})
    response = await AsyncClient().post(
        "/api/chat", body, content_type="application/json", headers=auth
    )
    assert 400 <= response.status_code < 500


async def test_a_conversation_too_long_for_the_model_is_a_4xx(alice, auth, upstream, settings):
    settings.MODEL_CONTEXT_LENGTHS = {MODEL: 64}
    settings.MAX_OUTPUT_TOKENS = 32
    body = {"conversation": None, "content": "word " * 500, "model": MODEL}
    response = await AsyncClient().post(
        "/api/chat", body, content_type="application/json", headers=auth
    )
    assert 400 <= response.status_code < 500
    assert response.json()["code"] == "cannot_answer"


@pytest.mark.parametrize(
    ("url", "headers", "status"),
    [
        ("/api/messages/{m}/stream", {"Last-Event-ID": "seven"}, 400),
        ("/api/messages/{m}/stream", {"Last-Event-ID": "7:-1"}, 400),
        ("/api/messages/{m}/stream?offset=-4", {}, 400),
        ("/api/messages/{m}/stream?offset=1e3", {}, 400),
        (f"/api/messages/{TOO_BIG}/stream", {}, 404),
        ("/api/messages/abc/stream", {}, 404),
    ],
)
async def test_the_stream_endpoint_answers_bad_input_with_a_4xx(
    alice, auth, upstream, url, headers, status
):
    conversation = await Conversation.objects.acreate(owner=alice, model=MODEL)
    message = await sync_to_async(conversation.add_user_message)("hi")
    response = await AsyncClient().get(url.format(m=message.pk), headers={**auth, **headers})
    assert response.status_code == status


async def test_the_endpoints_refuse_the_wrong_method(auth, upstream):
    client = AsyncClient()
    assert (await client.get("/api/chat", headers=auth)).status_code == 405
    assert (await client.post("/api/messages/1/stream", headers=auth)).status_code == 405
    assert (await client.get("/api/messages/1/stop", headers=auth)).status_code == 405
    assert (await client.post(f"/api/messages/{TOO_BIG}/stop", headers=auth)).status_code == 404


def test_the_forms_answer_bad_input_with_a_page_not_a_500(alice):
    client = Client()
    response = client.post("/login/", {"username": "x" * 10_000, "password": "y" * 10_000})
    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()
    assert client.post("/login/", {}).status_code == 200

    client.force_login(alice)
    response = client.post("/settings/tokens/", {"name": "n" * 10_000})
    assert response.status_code == 200
    assert len(APIToken.objects.get(user=alice).name) == 100
    assert client.post(f"/settings/tokens/{TOO_BIG}/revoke/").status_code == 404
    assert client.get("/settings/tokens/1/revoke/").status_code == 405
    assert client.get(f"/c/{TOO_BIG}/").status_code == 404


def test_sign_up_answers_bad_input_with_the_form(db, settings):
    settings.ALLOW_SIGNUP = True
    client = Client()
    for form in (
        {},
        {"username": "a b", "password1": "x", "password2": "y"},
        {"username": "u" * 10_000, "password1": "long enough 42!", "password2": "long enough 42!"},
    ):
        assert client.post("/signup/", form).status_code == 200
