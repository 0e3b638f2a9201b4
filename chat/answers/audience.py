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


class RemoteWatcher:
    """A subscriber on another process, reached through the channel layer."""

    def __init__(self, channel: str, offset: int) -> None:
        self.channel = channel
        self.delivered = offset  # code points the watcher is known to hold
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
            self.delivered = frame.data["offset"] + len(frame.data["text"])
        return True

    async def catch_up(self, message_id: int, seq: int, text: str) -> None:
        """Send whatever of ``text`` (the whole answer so far) the watcher lacks, including
        anything a dropped message left out."""
        if self.delivered < len(text):
            await self.deliver(
                frames.delta(message_id, seq, self.delivered, text[self.delivered :])
            )


class Audience:
    """The subscribers and remote watchers of one answer.

    ``progress`` returns the answer's (seq, text so far) for catching watchers up. Callers hold
    the answer's lock around ``send`` and ``join``, so frames never overtake each other; the
    delayed catch-up takes ``lock`` itself."""

    def __init__(
        self, message_id: int, lock: asyncio.Lock, progress: Callable[[], tuple[int, str]]
    ) -> None:
        self.message_id = message_id
        self.lock = lock
        self.progress = progress
        self.subscribers: list[Subscriber] = []
        self.watchers: dict[str, RemoteWatcher] = {}
        self.catch_up_timer: asyncio.TimerHandle | None = None

    def carried_over(
        self, message_id: int, lock: asyncio.Lock, progress: Callable[[], tuple[int, str]]
    ) -> Audience:
        """The same people, for the answer the model gives after its tool calls: every
        subscriber, and every watcher from the new answer's first character."""
        following = Audience(message_id, lock, progress)
        following.subscribers = list(self.subscribers)
        following.watchers = {c: RemoteWatcher(c, 0) for c in self.watchers}
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
        seq, text = self.progress()
        for watcher in list(self.watchers.values()):
            if frame.type != "delta":
                await watcher.catch_up(self.message_id, seq, text)
                await watcher.deliver(frame)
            elif watcher.due:
                await watcher.catch_up(self.message_id, seq, text)
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
            seq, text = self.progress()
            for watcher in list(self.watchers.values()):
                await watcher.catch_up(self.message_id, seq, text)
