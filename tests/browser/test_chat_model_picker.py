"""The model picker: provider and model named, searchable, driven by the keyboard, and each
conversation keeping its own model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.live import LiveApp
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


@pytest.fixture
def many_models(tmp_path: Path) -> Iterator[LiveApp]:
    models = "gpt-test,gpt-4o,gpt-4o-mini,gpt-4.1,o3-mini,llama3.1:8b,qwen3:32b,mistral-small"
    with live_app_with(tmp_path, anthropic=True, OPENAI_MODELS=models) as app:
        yield app


def test_the_picker_names_provider_and_model_and_searches_with_the_keyboard(
    page: Page, many_models: LiveApp
):
    chat = open_chat(page, many_models)
    button = page.get_by_role("button", name="Model: gpt-test Local server")
    expect(button).to_contain_text("gpt-test")
    expect(button).to_contain_text("Local server")
    button.click()
    search = page.get_by_role("combobox", name="Search models")
    expect(search).to_be_focused()
    listbox = page.get_by_role("listbox", name="Models")
    expect(listbox.get_by_role("group")).to_have_count(2)  # by provider
    expect(listbox.get_by_role("option", name="gpt-test")).to_have_attribute(
        "aria-selected", "true"
    )
    search.fill("claude")
    expect(listbox.get_by_role("option")).to_have_text(["claude-test"])
    search.fill("local 4o")  # every word, of the model or its provider
    expect(listbox.get_by_role("option")).to_have_text(["gpt-4o", "gpt-4o-mini"])
    search.press("ArrowDown")
    search.press("Enter")
    expect(search).to_be_hidden()
    expect(page.get_by_role("button", name="Model: gpt-4o-mini Local server")).to_be_focused()
    expect(page.locator("#model")).to_have_value("openai:gpt-4o-mini")

    # The keyboard alone: open, nothing matching, Escape leaves the choice as it was.
    page.keyboard.press("ArrowDown")
    expect(search).to_be_focused()
    search.fill("no such model")
    expect(page.get_by_text("No model matches.")).to_be_visible()
    search.press("Escape")
    expect(search).to_be_hidden()
    expect(page.locator("#model")).to_have_value("openai:gpt-4o-mini")
    expect(chat.answers).to_have_count(0)  # Escape in the picker does not reach the composer


def test_a_conversation_keeps_its_model_and_a_new_chat_starts_with_the_last_picked(
    page: Page, many_models: LiveApp
):
    app = many_models
    app.upstream.enqueue(Script(text="From Claude.", tokens_per_second=200))
    chat = open_chat(page, app)
    page.get_by_role("button", name="Model: gpt-test Local server").click()
    page.get_by_role("combobox", name="Search models").fill("claude")
    page.get_by_role("option", name="claude-test").click()
    chat.send("Hello")
    chat.wait_for_status(chat.answer(), "complete")
    url = page.url
    page.get_by_role("link", name="New chat").first.click()
    expect(page.get_by_role("button", name="Model: claude-test Anthropic")).to_be_visible()
    page.get_by_role("button", name="Model: claude-test Anthropic").click()
    page.get_by_role("option", name="o3-mini").click()
    chat.goto(url.removeprefix(app.url))
    expect(page.get_by_role("button", name="Model: claude-test Anthropic")).to_be_visible()
    # The native select is out of the way of the keyboard: one Tab stop for the model.
    assert page.locator("#model").get_attribute("tabindex") == "-1"
