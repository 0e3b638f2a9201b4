"""A new chat's title, written by its model after the first answer, reaches the open page:
the conversation list, the top bar and the tab."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


@pytest.fixture
def titled_app(tmp_path):
    with live_app_with(tmp_path, GENERATE_TITLES="true") as app:
        yield app


def test_the_generated_title_reaches_the_list_the_top_bar_and_the_tab(page: Page, titled_app):
    titled_app.upstream.enqueue(
        Script(text="Use `sorted` with a key.", tokens_per_second=300),
        Script(text="Sorting a list by key"),
    )
    page.set_viewport_size({"width": 390, "height": 844})  # the top bar shows on a phone
    chat = open_chat(page, titled_app)
    chat.wait_for_status(chat.send("```py\nitems.sort()\n```\nHow do I sort by a key?"), "complete")
    conversation = chat.conversation_id()
    entry = page.locator(f".conversation[data-conversation-id='{conversation}'] a")
    expect(entry).to_have_text("Sorting a list by key")
    expect(page.locator("#topbar-title")).to_have_text("Sorting a list by key")
    expect(page).to_have_title("Sorting a list by key")
    page.reload()
    expect(entry).to_have_text("Sorting a list by key")
    chat.assert_clean()
