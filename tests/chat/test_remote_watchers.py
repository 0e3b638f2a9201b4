"""Watchers on another process are reached through the channel layer; here, the in-memory one."""

import asyncio

import pytest
from channels.layers import get_channel_layer

from chat.answers.answer import running
from tests.conftest import assemble, connect, receive_until
from tests.fakes.script import Fault, Script

pytestmark = pytest.mark.django_db(transaction=True)

SEND = {"type": "send", "conversation": None, "content": "hi", "model": "openai:gpt-test"}


async def watch_from_afar(ws) -> tuple[int, str]:
    """Start an answer and watch it as another process would, from offset 0."""
    await ws.send_json_to(SEND)
    start = await ws.receive_json_from(timeout=10)
    channel = await get_channel_layer().new_channel()
    await running[start["message"]].watch(channel, 0)
    return start["message"], channel


async def remote_frames(channel: str) -> list[dict]:
    frames = []
    while not frames or frames[-1]["type"] != "message.end":
        event = await asyncio.wait_for(get_channel_layer().receive(channel), 10)
        frames.append(event["frame"])
    return frames


async def test_a_remote_watcher_gets_the_whole_text_in_fewer_messages(alice, upstream, settings):
    settings.REMOTE_FLUSH_INTERVAL = 0.1
    script = Script(word_count=300, tokens_per_second=300)
    upstream.enqueue(script)
    ws = await connect(alice)
    message, channel = await watch_from_afar(ws)
    local = await receive_until(ws, "message.end")
    remote = await remote_frames(channel)
    await ws.disconnect()

    assert assemble(remote, message) == assemble(local, message) == script.answer_text()
    assert remote[0]["type"] == "message.start"
    assert remote[-1]["status"] == "complete"
    remote_deltas = [f for f in remote if f["type"] == "delta"]
    local_deltas = [f for f in local if f["type"] == "delta"]
    assert len(remote_deltas) * 2 < len(local_deltas)


async def test_text_before_a_pause_reaches_a_remote_watcher_during_the_pause(
    alice, upstream, settings
):
    settings.REMOTE_FLUSH_INTERVAL = 0.3
    tokens = [f"t{i} " for i in range(10)]
    upstream.enqueue(
        Script(tokens=tokens, tokens_per_second=200, fault=Fault.stall(after=5, seconds=1.5))
    )
    ws = await connect(alice)
    message, channel = await watch_from_afar(ws)
    remote = await remote_frames(channel)
    await ws.disconnect()

    assert assemble(remote, message) == "".join(tokens)
    # One of the watcher's deltas ends exactly where the model paused: what came before the
    # pause was not held back until more text came.
    ends = [f["offset"] + len(f["text"]) for f in remote if f["type"] == "delta"]
    assert len("".join(tokens[:5])) in ends
