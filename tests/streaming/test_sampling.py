"""Temperature, top_p and the output limit reach each provider in its own field, and what a
model cannot take is left out with a note saying so."""

from __future__ import annotations

import pytest

from streaming.events import ChatMessage, ChatRequest
from streaming.providers.base import ProviderConfig
from streaming.providers.openai import OpenAIProvider
from tests.fakes.upstream import FakeUpstream
from tests.streaming.conftest import ask, run


@pytest.fixture
async def responses(fake_upstream: FakeUpstream):
    provider = OpenAIProvider(
        ProviderConfig(api_key="test-key", base_url=fake_upstream.openai_base_url, api="responses")
    )
    yield provider
    await provider.aclose()


async def sent(provider, fake: FakeUpstream, request: ChatRequest) -> dict:
    _, error = await run(provider.stream(request))
    assert error is None
    return fake.requests[-1].body


async def test_openai_chat_completions_takes_them_as_they_are(make_provider, fake_upstream):
    provider = make_provider("openai")
    body = await sent(provider, fake_upstream, ask(temperature=0.2, top_p=0.7, max_tokens=321))
    assert (body["temperature"], body["top_p"], body["max_tokens"]) == (0.2, 0.7, 321)
    assert provider.adapt(ask(temperature=0.2))[1] == ()


async def test_unset_sends_neither(make_provider, responses, fake_upstream):
    for name in ("openai", "anthropic"):
        body = await sent(make_provider(name), fake_upstream, ask())
        assert "temperature" not in body and "top_p" not in body
    body = await sent(responses, fake_upstream, ask())
    assert "temperature" not in body and "top_p" not in body
    body = await sent(make_provider("gemini"), fake_upstream, ask())
    config = body.get("generationConfig", {})
    assert "temperature" not in config and "topP" not in config


async def test_the_responses_api_takes_them_for_a_model_that_does_not_reason(
    responses, fake_upstream
):
    body = await sent(
        responses, fake_upstream, ask(model="gpt-4.1", temperature=1.5, top_p=0.5, max_tokens=99)
    )
    assert (body["temperature"], body["top_p"], body["max_output_tokens"]) == (1.5, 0.5, 99)


@pytest.mark.parametrize("model", ["o3-mini", "gpt-5", "o4-mini"])
async def test_openai_reasoning_models_get_no_sampling_and_say_so(responses, fake_upstream, model):
    request = ask(model=model, temperature=0.4, top_p=0.9)
    body = await sent(responses, fake_upstream, request)
    assert "temperature" not in body and "top_p" not in body
    adapted, notes = responses.adapt(request)
    assert adapted.temperature is None and adapted.top_p is None
    assert notes == (
        f"temperature ignored: {model} is a reasoning model",
        f"top_p ignored: {model} is a reasoning model",
    )


async def test_a_model_asked_to_reason_gets_no_sampling(responses, fake_upstream):
    request = ask(temperature=0.4, reasoning_effort="low")
    body = await sent(responses, fake_upstream, request)
    assert "temperature" not in body and body["reasoning"]["effort"] == "low"
    assert responses.adapt(request)[1] == (
        "temperature ignored: test-model with reasoning effort low",
    )


async def test_a_model_that_refused_reasoning_gets_its_temperature(responses, fake_upstream):
    request = ask(model="gpt-4.1", temperature=0.4, reasoning_effort="low")
    body = await sent(responses, fake_upstream, request)  # refused, then asked plainly
    assert "reasoning" not in body and body["temperature"] == 0.4
    assert responses.adapt(request)[1] == ()


async def test_anthropic_takes_them_in_its_fields(make_provider, fake_upstream):
    provider = make_provider("anthropic")
    body = await sent(provider, fake_upstream, ask(temperature=0.3, max_tokens=222))
    assert (body["temperature"], body["max_tokens"]) == (0.3, 222)
    body = await sent(provider, fake_upstream, ask(top_p=0.8))
    assert body["top_p"] == 0.8 and "temperature" not in body


async def test_anthropic_takes_temperature_or_top_p_not_both(make_provider, fake_upstream):
    provider = make_provider("anthropic")
    request = ask(model="claude-sonnet-4-5", temperature=0.3, top_p=0.8)
    body = await sent(provider, fake_upstream, request)
    assert body["temperature"] == 0.3 and "top_p" not in body
    assert provider.adapt(request)[1] == (
        "top_p ignored: claude-sonnet-4-5 takes temperature or top_p, not both",
    )


async def test_claude_thinking_drops_temperature_and_a_low_top_p(make_provider, fake_upstream):
    provider = make_provider("anthropic")
    request = ask(model="claude-sonnet-4-5", temperature=0.3, reasoning_effort="low")
    body = await sent(provider, fake_upstream, request)
    assert "temperature" not in body and body["thinking"]["type"] == "enabled"
    assert provider.adapt(request)[1] == (
        "temperature ignored: claude-sonnet-4-5 with extended thinking needs 1",
    )
    low = ask(model="claude-sonnet-4-5", top_p=0.5, reasoning_effort="low")
    body = await sent(provider, fake_upstream, low)
    assert "top_p" not in body
    assert provider.adapt(low)[1] == (
        "top_p ignored: claude-sonnet-4-5 with extended thinking needs at least 0.95",
    )
    high = ask(model="claude-sonnet-4-5", top_p=0.97, reasoning_effort="low")
    body = await sent(provider, fake_upstream, high)
    assert body["top_p"] == 0.97 and provider.adapt(high)[1] == ()


async def test_claude_continuing_an_answer_thinks_not_and_keeps_temperature(
    make_provider, fake_upstream
):
    provider = make_provider("anthropic")
    request = ChatRequest(
        model="claude-sonnet-4-5",
        messages=(ChatMessage("user", "hi"), ChatMessage("assistant", "Hel")),
        temperature=0.3,
        reasoning_effort="low",
    )
    body = await sent(provider, fake_upstream, request)
    assert body["temperature"] == 0.3 and "thinking" not in body


async def test_gemini_takes_them_in_its_generation_config(make_provider, fake_upstream):
    body = await sent(
        make_provider("gemini"), fake_upstream, ask(temperature=1.2, top_p=0.6, max_tokens=111)
    )
    config = body["generationConfig"]
    assert (config["temperature"], config["topP"], config["maxOutputTokens"]) == (1.2, 0.6, 111)
