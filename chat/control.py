"""This process's control channel on the channel layer.

Stop and resume must reach the process that owns an answer, whichever process the user's socket
landed on (no sticky sessions). Each process listens on one channel of its own, stored on the
answers it runs; other processes send ``generation.stop``, ``generation.watch`` and
``generation.unwatch`` there. The listener also sweeps answers whose owner died.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)

_channel: str | None = None
_tasks: set[asyncio.Task[Any]] = set()


def detach(coroutine: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
    """Run ``coroutine`` as a task that outlives the request or socket that started it.

    It gets a fresh context: one copied from a request would carry that request's executor for
    database calls, which is shut down when the request ends. A reference is held so the task is
    not garbage-collected mid-flight."""
    task = asyncio.create_task(coroutine, name=name, context=contextvars.Context())
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)
    return task


async def process_channel() -> str:
    global _channel
    if _channel is None:
        # The default prefix matters: channels_redis reads every process-local channel through
        # one loop that assumes they all share it; another prefix would never be read.
        _channel = await get_channel_layer().new_channel()
        detach(_listen(_channel), "control-listener")
        detach(_sweep(), "stale-sweeper")
    return _channel


async def send(channel: str, message: dict[str, Any]) -> None:
    await get_channel_layer().send(channel, message)


async def _listen(channel: str) -> None:
    from chat import generation

    layer = get_channel_layer()
    while True:
        try:
            message = await layer.receive(channel)
        except Exception:
            log.exception("reading the control channel failed; listening again")
            await asyncio.sleep(1)
            continue
        try:
            answer = generation.running.get(message.get("message"))
            kind = message.get("type")
            if answer is None:
                if kind == "generation.watch":
                    gone = {"type": "generation.gone", "message": message.get("message")}
                    await send(message["reply_channel"], gone)
            elif kind == "generation.stop":
                answer.stop()
            elif kind == "generation.watch":
                await answer.watch(message["reply_channel"], int(message.get("offset", 0)))
            elif kind == "generation.unwatch":
                answer.unwatch(message["reply_channel"])
        except Exception:
            log.exception("control message %r failed", message)


async def _sweep() -> None:
    from chat.generation import mark_stale_interrupted

    while True:
        try:
            count = await database_sync_to_async(mark_stale_interrupted)()
            if count:
                log.warning("marked %d answers interrupted: their process stopped", count)
        except Exception:
            log.exception("sweeping stale answers failed")
        await asyncio.sleep(settings.HEARTBEAT_STALE_AFTER)


def reset() -> None:
    """Forget the channel and cancel the listener (tests run each case on a new event loop)."""
    global _channel
    _channel = None
    for task in list(_tasks):
        task.cancel()
    _tasks.clear()


async def remote_frames(owner: str, message_id: int, offset: int) -> AsyncIterator[dict[str, Any]]:
    """Frames of an answer running on another process, for a watcher without a channel of its
    own (an SSE response): a channel is made for it, and given up when the answer ends."""
    layer = get_channel_layer()
    channel = await layer.new_channel()
    watch = {"message": message_id, "offset": offset, "reply_channel": channel}
    await send(owner, {"type": "generation.watch", **watch})
    try:
        while True:
            event = await layer.receive(channel)
            if event["type"] == "generation.gone":
                return
            yield event["frame"]
            if event["frame"]["type"] == "message.end":
                return
    finally:
        await send(owner, {"type": "generation.unwatch", **watch})
