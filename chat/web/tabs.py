"""A user's open tabs kept in sync: what one tab did (a message sent, a branch shown, a
conversation renamed, deleted or created) is told to the user's other tabs, on every process,
through the group each socket joins (``sockets.user_group``). The frames are the engine's
(``chat.answers``); ``ChatConsumer.tabs_told`` hands them on.

A socket that caused the news is named as its ``sender`` and is not told; news from an HTTP
request (a rename, a delete, a fork; a message sent or edited through the API) names none and
reaches every tab, the asking one too, which already shows it. Telling the tabs never fails
what caused it: with the channel layer away the other tabs show it on their next load."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Iterable
from typing import Any

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

from chat import answers
from chat.web import sockets

log = logging.getLogger(__name__)

TOLD = "tabs.told"  # the group message; ChatConsumer.tabs_told handles it

# A layer that hangs (Redis unreachable) must not hold up the frame or the page that told.
PATIENCE = 2.0  # seconds


async def tell(user_id: Any, news: Iterable[answers.Frame], sender: str | None = None) -> None:
    """Send each frame of ``news`` to the user's tabs but ``sender`` (a socket's channel)."""
    layer = get_channel_layer()
    if layer is None:
        return
    group = sockets.user_group(user_id)
    try:
        for frame in news:
            message = {"type": TOLD, "frame": frame.data, "sender": sender}
            await asyncio.wait_for(layer.group_send(group, message), PATIENCE)
    except Exception as exc:
        log.warning("could not tell the other tabs of user %s: %r", user_id, exc)


async def tell_of(
    user_id: Any,
    news: Awaitable[answers.Frame | list[answers.Frame]],
    sender: str | None = None,
) -> list[answers.Frame]:
    """``tell`` what ``news`` (the engine's, still to be read) gives, and return it; whatever
    fails here, what caused it has done its work (then nothing is returned)."""
    try:
        frames = await news
        frames = frames if isinstance(frames, list) else [frames]
        await tell(user_id, frames, sender)
    except Exception:
        log.exception("could not tell the other tabs of user %s", user_id)
        return []
    return frames


def tell_now(user_id: Any, news: Iterable[answers.Frame]) -> None:
    """``tell``, from a view."""
    async_to_sync(tell)(user_id, list(news))
