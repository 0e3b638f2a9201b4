"""The channel layers this project configures.

``LeanInMemoryChannelLayer`` (one process, no Redis): Channels' in-memory layer with each
channel's queue an ``chat.queues.Inbox``, which holds nothing while empty. Every open socket
has a channel whose queue waits empty nearly all the time; as an ``asyncio.Queue`` it held
3 KB. (Channels' layer also made a new ``asyncio.Queue`` on every send and receive, to throw it
away when the channel had one.)

``ResilientRedisChannelLayer``: the Redis channel layer, made to outlive a Redis outage.
channels_redis raises out of ``receive()`` on a connection error, which ends the consumer that
was waiting (every open socket drops) and this process's control listener (stop and resume
from other processes stop arriving). Waiting and trying again keeps both alive; a receive that
fails releases its lock and leaves nothing behind, so a retry starts clean.
"""

from __future__ import annotations

import asyncio
import logging
import time
from copy import deepcopy
from typing import Any

from channels.exceptions import ChannelFull
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

from chat.queues import Inbox

log = logging.getLogger(__name__)

MAX_DELAY = 5.0


class ResilientRedisChannelLayer(RedisChannelLayer):
    async def receive(self, channel: str) -> dict[str, Any]:
        delay = 0.1
        while True:
            try:
                return await super().receive(channel)
            except (RedisError, OSError) as exc:
                log.warning("channel layer: Redis unreachable (%s); retrying in %.1f s", exc, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_DELAY)


class LeanInMemoryChannelLayer(InMemoryChannelLayer):
    """``send``, ``receive`` and the expiry of Channels' layer, on ``Inbox`` queues."""

    def _queue(self, channel: str) -> Inbox:
        queue = self.channels.get(channel)
        if queue is None:
            queue = self.channels[channel] = Inbox(maxsize=self.get_capacity(channel))
        return queue

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        assert isinstance(message, dict), "message is not a dict"
        self.require_valid_channel_name(channel)
        assert "__asgi_channel__" not in message
        try:
            self._queue(channel).put_nowait((time.time() + self.expiry, deepcopy(message)))
        except asyncio.QueueFull:
            raise ChannelFull(channel) from None

    async def receive(self, channel: str) -> dict[str, Any]:
        self.require_valid_channel_name(channel)
        self._clean_expired()
        queue = self._queue(channel)
        try:
            _, message = await queue.get()
        finally:
            if queue.empty() and self.channels.get(channel) is queue:
                del self.channels[channel]
        return message

    def _clean_expired(self) -> None:
        """Channels' expiry: a message past ``expiry`` is dropped, and its channel leaves every
        group; group memberships end after ``group_expiry``."""
        now = time.time()
        for channel, queue in list(self.channels.items()):
            while not queue.empty() and queue.first()[0] < now:
                queue.get_nowait()
                self._remove_from_groups(channel)
                if queue.empty():
                    self.channels.pop(channel, None)
        joined_before = int(now) - self.group_expiry
        for channels in self.groups.values():
            for name, joined in list(channels.items()):
                if joined and joined < joined_before:
                    channels.pop(name, None)
