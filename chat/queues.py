"""A queue for what waits to be read by a socket's consumer, at a fraction of the memory of
``asyncio.Queue``.

Every open WebSocket has two queues that sit empty nearly all the time: Daphne's input queue
(frames from the client) and, on the in-memory channel layer, its channel's queue (messages
from other tabs and processes). An empty ``asyncio.Queue`` holds four deques (its items, its
getters, its putters, and the waiters of its ``join`` event) of 760 bytes each: 3 KB per queue,
6 KB of an idle socket's 42. ``Inbox`` holds nothing while empty: its items and its getters are
made when first needed and dropped when empty again, and its one getter waits in a list.

It has the part of ``asyncio.Queue``'s interface that Daphne and the channel layer use:
``put_nowait``, ``get``, ``get_nowait``, ``empty``, ``qsize`` and ``first``. There is no
``put`` that waits: a full ``Inbox`` (``maxsize``) refuses with ``asyncio.QueueFull``, as
``put_nowait`` does.
"""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any


class Inbox:
    __slots__ = ("_getters", "_items", "maxsize")

    def __init__(self, maxsize: int = 0) -> None:
        self.maxsize = maxsize
        self._items: deque[Any] | None = None
        # A list: there is one getter, or very rarely a few (a deque is 760 bytes).
        self._getters: list[asyncio.Future[None]] | None = None

    def qsize(self) -> int:
        return 0 if self._items is None else len(self._items)

    def empty(self) -> bool:
        return self._items is None

    def first(self) -> Any:
        """The item ``get`` would return next, left in place."""
        if self._items is None:
            raise asyncio.QueueEmpty
        return self._items[0]

    def put_nowait(self, item: Any) -> None:
        if self._items is None:
            self._items = deque()
        elif 0 < self.maxsize <= len(self._items):
            raise asyncio.QueueFull
        self._items.append(item)
        self._wake_one()

    def get_nowait(self) -> Any:
        items = self._items
        if items is None:
            raise asyncio.QueueEmpty
        item = items.popleft()
        if not items:
            self._items = None
        return item

    async def get(self) -> Any:
        while self._items is None:
            if self._getters is None:
                self._getters = []
            getter = asyncio.get_running_loop().create_future()
            self._getters.append(getter)
            try:
                await getter
            except BaseException:
                getter.cancel()
                self._forget(getter)
                # Woken, then cancelled before it could take the item: the next getter takes it.
                if self._items is not None and not getter.cancelled():
                    self._wake_one()
                raise
        return self.get_nowait()

    def _wake_one(self) -> None:
        getters = self._getters
        while getters:
            getter = getters.pop(0)
            if not getter.done():
                getter.set_result(None)
                break
        if not getters:
            self._getters = None

    def _forget(self, getter: asyncio.Future[None]) -> None:
        getters = self._getters
        if getters is not None:
            try:
                getters.remove(getter)
            except ValueError:
                pass
            if not getters:
                self._getters = None
