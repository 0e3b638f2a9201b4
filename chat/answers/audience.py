"""Who is shown an answer: subscribers in this process and watchers on other processes.

A frame goes straight to this process's subscribers (sockets, SSE responses); the channel layer
carries text only to watchers on other processes. Every message to another process costs a
round trip through that process's one receive loop, which fell seconds behind at 50 streams
when each frame was sent as it came, so a remote watcher is sent the text it lacks at most
every ``REMOTE_FLUSH_INTERVAL``, as one catch-up delta, and always before a frame that ends or
interrupts the text. The layers drop messages for a channel over capacity (``ChannelFull``),
so each watcher's delivered offset is tracked and a dropped message never becomes lost text.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from channels.exceptions import ChannelFull
from django.conf import settings

from chat.answers import frames, processes
from chat.answers.frames import Frame

log = logging.getLogger(__name__)


class Subscriber(Protocol):
    """Something that shows an answer: a WebSocket, an SSE response, a remote process."""

    async def deliver(self, frame: Frame) -> bool:
        """Deliver a frame; return False when this subscriber is gone for good."""
        ...


@dataclass(frozen=True, slots=True)
class Progress:
    """What an answer has sent so far: the last seq, its text and its reasoning."""

    seq: int
    text: str
    reasoning: str
    redacted: bool  # the provider hid some of the reasoning


class RemoteWatcher:
    """A subscriber on another process, reached through the channel layer."""

    def __init__(self, channel: str, offset: int, reasoning_offset: int = 0) -> None:
        self.channel = channel
        # Code points of the text and of the reasoning the watcher is known to hold.
        self.delivered = {"text": offset, "reasoning": reasoning_offset}
        self.told_redacted = False
        self.sent_at = 0.0

    @property
    def due(self) -> bool:
        return time.monotonic() - self.sent_at >= settings.REMOTE_FLUSH_INTERVAL

    async def deliver(self, frame: Frame) -> bool:
        try:
            await processes.send(self.channel, processes.frame(frame.data))
        except ChannelFull:
            log.info("watcher %s is over capacity; it will be caught up", self.channel)
            return True
        except Exception as exc:  # the layer's server is unreachable: catch up later too
            log.warning("watcher %s unreachable (%s); it will be caught up", self.channel, exc)
            return True
        self.sent_at = time.monotonic()
        if frame.type == "delta":
            data = frame.data
            self.delivered[data.get("part", "text")] = data["offset"] + len(data["text"])
            self.told_redacted = self.told_redacted or data.get("redacted", False)
        return True

    async def catch_up(self, message_id: int, progress: Progress) -> None:
        """Send whatever of the answer so far the watcher lacks, reasoning first, including
        anything a dropped message left out."""
        held = self.delivered["reasoning"]
        if held < len(progress.reasoning) or progress.redacted > self.told_redacted:
            await self.deliver(
                frames.reasoning_delta(
                    message_id,
                    progress.seq,
                    held,
                    progress.reasoning[held:],
                    redacted=progress.redacted,
                )
            )
        held = self.delivered["text"]
        if held < len(progress.text):
            await self.deliver(frames.delta(message_id, progress.seq, held, progress.text[held:]))


class Audience:
    """The subscribers and remote watchers of one answer.

    ``progress`` returns what the answer has sent, for catching watchers up. Callers hold
    the answer's lock around ``send`` and ``join``, so frames never overtake each other; the
    delayed catch-up takes ``lock`` itself."""

    def __init__(
        self, message_id: int, lock: asyncio.Lock, progress: Callable[[], Progress]
    ) -> None:
        self.message_id = message_id
        self.lock = lock
        self.progress = progress
        self.subscribers: list[Subscriber] = []
        self.watchers: dict[str, RemoteWatcher] = {}
        self.catch_up_timer: asyncio.TimerHandle | None = None

    def carried_over(
        self, message_id: int, lock: asyncio.Lock, progress: Callable[[], Progress]
    ) -> Audience:
        """The same people, for the answer the model gives after its tool calls: every
        subscriber, and every watcher from the new answer's first character."""
        following = Audience(message_id, lock, progress)
        following.subscribers = list(self.subscribers)
        following.watchers = {c: RemoteWatcher(c, 0, 0) for c in self.watchers}
        return following

    def add(self, subscriber: Subscriber) -> None:
        self.subscribers.append(subscriber)

    def remove(self, subscriber: Subscriber) -> None:
        if subscriber in self.subscribers:
            self.subscribers.remove(subscriber)

    def add_watcher(self, watcher: RemoteWatcher) -> None:
        self.watchers[watcher.channel] = watcher

    def remove_watcher(self, channel: str) -> None:
        self.watchers.pop(channel, None)

    async def send(self, frame: Frame) -> None:
        """Deliver ``frame`` to every subscriber, and pace what watchers are sent."""
        for subscriber in list(self.subscribers):
            if not await subscriber.deliver(frame):
                self.subscribers.remove(subscriber)
        if not self.watchers:
            return
        progress = self.progress()
        for watcher in list(self.watchers.values()):
            if frame.type != "delta":
                await watcher.catch_up(self.message_id, progress)
                await watcher.deliver(frame)
            elif watcher.due:
                await watcher.catch_up(self.message_id, progress)
            elif self.catch_up_timer is None:
                # Whatever this frame carried reaches the watcher within the interval, even if
                # no more text comes.
                self.catch_up_timer = asyncio.get_running_loop().call_later(
                    settings.REMOTE_FLUSH_INTERVAL, self._catch_up_later
                )

    def _catch_up_later(self) -> None:
        self.catch_up_timer = None
        processes.detach(self._catch_up(), f"catch-up-{self.message_id}")

    async def _catch_up(self) -> None:
        async with self.lock:
            progress = self.progress()
            for watcher in list(self.watchers.values()):
                await watcher.catch_up(self.message_id, progress)
