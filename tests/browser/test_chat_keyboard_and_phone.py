"""The page works from the keyboard, shows where the focus is, and fits a phone's screen."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

WIDE_ANSWER = (
    "Here is a wide table and a long line of code.\n\n"
    "| column one | column two | column three | column four | column five | column six |\n"
    "|---|---|---|---|---|---|\n"
    "| a fairly long cell | another long cell | and another | and more | still more | last |\n\n"
    "```python\n"
    "result = some_function_with_a_long_name(argument_one, argument_two, argument_three, "
    "argument_four)\n"
    "```\n\n"
    "https://example.com/a/very/long/link/that/does/not/break/easily/because/it/is/one/word\n"
)

# How an element looks: what a focus indicator changes (on it, or on the composer's box).
LOOKS = """
(el) => {
  const look = (node) => {
    if (!node) return "";
    const s = getComputedStyle(node);
    return [s.outlineStyle, s.outlineWidth, s.outlineColor, s.boxShadow, s.borderColor,
            s.backgroundColor].join("|");
  };
  return look(el) + "/" + look(el.closest(".composer-box"));
}
"""


def test_enter_sends_and_shift_enter_starts_a_new_line(page: Page, live_app):
    live_app.upstream.enqueue(Script(text="Two lines received.", tokens_per_second=300))
    chat = open_chat(page, live_app)
    textarea = chat.textarea
    expect(textarea).to_be_focused()  # a new chat starts with the cursor in the composer
    one_line = textarea.bounding_box()["height"]

    page.keyboard.press("Enter")  # nothing to send yet
    page.keyboard.type("line one")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line two")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("line three")
    expect(textarea).to_have_value("line one\nline two\nline three")
    assert page.locator("[data-role=user]").count() == 0
    assert textarea.bounding_box()["height"] > one_line  # it grows with its text

    page.keyboard.press("Enter")
    question = page.locator("[data-role=user] .body")
    expect(question).to_have_count(1)
    assert question.evaluate("(el) => el.textContent") == "line one\nline two\nline three"
    expect(textarea).to_have_value("")
    assert textarea.bounding_box()["height"] == one_line
    chat.wait_for_status(chat.answer(), "complete")
    expect(chat.answer().locator(".body")).to_have_text("Two lines received.")
    expect(textarea).to_be_enabled()
    chat.assert_clean()


def test_everything_the_keyboard_reaches_shows_focus(page: Page, live_app):
    live_app.upstream.enqueue(Script(text="Some `code`:\n\n```js\nlet a = 1;\n```\n"))
    chat = open_chat(page, live_app)
    chat.wait_for_status(chat.send("Show focus"), "complete")
    page.mouse.move(0, 0)
    page.evaluate("document.activeElement.blur()")
    unfocused = page.evaluate(
        f"""() => {{
            const looks = {LOOKS};
            const all = document.querySelectorAll("a[href], button, input, select, textarea");
            return Array.from(all, (el, i) => {{ el.dataset.probe = i; return looks(el); }});
        }}"""
    )

    reached = []
    for _ in range(40):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            f"""() => {{
                const el = document.activeElement;
                if (!el || el === document.body) return null;
                const name = el.getAttribute("aria-label") || el.name || el.textContent.trim();
                return {{ probe: el.dataset.probe, looks: ({LOOKS})(el), name }};
            }}"""
        )
        if focused is None or focused["probe"] is None:
            continue
        assert focused["looks"] != unfocused[int(focused["probe"])], (
            f"no visible focus on {focused['name']!r}"
        )
        reached.append(focused["name"])

    for name in ("New chat", "Search conversations", "Copy answer", "Regenerate answer",
                 "Copy code", "content", "model", "compare", "send", "Sign out"):  # fmt: skip
        assert name in reached, f"{name!r} is not reachable with Tab: {reached}"
    chat.assert_clean()


def test_a_phone_sized_screen_is_usable(page: Page, live_app):
    page.set_viewport_size({"width": 390, "height": 844})
    live_app.upstream.enqueue(Script(text=WIDE_ANSWER, tokens_per_second=300))
    chat = open_chat(page, live_app)

    def fits() -> None:
        sizes = page.evaluate(
            "({ scroll: document.documentElement.scrollWidth, width: innerWidth,"
            "   body: document.body.scrollWidth })"
        )
        assert sizes["scroll"] <= sizes["width"], sizes
        assert sizes["body"] <= sizes["width"], sizes
        for locator in (chat.textarea, page.get_by_role("button", name="Send")):
            box = locator.bounding_box()
            assert box is not None
            assert box["x"] >= 0 and box["x"] + box["width"] <= 390, box
            assert box["y"] >= 0 and box["y"] + box["height"] <= 844, box

    # The conversation list waits behind a button.
    sidebar = page.locator("#sidebar")
    expect(sidebar).to_be_hidden()
    fits()
    chat.wait_for_status(chat.send("Something wide, please"), "complete")
    fits()
    # Wide content scrolls by itself, inside the answer.
    for wide in (chat.answer().locator("pre > code"), chat.answer().locator("table")):
        assert wide.evaluate("(el) => el.scrollWidth > el.clientWidth")

    menu = page.get_by_role("button", name="Conversations")
    menu.click()
    expect(sidebar).to_be_visible()
    expect(menu).to_have_attribute("aria-expanded", "true")
    expect(page.locator(".sidebar .conversation")).to_have_count(1)
    page.keyboard.press("Escape")
    expect(sidebar).to_be_hidden()
    expect(menu).to_be_focused()
    menu.click()
    page.locator("#scrim").click(position={"x": 380, "y": 400})
    expect(sidebar).to_be_hidden()
    fits()
    chat.assert_clean()
