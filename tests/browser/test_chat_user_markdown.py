"""The user's own messages are markdown, through the same sanitizing renderer as answers: a
pasted code block is code, raw HTML is text, a long message is folded; Copy and Edit still
take the text as typed."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

PASTED = (
    "Why does this fail?\n\n```python\ndef add(a, b):\n    return a + b\n```\n\nThanks **a lot**."
)
HOSTILE = (
    "<script>window.__pwned = 'script'</script>\n\n"
    "<img src=x onerror=\"window.__pwned = 'img'\">\n\n"
    "[click](javascript:window.__pwned='link') and <b onmouseover=\"window.__pwned='b'\">b</b>"
)
LONG = "\n".join(f"Line {n} of a long paste." for n in range(1, 41))


def ask(chat: ChatPage, text: str):
    """Sends `text`, waits for its answer; the user's message on screen."""
    chat.wait_for_status(chat.send(text), "complete")
    return chat.page.locator("[data-role=user]").last


def test_a_pasted_code_block_is_shown_as_code(page: Page, live_app):
    live_app.upstream.enqueue(Script(text="It works.", tokens_per_second=300))
    chat = open_chat(page, live_app)
    question = ask(chat, PASTED)
    body = question.locator(".body")
    code = body.locator("pre > code")
    expect(code).to_have_text("def add(a, b):\n    return a + b\n")
    assert "monospace" in code.evaluate("(el) => getComputedStyle(el).fontFamily")
    expect(body.locator(".md-code-lang")).to_have_text("python")
    expect(body.get_by_role("button", name="Copy code")).to_be_visible()
    expect(body.locator("strong")).to_have_text("a lot")
    assert "```" not in body.text_content()
    shown_id = question.get_attribute("data-message-id")
    # The same from the database after a reload, with its hooks.
    html = body.inner_html()
    page.reload()
    chat.ready()
    assert page.locator("[data-role=user] .body").first.inner_html() == html
    stored = chat.stored_messages()[0]
    assert (stored["role"], stored["text"], str(stored["id"])) == ("user", PASTED, shown_id)
    chat.assert_clean()


def test_hostile_html_in_a_message_of_the_user_is_inert(page: Page, live_app):
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    live_app.upstream.enqueue(Script(text="Noted.", tokens_per_second=300))
    chat = open_chat(page, live_app)
    for _ in range(2):  # as sent, then as stored
        body = page.locator("[data-role=user] .body").last
        if not body.count():
            body = ask(chat, HOSTILE).locator(".body")
        assert body.locator("script, img, [onerror], [onmouseover], b").count() == 0
        assert body.locator("a[href^=javascript]").count() == 0
        text = body.text_content()
        assert "<script>window.__pwned = 'script'</script>" in text
        assert "<img src=x onerror=" in text
        body.hover()
        page.wait_for_timeout(200)
        assert page.evaluate("window.__pwned") is None
        page.reload()
        chat.ready()
    assert dialogs == []
    chat.assert_clean()


def test_a_long_message_is_folded_and_unfolded(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="Short one.", tokens_per_second=300),
        Script(text="Long one.", tokens_per_second=300),
    )
    chat = open_chat(page, live_app)
    short = ask(chat, "A short question")
    expect(short.get_by_role("button", name="Show more")).to_have_count(0)

    question = ask(chat, LONG)
    body = question.locator(".body")
    more = question.get_by_role("button", name="Show more")
    expect(more).to_have_attribute("aria-expanded", "false")
    expect(more).to_have_attribute("aria-controls", body.get_attribute("id"))
    folded = body.bounding_box()["height"]
    full = body.evaluate("(el) => el.scrollHeight")
    assert folded < full / 2, (folded, full)

    more.click()
    less = question.get_by_role("button", name="Show less")
    expect(less).to_have_attribute("aria-expanded", "true")
    expect(less).to_be_focused()
    assert body.bounding_box()["height"] >= full - 1
    # From the keyboard too.
    page.keyboard.press("Enter")
    expect(question.get_by_role("button", name="Show more")).to_have_attribute(
        "aria-expanded", "false"
    )
    assert body.bounding_box()["height"] == folded
    # Over 1,200 characters on few lines is long too.
    assert page.evaluate(
        "async () => (await import('/static/js/message.js')).isLong('x'.repeat(1300))"
    )
    chat.assert_clean()


def test_copy_and_edit_take_the_text_as_typed(page: Page, live_app):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_app.url)
    live_app.upstream.enqueue(
        Script(text="First.", tokens_per_second=300),
        Script(text="Second.", tokens_per_second=300),
    )
    chat = open_chat(page, live_app)
    question = ask(chat, PASTED)
    question.hover()
    question.get_by_role("button", name="Copy message").click()
    assert page.evaluate("navigator.clipboard.readText()") == PASTED

    question.get_by_role("button", name="Edit message").click()
    box = question.get_by_role("textbox", name="Edit your message")
    expect(box).to_be_focused()
    expect(box).to_have_value(PASTED)
    expect(question.locator(".bubble")).to_be_hidden()
    # Cancel puts the rendered message back.
    page.keyboard.press("Escape")
    expect(question.locator(".body pre > code")).to_be_visible()

    question.get_by_role("button", name="Edit message").click()
    box.fill(PASTED.replace("add(a, b)", "add(a, b, c)"))
    box.press("Control+Enter")
    edited = page.locator("[data-role=user]").last
    expect(edited.locator(".body pre > code")).to_have_text("def add(a, b, c):\n    return a + b\n")
    expect(edited.locator(".version-label")).to_have_text("2/2")
    chat.wait_for_status(chat.answer(), "complete")
    chat.assert_clean()
