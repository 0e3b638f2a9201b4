"""The chat page from the keyboard: the skip link, one Tab stop per conversation, each
conversation's menu, the shortcuts and their sheet, and the cursor in the composer on open."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

MAKE_CHATS = """
from django.contrib.auth import get_user_model
from chat.models import Conversation, Message
owner = get_user_model().objects.get(username="admin")
for number in range({count}):
    c = Conversation.objects.create(
        owner=owner, title=f"Chat number {{number}}", model="openai:gpt-test"
    )
    Message.objects.create(conversation=c, role="user", seq=1, text=f"Question {{number}}")
    Message.objects.create(conversation=c, role="assistant", seq=2, text=f"Answer {{number}}",
                           status="complete", model="openai:gpt-test")
"""


def with_chats(page: Page, live_app, count: int = 13) -> ChatPage:
    chat = open_chat(page, live_app)
    live_app.manage("shell", "-c", MAKE_CHATS.format(count=count))
    chat.goto("/")
    expect(page.locator(".sidebar .conversation")).to_have_count(count)
    return chat


# The keyboard at the top of the page, as after loading it (the page itself puts the cursor in
# the composer): an element that is no Tab stop, first in the body, has the focus.
FROM_THE_TOP = """() => {
  const start = document.createElement("div");
  start.tabIndex = -1;
  document.body.prepend(start);
  start.focus();
}"""


def from_the_top(page: Page) -> None:
    page.evaluate(FROM_THE_TOP)


def tabs_to_composer(page: Page, limit: int = 80) -> int:
    from_the_top(page)
    for count in range(1, limit + 1):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "content":
            return count
    raise AssertionError(f"the composer was not reached in {limit} Tabs")


def test_the_skip_link_and_few_tab_stops_lead_to_the_composer(page: Page, live_app):
    chat = with_chats(page, live_app)
    from_the_top(page)

    # The first Tab shows the skip link; Enter puts the cursor in the message box.
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the message box")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    assert box and box["y"] >= 0 and box["width"] > 50, box  # on screen while focused
    page.keyboard.press("Enter")
    expect(chat.textarea).to_be_focused()
    assert page.locator(".skip-link").bounding_box()["y"] < 0  # hidden again without the focus

    # Without it, Tab crosses the list one conversation at a time: the skip link, New chat,
    # search, 13 conversations, Account, API tokens, Sign out, Keyboard shortcuts, then the
    # composer (it was 52 with three stops per conversation).
    assert tabs_to_composer(page) == 1 + 2 + 13 + 4 + 1
    chat.assert_clean()


def test_a_conversations_menu_renames_and_deletes_from_the_keyboard(page: Page, live_app):
    chat = with_chats(page, live_app, count=3)
    first = page.locator(".conversation-link").first
    first.focus()
    expect(first).to_have_text("Chat number 2")
    # ↓ and ↑ move between conversations.
    page.keyboard.press("ArrowDown")
    expect(page.locator(".conversation-link").nth(1)).to_be_focused()
    page.keyboard.press("ArrowUp")
    expect(first).to_be_focused()

    # → reaches the entry's menu button, Enter opens its menu on the first item.
    page.keyboard.press("ArrowRight")
    opener = page.get_by_role("button", name="Options for “Chat number 2”")
    expect(opener).to_be_focused()
    expect(opener).to_have_attribute("aria-haspopup", "menu")
    expect(opener).to_have_attribute("aria-expanded", "false")
    page.keyboard.press("Enter")
    menu = page.get_by_role("menu", name="Options for “Chat number 2”")
    expect(menu).to_be_visible()
    expect(opener).to_have_attribute("aria-expanded", "true")
    expect(menu.get_by_role("menuitem")).to_have_text(["Rename", "Delete"])
    expect(menu.get_by_role("menuitem", name="Rename")).to_be_focused()
    page.keyboard.press("ArrowDown")
    expect(menu.get_by_role("menuitem", name="Delete")).to_be_focused()
    page.keyboard.press("ArrowDown")  # round to the first again
    expect(menu.get_by_role("menuitem", name="Rename")).to_be_focused()
    # Escape closes it and gives the focus back to its button.
    page.keyboard.press("Escape")
    expect(menu).to_be_hidden()
    expect(opener).to_have_attribute("aria-expanded", "false")
    expect(opener).to_be_focused()

    # Rename: Enter on the item, type, Enter.
    page.keyboard.press("ArrowDown")
    page.keyboard.press("Enter")
    title = page.get_by_role("textbox", name="New title")
    expect(title).to_be_focused()
    title.fill("Renamed by keys")
    page.keyboard.press("Enter")
    expect(first).to_have_text("Renamed by keys")
    expect(first).to_be_focused()

    # Delete: Shift+F10 on the link opens the menu, End goes to Delete, then confirm.
    page.keyboard.press("Shift+F10")
    menu = page.get_by_role("menu", name="Options for “Renamed by keys”")
    expect(menu).to_be_visible()
    page.keyboard.press("End")
    page.keyboard.press("Enter")
    expect(page.get_by_role("button", name="Cancel")).to_be_focused()
    page.keyboard.press("Shift+Tab")
    expect(page.get_by_role("button", name="Delete", exact=True)).to_be_focused()
    page.keyboard.press("Enter")
    expect(page.locator(".conversation")).to_have_text(["Chat number 1", "Chat number 0"])
    page.reload()
    expect(page.locator(".conversation-link")).to_have_text(["Chat number 1", "Chat number 0"])
    chat.assert_clean()


def test_each_shortcut_does_what_the_sheet_says(page: Page, live_app):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    live_app.upstream.enqueue(
        Script(text="The **first** answer.", tokens_per_second=300),
        Script(word_count=3000, tokens_per_second=60),
    )
    chat = open_chat(page, live_app)
    chat.wait_for_status(chat.send("Hello"), "complete")
    page.locator(".sidebar .new-chat").focus()

    # Shift+Esc and "/" (outside a text field): the message box.
    page.keyboard.press("Shift+Escape")
    expect(chat.textarea).to_be_focused()
    page.locator(".sidebar .new-chat").focus()
    page.keyboard.press("/")
    expect(chat.textarea).to_be_focused()
    expect(chat.textarea).to_have_value("")

    # Ctrl+Shift+C: the last answer's markdown in the clipboard, said to screen readers.
    page.keyboard.press("Control+Shift+C")
    expect(page.locator("#announce")).to_have_text("Copied the last answer.")
    assert page.evaluate("navigator.clipboard.readText()") == "The **first** answer."

    # Ctrl+K: the search box, from the message box too.
    page.keyboard.press("Control+K")
    expect(page.get_by_role("searchbox", name="Search conversations")).to_be_focused()

    # "?" in a text field is a question mark; elsewhere it opens the sheet.
    page.keyboard.press("?")
    expect(page.get_by_role("searchbox", name="Search conversations")).to_have_value("?")
    page.get_by_role("searchbox", name="Search conversations").fill("")
    page.locator(".sidebar .new-chat").focus()
    page.keyboard.press("?")
    sheet = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(sheet).to_be_visible()
    for line in ("New chat", "Go to the message box", "Search chats",
                 "Stop the answer being written", "Copy the last answer"):  # fmt: skip
        expect(sheet.get_by_role("rowheader", name=re.compile(line))).to_be_visible()
    expect(sheet.locator("tr", has_text="New chat").locator("kbd")).to_have_text(
        ["Ctrl", "Shift", "O"]
    )
    page.keyboard.press("Escape")
    expect(sheet).to_be_hidden()
    expect(page.locator(".sidebar .new-chat")).to_be_focused()
    page.keyboard.press("Control+/")
    expect(sheet).to_be_visible()
    sheet.get_by_role("button", name="Close").click()
    expect(sheet).to_be_hidden()
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(sheet).to_be_visible()
    page.keyboard.press("Escape")

    # Escape in the message box stops the answer being written.
    answer = chat.send("A long one")
    chat.wait_for_text(answer, 50)
    expect(chat.textarea).to_be_focused()
    page.keyboard.press("Escape")
    chat.wait_for_status(answer, "stopped")

    # Ctrl+Shift+O: a new chat.
    conversation = chat.conversation_id()
    page.keyboard.press("Control+Shift+O")
    expect(page).to_have_url(live_app.url + "/")
    chat.ready()
    expect(page.locator(f".conversation[data-conversation-id='{conversation}']")).to_have_count(1)
    expect(chat.textarea).to_be_focused()
    chat.assert_clean()


def test_opening_a_conversation_puts_the_cursor_in_the_composer(
    page: Page, browser: Browser, live_app
):
    chat = with_chats(page, live_app, count=2)
    page.locator(".conversation-link").first.click()
    expect(page).to_have_url(re.compile(r"/c/\d+/$"))
    chat.ready()
    expect(chat.textarea).to_be_focused()
    url = page.url
    chat.assert_clean()

    # On a touch screen the on-screen keyboard would cover the conversation: no focus there.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
        storage_state=page.context.storage_state(),
    )  # fmt: skip
    try:
        touch = ChatPage(phone.new_page(), live_app.url)
        assert touch.page.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
        touch.goto(url)
        expect(touch.textarea).to_be_enabled()
        expect(touch.textarea).not_to_be_focused()
        # A new chat is there to be typed in: the box has the cursor.
        touch.goto("/")
        expect(touch.textarea).to_be_focused()
        touch.assert_clean()
    finally:
        phone.close()
