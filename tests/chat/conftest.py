"""Fixtures the engine tests share."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.fakes.upstream import FakeUpstream

# name -> (settings prefix, fake upstream URL attribute, model)
PROVIDERS = {
    "openai": ("OPENAI", "openai_base_url", "gpt-test"),
    "anthropic": ("ANTHROPIC", "anthropic_base_url", "claude-test"),
    "gemini": ("GEMINI", "gemini_base_url", "gemini-test"),
}


@pytest.fixture(params=sorted(PROVIDERS))
def provider(request, settings):
    """Each hosted provider in turn, its real SDK pointed at the fake upstream: the fake, and
    the model's ``provider:model`` name."""
    prefix, url, model = PROVIDERS[request.param]
    with FakeUpstream() as fake:
        setattr(settings, f"{prefix}_API_KEY", "test-key")
        setattr(settings, f"{prefix}_BASE_URL", getattr(fake, url))
        setattr(settings, f"{prefix}_MODELS", [model])
        settings.PROVIDER_RETRIES = 0
        yield fake, f"{request.param}:{model}"


@pytest.fixture
def client_for():
    """A test client signed in as a given user."""

    def make(user) -> Client:
        client = Client()
        client.force_login(user)
        return client

    return make
