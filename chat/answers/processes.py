"""Between server processes: this process's control channel and the messages that cross it.

Stop and resume must reach the process that owns an answer, whichever process the user's socket
landed on (no sticky sessions). Each process listens on one channel of its own, stored on the
answers it runs (``Message.owner_channel``). Other processes send it ``stop``, ``watch`` and
``unwatch`` messages; the owner answers a watch with ``frame`` messages to the watcher's
channel, or with ``gone`` when the answer is no longer running there. Every message is built
by a function below, and only here.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from channels.layers import get_channel_layer

log = logging.getLogger(__name__)

# The message types on the wire between processes.
STOP = "generation.stop"
WATCH = "generation.watch"
UNWATCH = "generation.unwatch"
GONE = "generation.gone"
FRAME = "generation.frame"

Message = dict[str, Any]


def stop(message_id: int) -> Message:
    return {"type": STOP, "message": message_id}


def watch(message_id: int, offset: int, reasoning_offset: int, reply_channel: str) -> Message:
    return {
        "type": WATCH,
        "message": message_id,
        "offset": offset,
        "reasoning_offset": reasoning_offset,
        "reply_channel": reply_channel,
    }


def unwatch(message_id: int, reply_channel: str) -> Message:
    return {"type": UNWATCH, "message": message_id, "reply_channel": reply_channel}


def gone(message_id: int) -> Message:
    return {"type": GONE, "message": message_id}


def frame(data: dict[str, Any]) -> Message:
    return {"type": FRAME, "frame": data}


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


async def control_channel(
    handle: Callable[[Message], Awaitable[None]],
    sweep: Callable[[], Coroutine[Any, Any, None]],
) -> str:
    """This process's control channel. The first call opens it, has ``handle`` called with
    every message that arrives there, and runs ``sweep`` (which marks the answers of dead
    processes interrupted) beside it."""
    global _channel
    if _channel is None:
        # The default prefix matters: channels_redis reads every process-local channel through
        # one loop that assumes they all share it; another prefix would never be read.
        _channel = await get_channel_layer().new_channel()
        detach(_listen(_channel, handle), "control-listener")
        detach(sweep(), "stale-sweeper")
    return _channel


async def _listen(channel: str, handle: Callable[[Message], Awaitable[None]]) -> None:
    layer = get_channel_layer()
    while True:
        try:
            message = await layer.receive(channel)
        except Exception:
            log.exception("reading the control channel failed; listening again")
            await asyncio.sleep(1)
            continue
        try:
            await handle(message)
        except Exception:
            log.exception("control message %r failed", message)


async def send(channel: str, message: Message) -> None:
    await get_channel_layer().send(channel, message)


async def new_channel() -> str:
    return await get_channel_layer().new_channel()


async def receive(channel: str) -> Message:
    return await get_channel_layer().receive(channel)


def reset() -> None:
    """Forget the channel and cancel the background tasks (tests run each case on a new event
    loop)."""
    global _channel
    _channel = None
    for task in list(_tasks):
        task.cancel()
    _tasks.clear()
