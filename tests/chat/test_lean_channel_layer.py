"""chat.channel_layer.LeanInMemoryChannelLayer: Channels' in-memory layer on Inbox queues, the
layer of one process without Redis."""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer

from chat.channel_layer import LeanInMemoryChannelLayer
from chat.queues import Inbox


def test_the_embedded_default_is_the_lean_layer():
    assert isinstance(get_channel_layer(), LeanInMemoryChannelLayer)


async def test_a_message_sent_is_received_and_its_channel_forgotten_after():
    layer = LeanInMemoryChannelLayer()
    name = await layer.new_channel()
    receiving = asyncio.ensure_future(layer.receive(name))
    await asyncio.sleep(0)
    assert isinstance(layer.channels[name], Inbox)  # the receiver waits on it
    await layer.send(name, {"type": "tabs.told", "n": 1})
    assert await receiving == {"type": "tabs.told", "n": 1}
    assert name not in layer.channels
    await layer.send(name, {"type": "later"})  # sent before anyone listens: it waits
    assert await layer.receive(name) == {"type": "later"}


async def test_what_is_sent_is_a_copy():
    layer = LeanInMemoryChannelLayer()
    message = {"type": "t", "items": [1]}
    await layer.send("c", message)
    message["items"].append(2)
    assert await layer.receive("c") == {"type": "t", "items": [1]}


async def test_a_group_message_reaches_every_member_and_only_them():
    layer = LeanInMemoryChannelLayer()
    one, two, other = "one", "two", "other"
    await layer.group_add("user.1", one)
    await layer.group_add("user.1", two)
    await layer.group_add("user.2", other)
    await layer.group_send("user.1", {"type": "session.ended"})
    assert await layer.receive(one) == {"type": "session.ended"}
    assert await layer.receive(two) == {"type": "session.ended"}
    assert other not in layer.channels
    await layer.group_discard("user.1", two)
    await layer.group_send("user.1", {"type": "again"})
    assert two not in layer.channels


async def test_a_full_channel_refuses():
    layer = LeanInMemoryChannelLayer(capacity=2)
    await layer.send("c", {"type": "a"})
    await layer.send("c", {"type": "b"})
    with pytest.raises(ChannelFull):
        await layer.send("c", {"type": "c"})


async def test_an_expired_message_is_dropped_and_its_channel_leaves_its_groups(monkeypatch):
    layer = LeanInMemoryChannelLayer(expiry=60)
    await layer.group_add("user.1", "stale")
    await layer.group_add("user.1", "live")
    await layer.send("stale", {"type": "old"})
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 61)
    await layer.send("live", {"type": "new"})
    assert await layer.receive("live") == {"type": "new"}  # a receive cleans up first
    assert "stale" not in layer.channels
    assert "stale" not in layer.groups["user.1"] and "live" in layer.groups["user.1"]


async def test_group_memberships_end_after_the_group_expiry(monkeypatch):
    layer = LeanInMemoryChannelLayer(group_expiry=100)
    await layer.group_add("user.1", "old")
    now = time.time()
    monkeypatch.setattr(time, "time", lambda: now + 101)
    await layer.group_add("user.1", "new")
    await layer.send("new", {"type": "x"})
    await layer.receive("new")
    assert list(layer.groups["user.1"]) == ["new"]
