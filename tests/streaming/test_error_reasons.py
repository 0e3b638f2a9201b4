"""What a provider's error carries for the user's sentence: whether a connection was made at
all, the provider's own reason, and the name users know the provider by."""

from __future__ import annotations

import pytest

from streaming.events import BadRequest, Finish, FinishReason, UpstreamUnavailable
from streaming.providers.anthropic import AnthropicProvider
from streaming.providers.base import ProviderConfig
from streaming.providers.gemini import GeminiProvider
from streaming.providers.local import LocalProvider
from streaming.providers.openai import OpenAIProvider
from tests.fakes.script import Fault, Script
from tests.processes.servers import free_port
from tests.streaming.conftest import HOSTED, ask, run


async def test_a_refused_connection_was_never_reached(provider, fake_upstream):
    # The provider's own base URL, on a port nobody listens on.
    base = provider.config.base_url.removeprefix(fake_upstream.url)
    closed = ProviderConfig(api_key="k", base_url=f"http://127.0.0.1:{free_port()}{base}")
    unreachable = type(provider)(closed)
    try:
        _, error = await run(unreachable.stream(ask()))
    finally:
        await unreachable.aclose()
    assert isinstance(error, UpstreamUnavailable)
    assert error.reached is False


async def test_a_drop_mid_answer_was_reached(provider, fake_upstream):
    fake_upstream.enqueue(Script(tokens=["One ", "two ", "three "], fault=Fault.drop(after=2)))
    _, error = await run(provider.stream(ask()))
    assert isinstance(error, UpstreamUnavailable)
    assert error.reached is True  # (partial is for `guarded` to say)


async def test_a_refusal_carries_the_providers_own_reason(provider, fake_upstream):
    fake_upstream.enqueue(Script(fault=Fault.http(400, message="max_tokens: too large")))
    _, error = await run(provider.stream(ask()))
    assert isinstance(error, BadRequest)
    assert (error.status, error.reason) == (400, "max_tokens: too large")


@pytest.mark.parametrize("finish", ["length", "content_filter", "end"])
async def test_each_provider_tells_the_finish_reason_in_the_same_words(
    provider, fake_upstream, finish
):
    fake_upstream.enqueue(Script(text="Some text", finish=finish))
    events, error = await run(provider.stream(ask()))
    assert error is None
    assert events[-1] == Finish(FinishReason(finish))


async def test_each_provider_has_the_name_users_know():
    made = {
        "anthropic": AnthropicProvider(ProviderConfig(api_key="k")),
        "gemini": GeminiProvider(ProviderConfig(api_key="k")),
        "openai": OpenAIProvider(ProviderConfig(api_key="k")),
        "local": OpenAIProvider(ProviderConfig(base_url="http://localhost:11434/v1")),
        "elsewhere": OpenAIProvider(ProviderConfig(base_url="https://llm.example.com/v1")),
        "named": OpenAIProvider(
            ProviderConfig(base_url="http://10.0.0.5:8000/v1", display_name="our vLLM")
        ),
    }
    try:
        names = {key: provider.display_name for key, provider in made.items()}
    finally:
        for provider in made.values():
            await provider.aclose()
    assert names == {
        "anthropic": "Anthropic",
        "gemini": "Google Gemini",
        "openai": "OpenAI",
        "local": "the local server",
        "elsewhere": "the server at llm.example.com",
        "named": "our vLLM",
    }
    assert LocalProvider.title == "the offline model"
    assert set(HOSTED) <= set(names)
