"""The Redis channel layer, made to outlive a Redis outage.

channels_redis raises out of ``receive()`` on a connection error, which ends the consumer that
was waiting (every open socket drops) and this process's control listener (stop and resume
from other processes stop arriving). Waiting and trying again keeps both alive; a receive that
fails releases its lock and leaves nothing behind, so a retry starts clean.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from channels_redis.core import RedisChannelLayer
from redis.exceptions import RedisError

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
