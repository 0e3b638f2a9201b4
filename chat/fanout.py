"""Delivering an answer's frames to whoever watches it.

A frame is encoded once per flush and handed straight to the sockets of this process; the channel
layer carries it only to watchers on other processes. The layers drop messages for a channel over
capacity (``ChannelFull``), so each remote watcher's delivered offset is tracked and the next
frame it gets starts where it stopped: a dropped message never becomes lost text.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any, Protocol

from channels.exceptions import ChannelFull
from channels.layers import get_channel_layer
from django.conf import settings

log = logging.getLogger(__name__)


class Frame:
    """A server-to-client event, JSON-encoded at most once however many receive it."""

    __slots__ = ("_json", "data")

    def __init__(self, **data: Any) -> None:
        self.data = data
        self._json: str | None = None

    @property
    def type(self) -> str:
        return self.data["type"]

    @property
    def json(self) -> str:
        if self._json is None:
            self._json = json.dumps(self.data, ensure_ascii=False, separators=(",", ":"))
        return self._json


class Subscriber(Protocol):
    """Something that shows an answer: a WebSocket, an SSE response, a remote process."""

    async def deliver(self, frame: Frame) -> bool:
        """Deliver a frame; return False when this subscriber is gone for good."""
        ...


def delta(message_id: int, seq: int, offset: int, text: str) -> Frame:
    return Frame(type="delta", message=message_id, seq=seq, offset=offset, text=text)


def end(
    message_id: int,
    *,
    status: str,
    finish_reason: str,
    input_tokens: int | None,
    output_tokens: int | None,
    ttft_ms: int | None,
    tokens_per_second: float | None,
    error: str,
) -> Frame:
    return Frame(
        type="message.end",
        message=message_id,
        status=status,
        finish_reason=finish_reason,
        usage={"input_tokens": input_tokens, "output_tokens": output_tokens},
        ttft_ms=ttft_ms,
        tokens_per_second=tokens_per_second,
        error=error or None,
    )


def start(
    message_id: int,
    *,
    conversation: int,
    title: str,
    reply_to: int | None,
    model: str,
    offset: int,
    context_from_seq: int | None,
    follows: int | None = None,
) -> Frame:
    return Frame(
        type="message.start",
        conversation=conversation,
        title=title,
        message=message_id,
        reply_to=reply_to,
        model=model,
        offset=offset,
        context_from_seq=context_from_seq,
        follows=follows,
    )


def tool_call(message_id: int, call: dict[str, Any]) -> Frame:
    """A tool call the model made (id, name, arguments) and its result."""
    called = {k: v for k, v in call.items() if k != "result"}
    return Frame(type="tool.call", message=message_id, call=called, result=call.get("result"))


def stored_frames(message: Any, offset: int) -> list[Frame]:
    """An answer read back from the database: its start, its text from ``offset``, its tool
    calls and, once it has ended, its end."""
    frames = [
        start(
            message.pk,
            conversation=message.conversation_id,
            title=str(message.conversation),
            reply_to=message.reply_to_id,
            model=message.model,
            offset=offset,
            context_from_seq=message.context_from_seq,
        )
    ]
    if offset < len(message.text):
        frames.append(delta(message.pk, 1, offset, message.text[offset:]))
    if not message.is_live:
        frames += [tool_call(message.pk, call) for call in message.tool_calls]
        frames.append(stored_end(message))
    return frames


def stored_end(message: Any) -> Frame:
    """The end frame of a finished answer, from what the database holds."""
    return end(
        message.pk,
        status=message.status,
        finish_reason=message.finish_reason,
        input_tokens=message.input_tokens,
        output_tokens=message.output_tokens,
        ttft_ms=message.ttft_ms,
        tokens_per_second=message.tokens_per_second,
        error=message.error,
    )


class RemoteWatcher:
    """A consumer on another process, reached through the channel layer.

    Every message to another process costs a round trip through that process's one receive
    loop, which fell seconds behind at 50 streams when each frame was sent as it came. So a
    remote watcher is sent the text it lacks at most every ``REMOTE_FLUSH_INTERVAL``, as one
    catch-up delta, and always before a frame that ends or interrupts the text."""

    def __init__(self, channel: str, offset: int) -> None:
        self.channel = channel
        self.delivered = offset  # code points the watcher is known to hold
        self.sent_at = 0.0

    @property
    def due(self) -> bool:
        return time.monotonic() - self.sent_at >= settings.REMOTE_FLUSH_INTERVAL

    async def deliver(self, frame: Frame) -> bool:
        layer = get_channel_layer()
        try:
            await layer.send(self.channel, {"type": "generation.frame", "frame": frame.data})
        except ChannelFull:
            log.info("watcher %s is over capacity; it will be caught up", self.channel)
            return True
        except Exception as exc:  # the layer's server is unreachable: catch up later too
            log.warning("watcher %s unreachable (%s); it will be caught up", self.channel, exc)
            return True
        self.sent_at = time.monotonic()
        if frame.type == "delta":
            self.delivered = frame.data["offset"] + len(frame.data["text"])
        return True

    async def catch_up(self, message_id: int, seq: int, text: str) -> None:
        """Send whatever of ``text`` (the whole answer so far) the watcher lacks, including
        anything a dropped message left out."""
        if self.delivered < len(text):
            await self.deliver(delta(message_id, seq, self.delivered, text[self.delivered :]))
