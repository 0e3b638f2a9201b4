import asyncio
import json

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from chat.models import APIToken, Message
from chat.web import api_tokens as tokens
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

BODY = {"conversation": None, "content": "hi", "model": "openai:gpt-test"}


def parse(raw: bytes) -> list[dict]:
    events = []
    for block in raw.decode().split("\n\n"):
        if not block.strip():
            continue
        fields = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append(
            {"event": fields["event"], "id": fields["id"], "data": json.loads(fields["data"])}
        )
    return events


def text_of(events: list[dict]) -> str:
    text = ""
    for e in events:
        if e["event"] == "delta":
            d = e["data"]
            assert d["offset"] <= len(text)
            text += d["text"][len(text) - d["offset"] :]
    return text


@pytest.fixture
def token(alice):
    return tokens.create(alice, "tests")[1]


async def read_all(response) -> list[dict]:
    return parse(b"".join([chunk async for chunk in response.streaming_content]))


async def test_it_streams_an_answer_to_a_token_holder(alice, token, upstream):
    script = Script(text="Server-sent\nevents, with newlines.\n\nAnd blank lines.")
    upstream.enqueue(script)
    client = AsyncClient()
    response = await client.post(
        "/api/chat",
        BODY,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    events = await read_all(response)
    assert events[0]["event"] == "message.start"
    assert events[-1]["event"] == "message.end"
    assert events[-1]["data"]["status"] == "complete"
    assert text_of(events) == script.answer_text()
    deltas = [e for e in events if e["event"] == "delta"]
    assert [e["id"].split(":")[0] for e in deltas] == [str(i) for i in range(1, len(deltas) + 1)]
    assert deltas[-1]["id"].split(":")[1] == str(len(script.answer_text()))


@pytest.mark.parametrize("header", ["Bearer sc_wrong", "Bearer ", "Basic abc"])
async def test_it_refuses_a_wrong_token(alice, token, upstream, header):
    client = AsyncClient()
    response = await client.post(
        "/api/chat", BODY, content_type="application/json", headers={"Authorization": header}
    )
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"
    assert list(upstream.requests) == []


async def test_a_revoked_token_stops_working(alice, token, upstream):
    record = await APIToken.objects.aget(user=alice)
    assert token not in (record.digest, record.prefix)  # stored hashed
    record.revoked_at = record.created_at
    await record.asave()
    response = await AsyncClient().post(
        "/api/chat",
        BODY,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == 401


async def test_it_resumes_from_last_event_id(alice, token, upstream):
    script = Script(word_count=300, tokens_per_second=400)
    upstream.enqueue(script)
    auth = {"Authorization": f"Bearer {token}"}
    client = AsyncClient()
    response = await client.post("/api/chat", BODY, content_type="application/json", headers=auth)
    raw = b""
    async for chunk in response.streaming_content:
        raw += chunk
        if raw.count(b"event: delta") >= 3:
            break
    await response.streaming_content.aclose()
    first = parse(raw)
    message = first[0]["data"]["message"]
    resumed = await client.get(
        f"/api/messages/{message}/stream", headers={**auth, "Last-Event-ID": first[-1]["id"]}
    )
    rest = await read_all(resumed)
    assert rest[-1]["data"]["status"] == "complete"
    assert text_of(first + rest) == script.answer_text()
    assert (await Message.objects.aget(pk=message)).text == script.answer_text()


async def test_it_resumes_a_finished_answer_by_offset(alice, token, upstream):
    upstream.enqueue(Script(text="All of it."))
    auth = {"Authorization": f"Bearer {token}"}
    events = await read_all(
        await AsyncClient().post("/api/chat", BODY, content_type="application/json", headers=auth)
    )
    message = events[0]["data"]["message"]
    again = await read_all(
        await AsyncClient().get(f"/api/messages/{message}/stream?offset=4", headers=auth)
    )
    assert [e["event"] for e in again] == ["message.start", "delta", "message.end"]
    assert again[1]["data"]["text"] == "of it."


async def test_it_stops_an_answer(alice, token, upstream):
    upstream.enqueue(Script(word_count=3000, tokens_per_second=100))
    auth = {"Authorization": f"Bearer {token}"}
    client = AsyncClient()
    response = await client.post("/api/chat", BODY, content_type="application/json", headers=auth)
    chunks = response.streaming_content.__aiter__()
    first = parse(await chunks.__anext__())
    message = first[0]["data"]["message"]
    stop = await client.post(f"/api/messages/{message}/stop", headers=auth)
    assert stop.status_code == 202
    rest = parse(b"".join([c async for c in chunks]))
    assert rest[-1]["data"]["status"] == "stopped"
    stored = await Message.objects.aget(pk=message)
    assert stored.status == Message.Status.STOPPED
    assert stored.text == text_of(first + rest)
    again = await client.post(f"/api/messages/{message}/stop", headers=auth)
    assert again.status_code == 409


async def test_a_session_needs_the_csrf_token_to_post(alice, upstream):
    client = AsyncClient(enforce_csrf_checks=True)
    await client.aforce_login(alice)
    refused = await client.post("/api/chat", BODY, content_type="application/json")
    assert refused.status_code == 401
    await client.get("/")  # sets the CSRF cookie
    csrf = client.cookies["csrftoken"].value
    upstream.enqueue(Script(text="ok"))
    allowed = await client.post(
        "/api/chat", BODY, content_type="application/json", headers={"X-CSRFToken": csrf}
    )
    assert allowed.status_code == 200
    assert (await read_all(allowed))[-1]["data"]["status"] == "complete"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ("not json", 400, "bad_frame"),
        ("[]", 400, "bad_frame"),
        ('{"conversation": null, "model": "openai:gpt-test"}', 400, "bad_frame"),
        ('{"conversation": null, "content": "hi", "model": "x:y"}', 400, "bad_model"),
        ('{"conversation": 99999, "content": "hi", "model": "openai:gpt-test"}', 404, "not_found"),
    ],
)
async def test_it_answers_bad_input_with_a_clear_4xx(alice, token, upstream, body, status, code):
    response = await AsyncClient().post(
        "/api/chat",
        body,
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == status
    assert response.json()["code"] == code


async def test_another_users_message_is_not_found(alice, bob, token, upstream):
    upstream.enqueue(Script(text="mine"))
    auth = {"Authorization": f"Bearer {token}"}
    events = await read_all(
        await AsyncClient().post("/api/chat", BODY, content_type="application/json", headers=auth)
    )
    message = events[0]["data"]["message"]
    bob_token = await sync_to_async(tokens.create)(bob, "bob")
    other = {"Authorization": f"Bearer {bob_token[1]}"}
    assert (
        await AsyncClient().get(f"/api/messages/{message}/stream", headers=other)
    ).status_code == 404
    assert (
        await AsyncClient().post(f"/api/messages/{message}/stop", headers=other)
    ).status_code == 404
    await asyncio.sleep(0)
