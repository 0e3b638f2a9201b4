"""A send that is refused stores nothing: no conversation, no message, and an existing
conversation exactly as it was (its messages, its tools, its place in the sidebar)."""

from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async
from django.db import connections
from django.test import AsyncClient
from django.utils import timezone

from chat.answers import summaries
from chat.models import Conversation, Message
from chat.web import api_tokens
from tests.conftest import connect, receive_until
from tests.fakes.script import Script

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]

MODEL = "openai:gpt-test"
TOO_LONG = "word " * 500  # far beyond the 64 tokens the model gets below


@pytest.fixture(autouse=True)
async def close_connections():
    yield
    await sync_to_async(connections.close_all)()


@pytest.fixture
def existing(alice):
    """A conversation with an answered message, last changed an hour ago."""
    an_hour_ago = timezone.now() - timedelta(hours=1)
    conversation = Conversation.objects.create(
        owner=alice, model=MODEL, title="earlier", tools=["calculator"], updated_at=an_hour_ago
    )
    question = Message.objects.create(conversation=conversation, role="user", text="q", seq=1)
    Message.objects.create(
        conversation=conversation, role="assistant", text="a", seq=2, reply_to=question
    )
    return conversation


def live_answers(user, count):
    """``count`` answers being written (by a process that still beats), in a conversation of
    their own."""
    conversation = Conversation.objects.create(owner=user, model=MODEL, title="busy")
    question = Message.objects.create(conversation=conversation, role="user", text="q", seq=1)
    now = timezone.now() + timedelta(minutes=10)  # never stale during the test
    for seq in range(2, 2 + count):
        Message.objects.create(
            conversation=conversation,
            role="assistant",
            status=Message.Status.STREAMING,
            seq=seq,
            reply_to=question,
            owner_channel="elsewhere",
            heartbeat_at=now,
        )


def database():
    conversations = Conversation.objects.order_by("pk").values_list(
        "pk", "title", "model", "tools", "updated_at", "summary", "summary_through_seq"
    )
    messages = Message.objects.order_by("pk").values_list(
        "pk", "conversation_id", "role", "text", "status", "seq", "active", "reply_to_id"
    )
    return list(conversations), list(messages)


def refuse(settings, alice, why):
    if why == "too_many":
        settings.MAX_CONCURRENT_GENERATIONS = 2
        live_answers(alice, 2)
    else:
        settings.MODEL_CONTEXT_LENGTHS = {MODEL: 64}
        settings.MAX_OUTPUT_TOKENS = 32


def frame_for(why, conversation, **extra):
    content = TOO_LONG if why == "cannot_answer" else "hello"
    return {"conversation": conversation, "content": content, "model": MODEL, **extra}


WHYS = ["too_many", "cannot_answer"]


@pytest.mark.parametrize("summaries", [False, True], ids=["", "summaries"])
@pytest.mark.parametrize("why", WHYS)
@pytest.mark.parametrize("where", ["new", "existing"])
async def test_a_send_refused_over_the_socket_stores_nothing(
    alice, existing, upstream, settings, why, where, summaries
):
    settings.SUMMARIZE_DROPPED = summaries
    await sync_to_async(refuse)(settings, alice, why)
    before = await sync_to_async(database)()
    conversation = existing.pk if where == "existing" else None
    ws = await connect(alice)
    # The tools would change too, if the message were stored.
    await ws.send_json_to({"type": "send", **frame_for(why, conversation, tools=[])})
    frame = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert frame["type"] == "error"
    assert frame["code"] == why
    assert await sync_to_async(database)() == before
    assert list(upstream.requests) == []


@pytest.mark.parametrize("why", WHYS)
@pytest.mark.parametrize("where", ["new", "existing"])
async def test_a_send_refused_over_the_api_stores_nothing(
    alice, existing, upstream, settings, why, where
):
    await sync_to_async(refuse)(settings, alice, why)
    token = (await sync_to_async(api_tokens.create)(alice, "tests"))[1]
    before = await sync_to_async(database)()
    conversation = existing.pk if where == "existing" else None
    response = await AsyncClient().post(
        "/api/chat",
        frame_for(why, conversation, tools=[]),
        content_type="application/json",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code == (429 if why == "too_many" else 400)
    assert response.json()["code"] == why
    assert await sync_to_async(database)() == before
    assert list(upstream.requests) == []


async def test_six_refused_sends_leave_no_conversations_behind(alice, upstream, settings):
    await sync_to_async(refuse)(settings, alice, "too_many")
    before = await sync_to_async(database)()
    ws = await connect(alice)
    for _ in range(6):
        await ws.send_json_to({"type": "send", **frame_for("too_many", None)})
        assert (await ws.receive_json_from(timeout=10))["code"] == "too_many"
    await ws.disconnect()
    assert await sync_to_async(database)() == before


async def test_compare_mode_starts_every_answer_or_none(alice, existing, upstream, settings):
    # One answer may still start, but two were asked for: neither starts.
    settings.MAX_CONCURRENT_GENERATIONS = 3
    await sync_to_async(live_answers)(alice, 2)
    settings.OPENAI_MODELS = ["gpt-test", "gpt-other"]
    before = await sync_to_async(database)()
    ws = await connect(alice)
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": existing.pk,
            "content": "both",
            "models": [MODEL, "openai:gpt-other"],
        }
    )
    frame = await ws.receive_json_from(timeout=10)
    assert frame["code"] == "too_many"
    assert await sync_to_async(database)() == before

    # With room for both, both start.
    settings.MAX_CONCURRENT_GENERATIONS = 4
    upstream.enqueue(Script(text="one"), Script(text="two"))
    await ws.send_json_to(
        {
            "type": "send",
            "conversation": existing.pk,
            "content": "both",
            "models": [MODEL, "openai:gpt-other"],
        }
    )
    ends = 0
    while ends < 2:
        await receive_until(ws, "message.end")
        ends += 1
    await ws.disconnect()
    answers = Message.objects.filter(conversation=existing, role="assistant", seq__gt=2)
    assert [m.status async for m in answers] == ["complete", "complete"]


async def test_a_refusal_that_comes_after_the_summary_takes_the_message_back(
    alice, existing, upstream, settings, monkeypatch
):
    # Summaries need the message stored before the answer is made; another tab starting an
    # answer meanwhile makes the answer's own check refuse it.
    settings.SUMMARIZE_DROPPED = True
    settings.MAX_CONCURRENT_GENERATIONS = 1
    before = await sync_to_async(database)()

    async def another_tab_starts_an_answer(*args):
        await sync_to_async(live_answers)(alice, 1)

    monkeypatch.setattr(summaries, "summarize_before", another_tab_starts_an_answer)
    ws = await connect(alice)
    await ws.send_json_to({"type": "send", **frame_for("too_many", existing.pk, tools=[])})
    frame = await ws.receive_json_from(timeout=10)
    await ws.disconnect()
    assert frame["code"] == "too_many"
    conversations, messages = await sync_to_async(database)()
    busy = {c[0] for c in conversations if c[1] == "busy"}
    unbusy = (
        [c for c in conversations if c[0] not in busy],
        [m for m in messages if m[1] not in busy],
    )
    assert unbusy == before
