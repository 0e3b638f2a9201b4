from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest

from streaming.events import ChatMessage, ChatRequest, Event, ProviderError, TextDelta
from streaming.providers.anthropic import AnthropicProvider
from streaming.providers.base import Provider, ProviderConfig
from streaming.providers.gemini import GeminiProvider
from streaming.providers.openai import OpenAIProvider
from tests.fakes.fixtures import fake_upstream  # noqa: F401
from tests.fakes.upstream import FakeUpstream

HOSTED = ("openai", "anthropic", "gemini")


def build_provider(name: str, fake: FakeUpstream, api_key: str = "test-key") -> Provider:
    if name == "openai":
        return OpenAIProvider(ProviderConfig(api_key=api_key, base_url=fake.openai_base_url))
    if name == "anthropic":
        return AnthropicProvider(ProviderConfig(api_key=api_key, base_url=fake.anthropic_base_url))
    return GeminiProvider(ProviderConfig(api_key=api_key, base_url=fake.gemini_base_url))


@pytest.fixture
async def make_provider(
    fake_upstream: FakeUpstream,  # noqa: F811
) -> AsyncIterator[Callable[..., Provider]]:
    made: list[Provider] = []

    def make(name: str, **kwargs: str) -> Provider:
        made.append(build_provider(name, fake_upstream, **kwargs))
        return made[-1]

    yield make
    for provider in made:
        await provider.aclose()


@pytest.fixture(params=HOSTED)
def provider(request: pytest.FixtureRequest, make_provider: Callable[..., Provider]) -> Provider:
    return make_provider(request.param)


def ask(text: str = "hi", *, model: str = "test-model", **kwargs) -> ChatRequest:
    return ChatRequest(model=model, messages=(ChatMessage("user", text),), **kwargs)


async def run(stream: AsyncIterator[Event]) -> tuple[list[Event], ProviderError | None]:
    """Every event of a stream, and the error that ended it (if one did)."""
    events: list[Event] = []
    try:
        async for event in stream:
            events.append(event)
    except ProviderError as error:
        return events, error
    return events, None


def text_of(events: list[Event]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


class RecordedSleeps(list):
    """Stands in for ``asyncio.sleep`` in a ``StreamPolicy``: remembers, does not wait."""

    async def __call__(self, seconds: float) -> None:
        self.append(seconds)
