"""The "Copy chat" button puts the branch shown in the clipboard as markdown: the title, then
each message under who wrote it, in order."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


def test_copy_chat_copies_the_conversation_as_markdown(page: Page, live_app):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    chat = open_chat(page, live_app)
    copy = page.locator(".conversation-bar .copy-conversation")
    expect(copy).to_be_hidden()  # nothing to copy yet

    live_app.upstream.enqueue(Script(text="Lisbon has *trams*.", tokens_per_second=300))
    chat.wait_for_status(chat.send("Tell me about Lisbon"), "complete")
    live_app.upstream.enqueue(Script(text="```sh\necho tram 28\n```", tokens_per_second=300))
    chat.wait_for_status(chat.send("And a **command**?"), "complete")

    page.reload()
    chat.ready()
    title = page.locator("#topbar-title").text_content()
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == (
        f"# {title}\n\n"
        "**You:**\n\nTell me about Lisbon\n\n"
        "**gpt-test:**\n\nLisbon has *trams*.\n\n"
        "**You:**\n\nAnd a **command**?\n\n"
        "**gpt-test:**\n\n```sh\necho tram 28\n```\n"
    )
    expect(copy).to_have_text("Copy chat")

    # On a phone it is in the top bar.
    page.set_viewport_size({"width": 390, "height": 844})
    expect(copy).to_be_hidden()
    expect(page.locator(".topbar .copy-conversation")).to_be_visible()
    chat.assert_clean()
