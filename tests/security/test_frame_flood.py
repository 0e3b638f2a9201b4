"""A flood of frames is refused per user, over every socket and the SSE API, with a clear error;
the socket stays open and other users are not affected."""

from __future__ import annotations

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from chat.web import api_tokens
from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}
PROBE = {"type": "stop", "message": 999999}  # cheap, and answered: not_found


@pytest.fixture
def tight(settings):
    settings.FRAME_RATE_BURST = 5
    settings.FRAME_RATE_PER_S = 2


async def replies(ws, n: int) -> list[str]:
    codes = []
    for _ in range(n):
        await ws.send_json_to(PROBE)
    for _ in range(n):
        codes.append((await ws.receive_json_from(timeout=5))["code"])
    return codes


async def test_it_refuses_frames_past_the_burst_and_keeps_the_socket(alice, upstream, tight):
    ws = await connect(alice)
    codes = await replies(ws, 20)
    assert codes[:5] == ["not_found"] * 5
    assert codes.count("rate_limited") >= 14  # a frame or so may refill meanwhile

    # The bucket refills: after a bounded wait a real message goes through.
    upstream.enqueue(Script(text="Still serving."))
    for _ in range(50):
        await asyncio.sleep(0.1)
        await ws.send_json_to(SEND)
        first = await ws.receive_json_from(timeout=5)
        if first["type"] != "error":
            break
    assert first["type"] == "message.start"
    frames = await receive_until(ws, "message.end")
    await ws.disconnect()
    assert frames[-1]["status"] == "complete"


async def test_the_limit_is_per_user_across_sockets(alice, bob, upstream, tight):
    first, second = await connect(alice), await connect(alice)
    await replies(first, 5)
    assert await replies(second, 3) == ["rate_limited"] * 3
    other = await connect(bob)
    assert await replies(other, 3) == ["not_found"] * 3
    for ws in (first, second, other):
        await ws.disconnect()


async def test_the_sse_api_shares_the_limit_and_answers_429(alice, upstream, tight):
    _, token = await sync_to_async(api_tokens.create)(alice, "tests")
    auth = {"Authorization": f"Bearer {token}"}
    ws = await connect(alice)
    await replies(ws, 5)
    await ws.disconnect()
    response = await AsyncClient().get("/api/messages/999999/stream", headers=auth)
    assert response.status_code == 429
    assert response.json()["code"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    response = await AsyncClient().post(
        "/api/chat", SEND, content_type="application/json", headers=auth
    )
    assert response.status_code == 429
    assert list(upstream.requests) == []
