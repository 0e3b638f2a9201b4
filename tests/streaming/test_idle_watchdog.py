"""The idle timeout's single watchdog per stream: re-armed by events, told apart from a stop,
and never a timer per event."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from streaming.events import ChatRequest, Event, IdleTimeout, KeepAlive, TextDelta
from streaming.policy import StreamPolicy, guarded
from streaming.providers.base import Provider, ProviderConfig
from tests.streaming.conftest import RecordedSleeps, ask, run, text_of


class Paced(Provider):
    """Yields each event after its pause (seconds); remembers whether its stream was closed."""

    name = "paced"

    def __init__(self, *paced: tuple[float, Event]) -> None:
        super().__init__(ProviderConfig())
        self.paced = paced
        self.closed = False

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        try:
            for pause, event in self.paced:
                if pause:
                    await asyncio.sleep(pause)
                yield event
        finally:
            self.closed = True


def once(seconds: float) -> StreamPolicy:
    return StreamPolicy(retries=0, idle_timeout=seconds, sleep=RecordedSleeps())


async def consuming_past_the_first_event(provider: Paced, idle_timeout: float) -> asyncio.Task:
    """A task reading ``provider`` through ``guarded``, once it has had its first event."""
    first = asyncio.Event()

    async def consume() -> None:
        async for _ in guarded(provider, ask(), once(idle_timeout)):
            first.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(first.wait(), 5)
    return task


async def test_an_event_just_before_the_deadline_re_arms_it():
    # Each event comes at 80% of the idle limit: the stream lasts 2.4 limits yet never idles.
    provider = Paced(*[(0.16, TextDelta("t"))] * 3)
    events, error = await run(guarded(provider, ask(), once(0.2)))
    assert error is None and text_of(events) == "ttt"


async def test_a_keep_alive_re_arms_it_and_is_not_passed_on():
    provider = Paced((0.15, KeepAlive()), (0.15, KeepAlive()), (0.15, TextDelta("late")))
    events, error = await run(guarded(provider, ask(), once(0.2)))
    assert error is None and events == [TextDelta("late")]


async def test_it_fires_the_idle_limit_after_the_last_event():
    provider = Paced((0, TextDelta("first")), (0.1, TextDelta("second")), (5, TextDelta("never")))
    started = time.monotonic()
    events, error = await run(guarded(provider, ask(), once(0.3)))
    elapsed = time.monotonic() - started
    assert text_of(events) == "firstsecond"
    assert isinstance(error, IdleTimeout) and error.partial and error.seconds == 0.3
    # The second event came at 0.1 s: the limit runs from there, not from the start.
    assert 0.38 <= elapsed < 1.0
    assert provider.closed
    assert asyncio.current_task().cancelling() == 0


async def test_a_stop_during_an_armed_wait_stays_a_cancellation():
    provider = Paced((0, TextDelta("first")), (5, TextDelta("never")))
    task = await consuming_past_the_first_event(provider, idle_timeout=0.3)
    await asyncio.sleep(0.1)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert provider.closed


async def test_a_stop_at_the_same_moment_as_the_idle_limit_stays_a_cancellation():
    provider = Paced((0, TextDelta("first")), (5, TextDelta("never")))
    task = await consuming_past_the_first_event(provider, idle_timeout=0.2)
    loop = asyncio.get_running_loop()
    # Stop just as the watchdog is due, in the same turn of the loop, both orders.
    loop.call_at(loop.time() + 0.2, task.cancel)
    loop.call_at(loop.time() + 0.25, task.cancel)
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_thousand_events_arm_one_timer(monkeypatch):
    loop = asyncio.get_running_loop()
    armed = []
    call_at = loop.call_at

    def counting_call_at(when, callback, *args, **kwargs):
        armed.append(when)
        return call_at(when, callback, *args, **kwargs)

    monkeypatch.setattr(loop, "call_at", counting_call_at)
    provider = Paced(*[(0, TextDelta("t"))] * 1000)
    events, error = await run(guarded(provider, ask(), once(30)))
    assert error is None and len(events) == 1000
    assert len(armed) == 1
