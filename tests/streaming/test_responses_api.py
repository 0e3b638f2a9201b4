"""The Responses API path keeps everything the Chat Completions path has: the shared provider
tests (answers, faults, retries, idle timeout, stop) run again here against it."""

from __future__ import annotations

import pytest

from streaming.events import ChatMessage, ChatRequest, RateLimited, TextDelta, ToolCall, Usage
from streaming.providers.base import ProviderConfig
from streaming.providers.openai import OpenAIProvider
from streaming.providers.openai_responses import Translator
from tests.fakes.script import Script
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import ask, run, text_of

# Collected again in this module, where ``provider`` is the Responses API.
from tests.streaming.test_policy import (  # noqa: F401
    test_a_connection_dropped_before_any_text_is_retried,
    test_a_failure_after_text_is_never_retried_from_scratch,
    test_a_slow_but_steady_stream_is_not_idle,
    test_a_stall_before_any_text_is_retried,
    test_cancelling_a_retry_wait_stops_retrying,
    test_cancelling_the_consumer_closes_the_upstream_connection,
    test_closing_the_stream_closes_the_upstream_connection,
    test_it_does_not_wait_longer_than_max_retry_after,
    test_it_gives_up_after_the_last_retry,
    test_it_never_retries_what_cannot_work,
    test_it_retries_honouring_retry_after_then_backing_off,
    test_the_finish_event_ends_a_guarded_stream,
)
from tests.streaming.test_provider_answers import (  # noqa: F401
    test_consecutive_answers_reuse_one_pooled_connection,
    test_it_maps_the_finish_reasons,
    test_it_sends_the_model_name_and_the_key,
    test_it_yields_parallel_tool_calls_whole,
)
from tests.streaming.test_provider_faults import (  # noqa: F401
    test_a_mid_stream_fault_keeps_the_partial_text,
    test_a_rate_limit_carries_the_servers_retry_after,
    test_a_rate_limit_without_retry_after_leaves_it_unset,
    test_a_stall_ends_in_an_idle_timeout_and_a_closed_connection,
    test_an_error_event_mid_stream_is_typed_by_its_kind,
    test_an_http_fault_becomes_a_typed_error,
    test_overload_has_each_vendors_status,
)


@pytest.fixture
async def provider(fake_upstream: FakeUpstream):
    config = ProviderConfig(
        api_key="test-key", base_url=fake_upstream.openai_base_url, api="responses"
    )
    provider = OpenAIProvider(config)
    yield provider
    await provider.aclose()


async def test_it_streams_a_text_answer_from_the_responses_endpoint(provider, fake_upstream):
    fake_upstream.enqueue(Script(tokens=["Hel", "lo", ",\n", " wörld 👋"]))
    events, error = await run(provider.stream(ask()))
    assert error is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", ",\n", " wörld 👋"]
    record = fake_upstream.requests[0]
    assert record.format == "openai_responses" and record.path == "/v1/responses"


async def test_it_reports_usage_once_just_before_finishing(provider, fake_upstream):
    # The Responses API always counts reasoning tokens, 0 for a model that did not reason.
    fake_upstream.enqueue(Script(text="Counted answer", input_tokens=42, output_tokens=7))
    events, _ = await run(provider.stream(ask()))
    assert [e for e in events if isinstance(e, Usage)] == [Usage(42, 7, 0)]
    assert isinstance(events[-2], Usage)


async def test_it_tolerates_a_server_that_reports_no_usage(provider, fake_upstream):
    fake_upstream.enqueue(Script(text="No counts", usage=False))
    events, error = await run(provider.stream(ask()))
    assert error is None and text_of(events) == "No counts"


def test_a_failed_response_is_typed_by_its_code():
    # A stream can be just created -> failed, with no error event first.
    error = {"code": "rate_limit_exceeded", "message": "Slow down"}
    payload = {"type": "response.failed", "response": {"status": "failed", "error": error}}
    with pytest.raises(RateLimited, match="Slow down"):
        Translator("gpt-5").event(payload)


async def test_it_sends_the_whole_conversation_as_input_items(provider, fake_upstream):
    call = ToolCall("call_1", "calculator", {"expression": "2+2"})
    request = ChatRequest(
        model="gpt-4.1",
        max_tokens=77,
        messages=(
            ChatMessage("system", "Be brief."),
            ChatMessage("user", "What is 2+2?"),
            ChatMessage("assistant", "Let me compute.", tool_calls=(call,)),
            ChatMessage("tool", "4", tool_call_id="call_1", name="calculator"),
            ChatMessage("user", "And so?"),
            ChatMessage("assistant", "So it is"),
        ),
    )
    _, error = await run(provider.stream(request))
    assert error is None
    body = fake_upstream.requests[0].body
    assert body["instructions"] == "Be brief."
    assert body["max_output_tokens"] == 77
    assert body["input"] == [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "Let me compute."},
        {
            "type": "function_call",
            "call_id": "call_1",
            "name": "calculator",
            "arguments": '{"expression": "2+2"}',
        },
        {"type": "function_call_output", "call_id": "call_1", "output": "4"},
        {"role": "user", "content": "And so?"},
        {"role": "assistant", "content": "So it is"},
    ]
