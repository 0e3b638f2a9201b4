"""The failure policy all providers share: retries before content, idle timeout, cancellation."""

from __future__ import annotations

import asyncio
import time

import pytest

from streaming.events import (
    AuthenticationFailed,
    Finish,
    Overloaded,
    RateLimited,
    TextDelta,
    UpstreamUnavailable,
)
from streaming.policy import StreamPolicy, guarded
from tests.fakes.script import Fault, Script
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import RecordedSleeps, ask, run, text_of


def policy(sleeps: RecordedSleeps, **overrides) -> StreamPolicy:
    values = {"retries": 3, "base_delay": 0.5, "jitter": 0.0, "idle_timeout": 5.0, **overrides}
    return StreamPolicy(sleep=sleeps, **values)


async def test_it_retries_honouring_retry_after_then_backing_off(provider, fake_upstream):
    fake_upstream.enqueue(
        Script(fault=Fault.rate_limited(retry_after=2)),
        Script(fault=Fault.http(500)),
        Script(fault=Fault.overloaded()),
        Script(text="Third time lucky"),
    )
    sleeps = RecordedSleeps()
    events, error = await run(guarded(provider, ask(), policy(sleeps)))
    assert error is None and text_of(events) == "Third time lucky"
    assert sleeps == [2.0, 1.0, 2.0]  # retry-after, then 0.5 * 2**1, 0.5 * 2**2
    assert len(fake_upstream.requests) == 4


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_it_waits_for_retry_after_ms(name, make_provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.rate_limited(retry_after_ms=250)), Script(text="ok"))
    sleeps = RecordedSleeps()
    events, _ = await run(guarded(make_provider(name), ask(), policy(sleeps)))
    assert sleeps == [0.25] and text_of(events) == "ok"


async def test_it_gives_up_after_the_last_retry(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(*[Script(fault=Fault.http(500))] * 3, Script(text="too late"))
    sleeps = RecordedSleeps()
    _, error = await run(guarded(provider, ask(), policy(sleeps, retries=2, max_delay=0.75)))
    assert isinstance(error, UpstreamUnavailable) and error.partial is False
    assert sleeps == [0.5, 0.75]  # capped at max_delay
    assert len(fake_upstream.requests) == 3


async def test_it_does_not_wait_longer_than_max_retry_after(provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.rate_limited(retry_after=120)), Script(text="ok"))
    sleeps = RecordedSleeps()
    _, error = await run(guarded(provider, ask(), policy(sleeps, max_retry_after=60)))
    assert isinstance(error, RateLimited) and error.retry_after == 120
    assert sleeps == [] and len(fake_upstream.requests) == 1


async def test_it_never_retries_what_cannot_work(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(fault=Fault.invalid_key()), Script(text="ok"))
    sleeps = RecordedSleeps()
    _, error = await run(guarded(provider, ask(), policy(sleeps)))
    assert isinstance(error, AuthenticationFailed)
    assert sleeps == [] and len(fake_upstream.requests) == 1


async def test_a_connection_dropped_before_any_text_is_retried(provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.drop(after=0)), Script(text="Second try"))
    sleeps = RecordedSleeps()
    events, error = await run(guarded(provider, ask(), policy(sleeps)))
    assert error is None and text_of(events) == "Second try"
    assert sleeps == [0.5] and len(fake_upstream.requests) == 2


async def test_a_failure_after_text_is_never_retried_from_scratch(provider, fake_upstream):
    fake_upstream.enqueue(Script(text="one two three", fault=Fault.drop(after=2)), Script())
    sleeps = RecordedSleeps()
    events, error = await run(guarded(provider, ask(), policy(sleeps)))
    assert text_of(events) == "one two "
    assert isinstance(error, UpstreamUnavailable) and error.retryable and error.partial
    assert sleeps == [] and len(fake_upstream.requests) == 1


async def test_a_stall_before_any_text_is_retried(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(fault=Fault.stall(after=0)), Script(text="Awake now"))
    sleeps = RecordedSleeps()
    events, error = await run(guarded(provider, ask(), policy(sleeps, idle_timeout=0.5)))
    assert error is None and text_of(events) == "Awake now"
    assert sleeps == [0.5] and len(fake_upstream.requests) == 2
    assert await fake_upstream.await_for(lambda: fake_upstream.requests[0].disconnected_at)


async def test_a_slow_but_steady_stream_is_not_idle(provider, fake_upstream: FakeUpstream):
    # 10 tokens, 0.1 s apart: 1 s in all, but never 0.6 s without an event.
    fake_upstream.enqueue(Script(tokens=["t"] * 10, tokens_per_second=10))
    events, error = await run(guarded(provider, ask(), policy(RecordedSleeps(), idle_timeout=0.6)))
    assert error is None and text_of(events) == "t" * 10


async def test_cancelling_the_consumer_closes_the_upstream_connection(provider, fake_upstream):
    fake_upstream.enqueue(Script(word_count=500, tokens_per_second=50))
    three_tokens = asyncio.Event()

    async def consume() -> None:
        received = 0
        async for event in guarded(provider, ask(), StreamPolicy()):
            received += isinstance(event, TextDelta)
            if received == 3:
                three_tokens.set()

    task = asyncio.create_task(consume())
    await asyncio.wait_for(three_tokens.wait(), 5)
    stopped_at = time.monotonic()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await fake_upstream.await_for(lambda: fake_upstream.requests[0].disconnected_at)
    record = fake_upstream.requests[0]
    assert record.disconnected_at - stopped_at < 0.5
    assert record.tokens_written < 500

    # The provider's pooled client still works after a cancelled stream.
    fake_upstream.enqueue(Script(text="Still here"))
    events, error = await run(guarded(provider, ask(), StreamPolicy()))
    assert error is None and text_of(events) == "Still here"


async def test_closing_the_stream_closes_the_upstream_connection(provider, fake_upstream):
    fake_upstream.enqueue(Script(word_count=500, tokens_per_second=50))
    stream = guarded(provider, ask(), StreamPolicy())
    received = []
    while len(received) < 3:
        event = await anext(stream)
        if isinstance(event, TextDelta):
            received.append(event.text)
    stopped_at = time.monotonic()
    await stream.aclose()
    assert await fake_upstream.await_for(lambda: fake_upstream.requests[0].disconnected_at)
    assert fake_upstream.requests[0].disconnected_at - stopped_at < 0.5


async def test_cancelling_a_retry_wait_stops_retrying(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(fault=Fault.overloaded()), Script(text="never asked"))
    task = asyncio.create_task(run(guarded(provider, ask(), StreamPolicy(base_delay=60))))
    assert await fake_upstream.await_for(lambda: fake_upstream.requests)
    await asyncio.sleep(0.05)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert len(fake_upstream.requests) == 1


def test_backoff_jitter_only_ever_shortens_the_wait():
    error = Overloaded("busy")
    policy = StreamPolicy(base_delay=1.0, max_delay=8.0, jitter=0.25, retries=10)
    for attempt, full in [(0, 1.0), (1, 2.0), (2, 4.0), (3, 8.0), (6, 8.0)]:
        delays = {policy.delay(attempt, error) for _ in range(50)}
        assert all(0.75 * full <= d <= full for d in delays)
        assert len(delays) > 1
    assert policy.delay(10, error) is None


async def test_the_finish_event_ends_a_guarded_stream(provider, fake_upstream: FakeUpstream):
    events, _ = await run(guarded(provider, ask()))
    assert isinstance(events[-1], Finish)
