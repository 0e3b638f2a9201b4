"""Shapes of bad input that used to get a 500 (HTTP) or ``internal`` and a traceback (the
socket): non-ASCII digits, offsets past Python's integer-string limit, lone surrogates,
nesting thousands deep, lists where tool names go, a body over the upload limit. Each gets the
documented error, over both edges, and stores nothing."""

from __future__ import annotations

import json
import logging

import pytest
from django.test import AsyncClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from chat.models import Conversation, Message
from chat.web import api_tokens
from tests.conftest import connect

pytestmark = pytest.mark.django_db(transaction=True)

MODEL = "openai:gpt-test"
DOCUMENTED = {"bad_frame", "too_long", "unknown_type", "not_found", "bad_model", "cannot_answer"}

BODIES = [
    ('{"conversation": null, "content": "\\ud800", "model": "' + MODEL + '"}', 400, "bad_frame"),
    ('{"conversation": null, "content": "hi", "model": "\\udfff"}', 400, "bad_frame"),
    ('{"conversation": null, "content": "a\\u0000b", "model": "' + MODEL + '"}', 400, "bad_frame"),
    ('{"\\ud800": 1, "content": "hi", "model": "' + MODEL + '"}', 400, "bad_frame"),
    ("[" * 30_000 + "]" * 30_000, 400, "bad_frame"),
    ('{"content": "hi", "model": "' + MODEL + '", "tools": [[1]]}', 400, "bad_frame"),
    ('{"content": "hi", "model": "' + MODEL + '", "tools": [{"a": 1}]}', 400, "bad_frame"),
    (
        '{"content": "hi", "model": "' + MODEL + '", "offset": ' + "9" * 5_000 + "}",
        400,
        "bad_frame",
    ),
]


@pytest.fixture
def auth(alice):
    return {"Authorization": f"Bearer {api_tokens.create(alice, 'tests')[1]}"}


@pytest.fixture
def message(alice):
    conversation = Conversation.objects.create(owner=alice, model=MODEL)
    return conversation.add_user_message("hi")


@pytest.mark.parametrize(("body", "status", "code"), BODIES, ids=lambda v: str(v)[:40])
async def test_the_chat_endpoint_answers_each_shape_with_its_error(
    auth, upstream, caplog, body, status, code
):
    response = await AsyncClient().post(
        "/api/chat", body, content_type="application/json", headers=auth
    )
    assert response.status_code == status
    assert response.json()["code"] == code
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await Conversation.objects.acount() == 0
    assert list(upstream.requests) == []


@pytest.mark.parametrize("body", [b for b, _, _ in BODIES], ids=lambda v: str(v)[:40])
async def test_the_socket_answers_each_shape_with_bad_frame(alice, upstream, caplog, body):
    raw = '{"type": "send", ' + body[1:] if body.startswith("{") else body
    ws = await connect(alice)
    await ws.send_to(text_data=raw)
    reply = await ws.receive_json_from(timeout=5)
    await ws.disconnect()
    assert reply["type"] == "error"
    assert reply["code"] == "bad_frame"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert await Message.objects.acount() == 0


@pytest.mark.parametrize(
    ("query", "headers"),
    [
        ("?offset=²", {}),
        ("?offset=\u0661\u0662", {}),  # Arabic-Indic digits
        ("?offset=" + "9" * 5_000, {}),
        ("", {"Last-Event-ID": "1:" + "9" * 5_000}),
        ("", {"Last-Event-ID": "1:³"}),
    ],
    ids=["superscript", "arabic-indic", "5000 digits", "long Last-Event-ID", "superscript id"],
)
async def test_the_stream_endpoint_refuses_offsets_int_cannot_take(
    auth, message, caplog, query, headers
):
    response = await AsyncClient().get(
        f"/api/messages/{message.pk}/stream{query}", headers={**auth, **headers}
    )
    assert response.status_code == 400
    assert response.json()["code"] == "bad_frame"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


async def test_a_body_over_the_upload_limit_gets_the_json_error(auth, upstream):
    body = json.dumps({"conversation": None, "content": "x" * 3_000_000, "model": MODEL})
    response = await AsyncClient().post(
        "/api/chat", body, content_type="application/json", headers=auth
    )
    assert response.status_code == 413
    assert response["Content-Type"] == "application/json"
    assert response.json()["code"] == "too_long"


# Fuzzing the HTTP API --------------------------------------------------------------------

texts = st.text(max_size=20) | st.sampled_from(["\ud800", "²", "\u0661", "9" * 5000, ""])
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)
bodies = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "conversation": json_values,
            "content": texts | json_values,
            "model": st.sampled_from([MODEL, "x:y", ""]) | json_values,
            "models": json_values,
            "tools": st.lists(json_values, max_size=3) | json_values,
        },
    ).map(lambda d: json.dumps(d)),
    json_values.map(json.dumps),
    st.integers(min_value=1, max_value=40_000).map(lambda n: "[" * n + "]" * n),
    st.text(max_size=60),
)
# What an HTTP client can send at all: no lone surrogates in a URL or a header.
offsets = st.one_of(texts, st.integers().map(str), st.from_regex(r"\A[0-9:\-]{0,30}\Z")).filter(
    lambda t: not any("\ud800" <= c <= "\udfff" for c in t)
)


@pytest.fixture
def django_settings(settings):
    return settings  # hypothesis has a `settings` of its own


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(body=bodies, offset=offsets, last_event=offsets)
def test_the_http_api_never_answers_fuzz_with_a_500(
    alice, auth, message, django_settings, body, offset, last_event
):
    from django.test import Client

    client = Client(raise_request_exception=False)
    django_settings.PROVIDER_RETRIES = 0
    django_settings.OPENAI_API_KEY = "sk-test"
    django_settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"  # nothing listens: never reached
    django_settings.OPENAI_MODELS = ["gpt-test"]
    chat = client.post("/api/chat", body, content_type="application/json", headers=auth)
    headers = dict(auth)
    try:
        headers["Last-Event-ID"] = last_event.encode("latin-1").decode("latin-1")
    except UnicodeEncodeError:
        pass
    stream = client.get(f"/api/messages/{message.pk}/stream", {"offset": offset}, headers=headers)
    for response in (chat, stream):
        assert response.status_code < 500
        if response.status_code >= 400:
            assert response.json()["code"] in DOCUMENTED | {"rate_limited"}


async def test_a_session_post_over_the_upload_limit_gets_the_json_error(alice, upstream, settings):
    from asgiref.sync import sync_to_async
    from django.test import AsyncClient as Client

    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    client = Client(enforce_csrf_checks=True)
    await sync_to_async(client.force_login)(alice)
    client.cookies["csrftoken"] = "a" * 32  # so the check goes on to read the form's token
    response = await client.post("/api/chat", {"content": "x" * 20_000, "model": MODEL})
    assert response.status_code == 413
    assert response.json()["code"] == "too_long"
