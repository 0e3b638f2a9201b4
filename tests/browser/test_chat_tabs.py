"""Two tabs of one user in sync: a message sent in one shows in the other, its answer
streaming there too, and so does an edit's branch; chats started, renamed and deleted in one
are in the other's list, and a tab showing a chat deleted elsewhere says so and takes no more
messages."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

DELETED = "This chat was deleted in another tab."


def item(page: Page, conversation_id: int):
    return page.locator(f".conversation[data-conversation-id='{conversation_id}']")


def choose(page: Page, conversation_id: int, title: str, action: str) -> None:
    entry = item(page, conversation_id)
    entry.get_by_role("button", name=f"Options for “{title}”").click()
    entry.get_by_role("menuitem", name=action).click()


def test_two_tabs_of_one_user_stay_in_sync(page: Page, live_app, tmp_path):
    live_app.upstream.enqueue(
        Script(text="Try a pastel de nata in Belém.", tokens_per_second=300),
        Script(word_count=60, tokens_per_second=40),
        Script(word_count=40, tokens_per_second=40),
        Script(text="Chop the onions finely.", tokens_per_second=300),
    )
    tab_a = open_chat(page, live_app)
    tab_b = ChatPage(page.context.new_page(), live_app.url)
    tab_b.goto("/")

    # A new chat in A is listed in B at once; B opens it.
    tab_a.wait_for_status(tab_a.send("Plan a day in Lisbon"), "complete")
    expect(tab_a.page).to_have_url(re.compile(r"/c/\d+/$"))
    lisbon = tab_a.conversation_id()
    expect(item(tab_b.page, lisbon)).to_have_text("Plan a day in Lisbon")
    expect(item(tab_b.page, lisbon).locator("a")).not_to_have_attribute("aria-current", "page")
    tab_b.goto(f"/c/{lisbon}/")
    expect(tab_b.answers).to_have_count(1)

    # A message sent in A shows in B as the user's, and its answer streams there too.
    tab_a.send("And what about Porto?")
    mine = tab_b.page.locator("[data-role=user] .body")
    expect(mine).to_have_text(["Plan a day in Lisbon", "And what about Porto?"])
    expect(tab_b.answers).to_have_count(2)
    expect(tab_b.answer()).to_have_attribute("data-status", "streaming")
    tab_b.wait_for_status(tab_b.answer(), "complete")
    tab_a.wait_for_status(tab_a.answer(), "complete")
    expected = Script(word_count=60).answer_text()
    expect(tab_b.answer().locator(".body")).to_have_text(expected)
    expect(tab_a.page.locator("[data-role=user]")).to_have_count(2)  # no echo in A

    # An edit in A brings its branch to B, whose new answer streams there too.
    question = tab_a.page.locator("[data-role=user]").last
    question.hover()
    question.get_by_role("button", name="Edit message").click()
    box = question.get_by_role("textbox", name="Edit your message")
    box.fill("And Porto in spring?")
    box.press("Control+Enter")
    expect(mine).to_have_text(["Plan a day in Lisbon", "And Porto in spring?"])
    expect(tab_b.answers).to_have_count(2)
    tab_b.wait_for_status(tab_b.answer(), "complete")
    expect(tab_b.answer().locator(".body")).to_have_text(Script(word_count=40).answer_text())
    tab_a.wait_for_status(tab_a.answer(), "complete")

    # A rename in A: B's list and B's title follow.
    choose(tab_a.page, lisbon, "Plan a day in Lisbon", "Rename")
    title = tab_a.page.get_by_role("textbox", name="New title")
    title.fill("Lisbon and Porto")
    title.press("Enter")
    expect(item(tab_b.page, lisbon).locator("a")).to_have_text("Lisbon and Porto")
    expect(tab_b.page).to_have_title("Lisbon and Porto")
    expect(tab_b.page.locator("#topbar-title")).to_have_text("Lisbon and Porto")

    # Another chat started in A.
    tab_a.page.locator(".sidebar .new-chat").click()
    tab_a.wait_for_status(tab_a.send("Onion soup for four"), "complete")
    expect(tab_a.page).to_have_url(re.compile(r"/c/\d+/$"))
    soup = tab_a.conversation_id()
    expect(item(tab_b.page, soup)).to_have_text("Onion soup for four")
    expect(tab_b.page.locator(".conversation")).to_have_text(
        ["Onion soup for four", "Lisbon and Porto"]
    )
    expect(item(tab_b.page, lisbon).locator("a")).to_have_attribute("aria-current", "page")

    # A deletes the chat B shows: B says so and takes no more messages.
    choose(tab_a.page, lisbon, "Lisbon and Porto", "Delete")
    item(tab_a.page, lisbon).get_by_role("button", name="Delete", exact=True).click()
    expect(item(tab_a.page, lisbon)).to_have_count(0)
    expect(item(tab_b.page, lisbon)).to_have_count(0)
    expect(tab_b.page.locator(".conversation")).to_have_text(["Onion soup for four"])
    notice = tab_b.page.locator("#notice")
    expect(notice).to_contain_text(DELETED)
    expect(notice.get_by_role("link", name="Start a new chat")).to_have_attribute("href", "/")
    expect(tab_b.textarea).to_be_disabled()
    expect(tab_a.page.locator("#notice")).to_be_hidden()  # A deleted it itself
    for width, height in ((1280, 800), (390, 844)):
        tab_b.page.set_viewport_size({"width": width, "height": height})
        tab_b.page.wait_for_timeout(400)  # the phone's sidebar slides away
        tab_b.page.screenshot(path=tmp_path / f"deleted-{width}x{height}.png")
        expect(notice).to_be_in_viewport()

    tab_a.assert_clean()
    tab_b.assert_clean()
