"""What each model offered takes besides text: its provider's defaults, the operator's
``MODEL_CAPABILITIES`` over them, and the chat page telling its scripts."""

import json

import pytest
from django.test import Client

from chat import answers

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def offered(settings):
    """OpenAI itself (no base URL), Claude, and the offline model."""
    settings.OPENAI_API_KEY = settings.ANTHROPIC_API_KEY = "test-key"
    settings.OPENAI_BASE_URL = ""
    settings.OPENAI_MODELS = ["gpt-4o", "gpt-3.5-turbo"]
    settings.ANTHROPIC_MODELS = ["claude-sonnet-4-5"]
    settings.GEMINI_API_KEY = ""
    settings.LOCAL_MODEL_ENABLED = True
    settings.MODEL_CAPABILITIES = {}


def test_each_model_takes_what_its_provider_says():
    assert answers.capabilities() == {
        "local:smollm2": [],
        "openai:gpt-4o": ["vision"],
        "openai:gpt-3.5-turbo": [],
        "anthropic:claude-sonnet-4-5": ["pdf", "vision"],
    }


def test_the_operator_overrides_a_model_by_its_full_name_or_its_own(settings):
    settings.MODEL_CAPABILITIES = {
        "openai:gpt-3.5-turbo": frozenset({"vision", "pdf"}),
        "claude-sonnet-4-5": frozenset(),  # any provider's model of that name
        "gemini:gemini-2.5-flash": frozenset({"vision"}),  # not offered: not listed
    }
    found = answers.capabilities()
    assert found["openai:gpt-3.5-turbo"] == ["pdf", "vision"]
    assert found["anthropic:claude-sonnet-4-5"] == []
    assert found["openai:gpt-4o"] == ["vision"]
    assert "gemini:gemini-2.5-flash" not in found


def test_a_compatible_server_takes_text_alone_until_its_operator_says(settings):
    settings.OPENAI_BASE_URL = "http://127.0.0.1:9/v1"
    assert answers.capabilities()["openai:gpt-4o"] == []
    settings.MODEL_CAPABILITIES = {"openai:gpt-4o": frozenset({"vision"})}
    assert answers.capabilities()["openai:gpt-4o"] == ["vision"]


def test_the_chat_page_tells_its_scripts(alice, settings):
    settings.MODEL_CAPABILITIES = {"local:smollm2": frozenset({"vision"})}
    client = Client()
    client.force_login(alice)
    html = client.get("/").content.decode()
    start = html.index(">", html.index('<script id="page-data" type="application/json">')) + 1
    data = json.loads(html[start : html.index("</script>", start)])
    assert data["capabilities"] == answers.capabilities()
    assert data["capabilities"]["local:smollm2"] == ["vision"]
