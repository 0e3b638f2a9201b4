"""Answers whose process died are swept by every process that serves, not only by one that
starts an answer."""

import asyncio
from datetime import timedelta

import pytest
from django.utils import timezone

from chat.models import Conversation, Message
from tests.conftest import connect

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_first_connection_of_a_process_starts_the_sweeper(alice, settings):
    conversation = await Conversation.objects.acreate(owner=alice, model="openai:gpt-test")
    question = await Message.objects.acreate(
        conversation=conversation, role="user", text="q", seq=1
    )
    dead = await Message.objects.acreate(
        conversation=conversation,
        role="assistant",
        status=Message.Status.STREAMING,
        text="half an ans",
        seq=2,
        reply_to=question,
        owner_channel="a dead process's channel",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.HEARTBEAT_STALE_AFTER + 1),
    )
    ws = await connect(alice)  # nothing is sent: connecting is enough
    for _ in range(200):  # 10 s at most
        if (await Message.objects.aget(pk=dead.pk)).status != Message.Status.STREAMING:
            break
        await asyncio.sleep(0.05)
    await ws.disconnect()
    swept = await Message.objects.aget(pk=dead.pk)
    assert swept.status == Message.Status.INTERRUPTED
    assert swept.text == "half an ans"
