"""The reasoning vocabulary itself: effort values, the state's JSON form, keep-alives."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

import pytest

from streaming.events import (
    ChatMessage,
    ChatRequest,
    Event,
    Finish,
    FinishReason,
    KeepAlive,
    ReasoningDelta,
    ReasoningState,
    TextDelta,
    ThinkingDelta,
    UpstreamUnavailable,
)
from streaming.policy import StreamPolicy, guarded
from streaming.providers.base import Provider
from tests.streaming.conftest import ask, run


def test_reasoning_effort_is_off_by_default_and_checked():
    assert ask().reasoning_effort == "off"
    for effort in ("off", "low", "medium", "high"):
        assert ask(reasoning_effort=effort).reasoning_effort == effort
    with pytest.raises(ValueError, match="reasoning_effort"):
        ChatRequest(model="m", messages=(), reasoning_effort="max")


def test_the_earlier_name_still_works():
    assert ThinkingDelta is ReasoningDelta
    assert ReasoningDelta("hm") == ReasoningDelta("hm", redacted=False)


def test_a_state_round_trips_through_json():
    block = {"type": "thinking", "thinking": "", "signature": "s"}
    state = ReasoningState("anthropic", "claude-x", {"blocks": [block]})
    again = ReasoningState.from_dict(json.loads(json.dumps(state.to_dict())))
    assert again == state
    assert ChatMessage("assistant", "hi").reasoning is None


class Scripted(Provider):
    """Yields what it is given; ``None`` waits a little (well under the idle limit)."""

    name = "scripted"

    def __init__(self, *items: Event | Exception | None) -> None:
        self.items = items

    async def stream(self, request: ChatRequest) -> AsyncIterator[Event]:
        for item in self.items:
            if item is None:
                await asyncio.sleep(0.15)
            elif isinstance(item, Exception):
                raise item
            else:
                yield item


async def test_keep_alives_reset_the_idle_timer_and_are_not_passed_on():
    # Each gap is short, but together they are longer than the idle limit.
    silence = [None, KeepAlive()] * 10
    provider = Scripted(*silence, TextDelta("late"), Finish(FinishReason.END))
    events, error = await run(guarded(provider, ask(), StreamPolicy(idle_timeout=1.0)))
    assert error is None
    assert events == [TextDelta("late"), Finish(FinishReason.END)]


async def test_a_failure_after_keep_alives_only_is_not_partial():
    provider = Scripted(KeepAlive(), UpstreamUnavailable("gone"))
    _, error = await run(guarded(provider, ask(), StreamPolicy(retries=0)))
    assert isinstance(error, UpstreamUnavailable) and error.partial is False


async def test_a_failure_after_reasoning_began_but_showed_nothing_is_retried():
    attempts = []

    class Flaky(Scripted):
        async def stream(self, request):
            attempts.append(1)
            if len(attempts) == 1:
                yield ReasoningDelta("")
                raise UpstreamUnavailable("dropped")
            yield ReasoningDelta("")
            yield ReasoningDelta("hm")
            yield TextDelta("ok")
            yield Finish(FinishReason.END)

    async def no_wait(seconds: float) -> None:
        pass

    events, error = await run(guarded(Flaky(), ask(), StreamPolicy(sleep=no_wait)))
    assert error is None and len(attempts) == 2
    assert events[-3:] == [ReasoningDelta("hm"), TextDelta("ok"), Finish(FinishReason.END)]


async def test_a_failure_after_reasoning_text_is_partial():
    provider = Scripted(ReasoningDelta("Let me"), UpstreamUnavailable("dropped"))
    _, error = await run(guarded(provider, ask(), StreamPolicy()))
    assert isinstance(error, UpstreamUnavailable) and error.partial is True
