"""chat.queues.Inbox: the queue of what waits for a socket's consumer (Daphne's input queue and
the in-memory layer's channels), which holds nothing while empty."""

from __future__ import annotations

import asyncio

import pytest

from chat.queues import Inbox


def holds_nothing(inbox: Inbox) -> bool:
    return inbox._items is None and inbox._getters is None


async def test_items_come_out_in_the_order_they_went_in():
    inbox = Inbox()
    for item in ("a", "b", "c"):
        inbox.put_nowait(item)
    assert inbox.qsize() == 3 and inbox.first() == "a"
    assert [await inbox.get(), inbox.get_nowait(), await inbox.get()] == ["a", "b", "c"]
    assert inbox.empty() and holds_nothing(inbox)


async def test_a_get_waits_for_the_next_item_and_the_inbox_holds_nothing_after():
    inbox = Inbox()
    getter = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    assert not getter.done() and len(inbox._getters) == 1
    inbox.put_nowait({"type": "websocket.receive"})
    assert await getter == {"type": "websocket.receive"}
    assert holds_nothing(inbox)


async def test_getters_are_served_in_the_order_they_came():
    inbox = Inbox()
    first, second = asyncio.ensure_future(inbox.get()), asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    assert (await first, await second) == (1, 2)
    assert holds_nothing(inbox)


async def test_a_cancelled_get_leaves_nothing_behind():
    inbox = Inbox()
    getter = asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    getter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await getter
    assert holds_nothing(inbox)
    inbox.put_nowait("kept")  # nobody takes it: it waits for the next get
    assert await inbox.get() == "kept"


async def test_a_getter_woken_then_cancelled_hands_the_item_to_the_next():
    inbox = Inbox()
    woken, next_one = asyncio.ensure_future(inbox.get()), asyncio.ensure_future(inbox.get())
    await asyncio.sleep(0)
    inbox.put_nowait("item")  # wakes the first getter ...
    woken.cancel()  # ... which is cancelled before it runs
    with pytest.raises(asyncio.CancelledError):
        await woken
    assert await asyncio.wait_for(next_one, 1) == "item"
    assert holds_nothing(inbox)


async def test_a_full_inbox_refuses_and_an_empty_one_has_nothing_to_give():
    inbox = Inbox(maxsize=2)
    inbox.put_nowait(1)
    inbox.put_nowait(2)
    with pytest.raises(asyncio.QueueFull):
        inbox.put_nowait(3)
    assert inbox.qsize() == 2
    inbox.get_nowait()
    inbox.get_nowait()
    for empty in (inbox.get_nowait, inbox.first):
        with pytest.raises(asyncio.QueueEmpty):
            empty()
    unbounded = Inbox()
    for i in range(10_000):
        unbounded.put_nowait(i)
    assert unbounded.qsize() == 10_000
