from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from tests.fakes.upstream import FakeUpstream

HOSTED = {
    "openai": ("OPENAI", "openai_base_url", "gpt-test"),
    "anthropic": ("ANTHROPIC", "anthropic_base_url", "claude-test"),
    "gemini": ("GEMINI", "gemini_base_url", "gemini-test"),
}
# Recognisable, so a test can look for them anywhere.
KEYS = {
    "openai": "sk-CANARY-openai-5f1c0e2d9a7b4c38",
    "anthropic": "sk-ant-CANARY-anthropic-8e3b1d6f2a94",
    "gemini": "AIzaCANARY-gemini-7d2e9f4a1c6b3e05",
}


@dataclass
class Hosted:
    name: str
    model: str
    key: str
    fake: FakeUpstream
    settings_prefix: str


@pytest.fixture(params=sorted(HOSTED))
def hosted(request, settings) -> Iterator[Hosted]:
    """Each hosted provider in turn, its real SDK pointed at the fake upstream, with a key
    that is easy to find."""
    prefix, url, model = HOSTED[request.param]
    with FakeUpstream() as fake:
        setattr(settings, f"{prefix}_API_KEY", KEYS[request.param])
        setattr(settings, f"{prefix}_BASE_URL", getattr(fake, url))
        setattr(settings, f"{prefix}_MODELS", [model])
        settings.PROVIDER_RETRIES = 0
        yield Hosted(request.param, f"{request.param}:{model}", KEYS[request.param], fake, prefix)
