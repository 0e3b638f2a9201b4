"""The conversation list: each conversation at its own URL, grouped by date, renamed, deleted
and found by what was said in it; never another user's."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chat_page import ChatPage, open_chat, sign_in_as
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

AGE = """
from datetime import timedelta
from django.utils import timezone
from chat.models import Conversation
Conversation.objects.filter(pk={pk}).update(updated_at=timezone.now() - timedelta(days={days}))
"""


POST_AS_PAGE = """
async (url) => {
  const token = document.querySelector("#logout input[name=csrfmiddlewaretoken]").value;
  const response = await fetch(url, {
    method: "POST",
    headers: { "X-CSRFToken": token, Accept: "application/json" },
    body: new URLSearchParams({ title: "taken" }),
  });
  return response.status;
}
"""


def ask(chat: ChatPage, question: str) -> int:
    """Sends `question` and waits for its answer; the id of the conversation it is in."""
    chat.wait_for_status(chat.send(question), "complete")
    expect(chat.page).to_have_url(re.compile(r"/c/\d+/$"))
    return chat.conversation_id()


def start_conversation(chat: ChatPage, question: str) -> int:
    chat.page.locator(".sidebar .new-chat").click()
    expect(chat.page).to_have_url(chat.url + "/")
    return ask(chat, question)


def item(page: Page, conversation_id: int):
    return page.locator(f".conversation[data-conversation-id='{conversation_id}']")


def choose(page: Page, conversation_id: int, title: str, action: str) -> None:
    """Rename or Delete from the conversation's menu (its "Options" button)."""
    entry = item(page, conversation_id)
    entry.get_by_role("button", name=f"Options for “{title}”").click()
    entry.get_by_role("menuitem", name=action).click()


def test_conversations_are_listed_by_date_renamed_deleted_and_found(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="Try a pastel de nata in Belém.", tokens_per_second=300),
        Script(text="Feed the starter twice a day.", tokens_per_second=300),
        Script(text="Chop the onions finely.", tokens_per_second=300),
    )
    chat = open_chat(page, live_app)
    lisbon = ask(chat, "Plan a day in Lisbon")
    bread = start_conversation(chat, "How do I keep a sourdough starter?")
    # A new conversation is in the list at once, under Today, as the current one.
    expect(item(page, bread)).to_have_text("How do I keep a sourdough starter?")
    expect(item(page, bread).locator("a")).to_have_attribute("aria-current", "page")
    soup = start_conversation(chat, "Onion soup for four")

    # Older conversations are grouped by how long ago they were written to.
    live_app.manage("shell", "-c", AGE.format(pk=lisbon, days=3))
    live_app.manage("shell", "-c", AGE.format(pk=bread, days=40))
    page.reload()
    groups = page.locator(".conversation-group")
    expect(groups.locator(".group-title")).to_have_text(["Today", "Previous 7 days", "Older"])
    expect(groups.nth(0).locator(".conversation")).to_have_text(["Onion soup for four"])
    expect(groups.nth(1).locator(".conversation")).to_have_text(["Plan a day in Lisbon"])
    expect(groups.nth(2).locator(".conversation")).to_have_text(
        ["How do I keep a sourdough starter?"]
    )

    # Search finds a conversation by what the answer said, and its URL opens it.
    page.get_by_role("searchbox", name="Search conversations").fill("nata")
    results = page.locator(".search-results .conversation")
    expect(results).to_have_count(1)
    expect(results.locator(".result-title")).to_have_text("Plan a day in Lisbon")
    expect(results.locator(".result-snippet")).to_contain_text("pastel de nata")
    results.locator("a").click()
    expect(page).to_have_url(re.compile(rf"/c/{lisbon}/$"))
    expect(page.locator("[data-role=user] .body")).to_have_text(["Plan a day in Lisbon"])
    expect(page.locator("[data-role=assistant] .body")).to_have_text(
        ["Try a pastel de nata in Belém."]
    )

    # Rename, with the keyboard; the open conversation's title follows.
    choose(page, lisbon, "Plan a day in Lisbon", "Rename")
    title = page.get_by_role("textbox", name="New title")
    expect(title).to_be_focused()
    title.fill("Lisbon, day one")
    title.press("Enter")
    expect(item(page, lisbon).locator("a")).to_have_text("Lisbon, day one")
    expect(page).to_have_title("Lisbon, day one")
    # Escape leaves the title as it was.
    choose(page, soup, "Onion soup for four", "Rename")
    page.get_by_role("textbox", name="New title").fill("Not this")
    page.get_by_role("textbox", name="New title").press("Escape")
    expect(item(page, soup).locator("a")).to_have_text("Onion soup for four")
    page.reload()
    expect(item(page, lisbon).locator("a")).to_have_text("Lisbon, day one")
    expect(item(page, soup).locator("a")).to_have_text("Onion soup for four")

    # Delete another conversation: asked first, then gone for good.
    choose(page, bread, "How do I keep a sourdough starter?", "Delete")
    item(page, bread).get_by_role("button", name="Cancel").click()
    expect(item(page, bread).locator("a")).to_be_visible()
    choose(page, bread, "How do I keep a sourdough starter?", "Delete")
    item(page, bread).get_by_role("button", name="Delete", exact=True).click()
    expect(item(page, bread)).to_have_count(0)
    expect(page).to_have_url(re.compile(rf"/c/{lisbon}/$"))
    assert page.request.get(f"{live_app.url}/c/{bread}/").status == 404

    # Deleting the open conversation goes to a new chat.
    choose(page, lisbon, "Lisbon, day one", "Delete")
    item(page, lisbon).get_by_role("button", name="Delete", exact=True).click()
    expect(page).to_have_url(live_app.url + "/")
    expect(item(page, lisbon)).to_have_count(0)
    expect(page.locator(".conversation")).to_have_text(["Onion soup for four"])
    chat.assert_clean()


def test_another_users_conversation_is_not_found(page: Page, browser: Browser, live_app):
    live_app.upstream.enqueue(Script(text="Only for the owner.", tokens_per_second=300))
    chat = open_chat(page, live_app)
    mine = ask(chat, "A private question about quinces")

    context = browser.new_context()
    try:
        other = sign_in_as(context.new_page(), live_app, "mallory")
        response = other.page.goto(f"{live_app.url}/c/{mine}/")
        assert response is not None and response.status == 404
        other.goto("/")
        expect(other.page.locator(".conversation")).to_have_count(0)
        other.page.get_by_role("searchbox", name="Search conversations").fill("quinces")
        expect(other.page.locator(".search-results")).to_contain_text("No conversations match")
        # With a valid CSRF token of their own, rename and delete still find nothing.
        for action in ("rename", "delete"):
            status = other.page.evaluate(POST_AS_PAGE, f"/c/{mine}/{action}/")
            assert status == 404, action
    finally:
        context.close()
    page.reload()
    expect(page.locator("[data-role=user] .body")).to_have_text(
        ["A private question about quinces"]
    )
