"""Each hosted provider, through its real SDK over loopback HTTP, turns an answer into events."""

from __future__ import annotations

import pytest

from streaming.events import (
    Finish,
    FinishReason,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolSpec,
    Usage,
)
from tests.fakes.script import Script, ToolCallScript
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import ask, run, text_of

WEATHER = ToolSpec(
    "get_weather",
    "The weather in a city",
    {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
)


async def test_it_streams_a_text_answer_token_by_token(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(tokens=["Hel", "lo", ",\n", " wörld 👋"]))
    events, error = await run(provider.stream(ask()))
    assert error is None
    assert [e.text for e in events if isinstance(e, TextDelta)] == ["Hel", "lo", ",\n", " wörld 👋"]
    assert events[-1] == Finish(FinishReason.END)
    assert fake_upstream.requests[0].format == provider.name


async def test_it_reports_usage_once_just_before_finishing(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(text="Counted answer", input_tokens=42, output_tokens=7))
    events, _ = await run(provider.stream(ask()))
    assert [e for e in events if isinstance(e, Usage)] == [Usage(42, 7)]
    assert isinstance(events[-2], Usage)


# Anthropic's message_start always carries usage; OpenAI-compatible servers and Gemini may not.
@pytest.mark.parametrize("name", ["openai", "gemini"])
async def test_it_tolerates_an_upstream_that_reports_no_usage(name, make_provider, fake_upstream):
    fake_upstream.enqueue(Script(text="No counts", usage=False))
    events, error = await run(make_provider(name).stream(ask()))
    assert error is None and text_of(events) == "No counts"
    assert not [e for e in events if isinstance(e, Usage)]


async def test_it_yields_parallel_tool_calls_whole(provider, fake_upstream: FakeUpstream):
    calls = [
        ToolCallScript("get_weather", {"city": "Paris", "unit": "°C"}),
        ToolCallScript("get_weather", {"city": "Tokyo", "days": [1, 2]}),
        ToolCallScript("current_time", {}),
    ]
    fake_upstream.enqueue(Script(text="Let me check.", tool_calls=calls))
    events, error = await run(provider.stream(ask("weather?", tools=(WEATHER,))))
    assert error is None
    assert text_of(events) == "Let me check."
    tool_calls = [e for e in events if isinstance(e, ToolCall)]
    assert [(c.name, c.arguments) for c in tool_calls] == [
        ("get_weather", {"city": "Paris", "unit": "°C"}),
        ("get_weather", {"city": "Tokyo", "days": [1, 2]}),
        ("current_time", {}),
    ]
    assert len({c.id for c in tool_calls}) == 3 and all(c.id for c in tool_calls)
    assert events[-1] == Finish(FinishReason.TOOL_CALLS)


async def test_it_streams_thinking_apart_from_the_answer(provider, fake_upstream: FakeUpstream):
    fake_upstream.enqueue(Script(reasoning="Two plus two is four.", text="4"))
    events, _ = await run(provider.stream(ask("2+2?")))
    thinking = "".join(e.text for e in events if isinstance(e, ThinkingDelta))
    assert thinking == "Two plus two is four."
    assert text_of(events) == "4"
    first_text = next(i for i, e in enumerate(events) if isinstance(e, TextDelta))
    assert all(isinstance(e, ThinkingDelta) for e in events[:first_text])


async def test_it_maps_the_finish_reasons(provider, fake_upstream: FakeUpstream):
    for finish, expected in [
        ("length", FinishReason.LENGTH),
        ("content_filter", FinishReason.CONTENT_FILTER),
        ("end", FinishReason.END),
    ]:
        fake_upstream.enqueue(Script(text="cut", finish=finish))
        events, _ = await run(provider.stream(ask()))
        assert events[-1] == Finish(expected), finish


async def test_it_sends_the_model_name_and_the_key(provider, fake_upstream: FakeUpstream):
    await run(provider.stream(ask(model="some-model-1")))
    record = fake_upstream.requests[0]
    assert record.api_key == "test-key"
    assert "some-model-1" in (record.body.get("model", "") + record.path)


async def test_consecutive_answers_reuse_one_pooled_connection(provider, fake_upstream):
    fake_upstream.enqueue(Script(text="first"), Script(text="second"))
    for expected in ("first", "second"):
        events, error = await run(provider.stream(ask()))
        assert error is None and text_of(events) == expected
    first, second = fake_upstream.requests
    assert first.outcome == "complete"
    assert first.client_port == second.client_port
