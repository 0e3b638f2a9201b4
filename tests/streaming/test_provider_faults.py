"""Every upstream fault ends in its documented typed error, for each hosted provider.

Runs through ``guarded`` without retries, as the chat does, so ``partial`` is set as it will be.
"""

from __future__ import annotations

import pytest

from streaming.events import (
    AuthenticationFailed,
    IdleTimeout,
    MalformedStream,
    Overloaded,
    RateLimited,
    UpstreamUnavailable,
)
from streaming.policy import StreamPolicy, guarded
from tests.fakes.script import Fault, Script
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import ask, run, text_of

NO_RETRIES = StreamPolicy(retries=0, idle_timeout=5)
TEXT = "one two three four five"

# (fault, error class, retryable, HTTP status seen by the error (None: mid-stream))
BEFORE_CONTENT = {
    "rate limited": (Fault.rate_limited(), RateLimited, True, 429),
    "server error": (Fault.http(500), UpstreamUnavailable, True, 500),
    "bad gateway": (Fault.http(502), UpstreamUnavailable, True, 502),
    "overloaded": (Fault.overloaded(), Overloaded, True, None),
    "invalid key": (Fault.invalid_key(), AuthenticationFailed, False, None),
}


@pytest.mark.parametrize("case", BEFORE_CONTENT, ids=str)
async def test_an_http_fault_becomes_a_typed_error(case, provider, fake_upstream: FakeUpstream):
    fault, kind, retryable, status = BEFORE_CONTENT[case]
    fake_upstream.enqueue(Script(text=TEXT, fault=fault))
    events, error = await run(guarded(provider, ask(), NO_RETRIES))
    assert events == []
    assert type(error) is kind
    assert error.retryable is retryable and error.partial is False
    if status is not None:
        assert error.status == status
    assert len(fake_upstream.requests) == 1


async def test_overload_has_each_vendors_status(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(fault=Fault.overloaded()))
    _, error = await run(guarded(provider, ask(), NO_RETRIES))
    assert error.status == {"openai": 503, "anthropic": 529, "gemini": 503}[provider.name]


async def test_a_rate_limit_carries_the_servers_retry_after(provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.rate_limited(retry_after=7)))
    _, error = await run(guarded(provider, ask(), NO_RETRIES))
    assert isinstance(error, RateLimited) and error.retry_after == 7.0


@pytest.mark.parametrize("name", ["openai", "anthropic"])
async def test_retry_after_ms_wins_over_retry_after(name, make_provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.rate_limited(retry_after=9, retry_after_ms=1500)))
    _, error = await run(guarded(make_provider(name), ask(), NO_RETRIES))
    assert error.retry_after == 1.5


async def test_a_rate_limit_without_retry_after_leaves_it_unset(provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.rate_limited()))
    _, error = await run(guarded(provider, ask(), NO_RETRIES))
    assert error.retry_after is None


MID_STREAM = {
    "dropped": (Fault.drop(after=2), UpstreamUnavailable),
    "malformed": (Fault.malformed(after=2), MalformedStream),
}


@pytest.mark.parametrize("case", MID_STREAM, ids=str)
async def test_a_mid_stream_fault_keeps_the_partial_text(case, provider, fake_upstream):
    fault, kind = MID_STREAM[case]
    fake_upstream.enqueue(Script(text=TEXT, fault=fault))
    events, error = await run(guarded(provider, ask(), NO_RETRIES))
    assert text_of(events) == "one two "
    assert type(error) is kind and error.partial is True


async def test_an_error_event_mid_stream_is_typed_by_its_kind(provider, fake_upstream):
    fake_upstream.enqueue(Script(text=TEXT, fault=Fault.error_event(after=2)))
    events, error = await run(guarded(provider, ask(), NO_RETRIES))
    assert text_of(events) == "one two "
    # What each vendor's default in-stream error means: OpenAI server_error, Anthropic
    # overloaded_error, Gemini code 500.
    expected = {
        "openai": UpstreamUnavailable,
        "anthropic": Overloaded,
        "gemini": UpstreamUnavailable,
    }
    assert type(error) is expected[provider.name]
    assert error.partial is True and error.retryable is True


@pytest.mark.parametrize(
    ("name", "fault", "kind"),
    [
        ("anthropic", Fault.error_event(error_type="rate_limit_error"), RateLimited),
        ("anthropic", Fault.error_event(error_type="api_error"), UpstreamUnavailable),
        ("openai", Fault.error_event(error_type="rate_limit_exceeded"), RateLimited),
        ("gemini", Fault.error_event(status=503), Overloaded),
        ("gemini", Fault.error_event(status=429), RateLimited),
    ],
)
async def test_an_error_event_before_any_text_is_not_partial(
    name, fault, kind, make_provider, fake_upstream
):
    fake_upstream.enqueue(Script(text=TEXT, fault=fault))
    events, error = await run(guarded(make_provider(name), ask(), NO_RETRIES))
    assert events == []
    assert type(error) is kind and error.partial is False


async def test_a_stall_ends_in_an_idle_timeout_and_a_closed_connection(provider, fake_upstream):
    fake_upstream.enqueue(Script(text=TEXT, fault=Fault.stall(after=2)))
    policy = StreamPolicy(retries=0, idle_timeout=0.5)
    events, error = await run(guarded(provider, ask(), policy))
    assert text_of(events) == "one two "
    assert isinstance(error, IdleTimeout) and error.partial is True
    assert "0.5 seconds" in error.message
    assert await fake_upstream.await_for(lambda: fake_upstream.requests[0].disconnected_at)


async def test_a_missing_key_names_the_variable_to_set(make_provider, fake_upstream):
    for name, variable in [("anthropic", "ANTHROPIC_API_KEY"), ("gemini", "GEMINI_API_KEY")]:
        _, error = await run(make_provider(name, api_key="").stream(ask()))
        assert variable in error.message and error.code == "model_unavailable"
    assert len(fake_upstream.requests) == 0


async def test_a_refused_connection_is_upstream_unavailable(make_provider, fake_upstream):
    providers = [make_provider(name) for name in ("openai", "anthropic", "gemini")]
    fake_upstream.stop()
    for provider in providers:
        _, error = await run(provider.stream(ask()))
        assert isinstance(error, UpstreamUnavailable), provider.name
