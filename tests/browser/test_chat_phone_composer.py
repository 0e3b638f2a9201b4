"""The composer on a phone's touch screen: Enter is a new line, Send sits inside the box beside
the text (and Stop in its place), and the controls fold into one row below."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
    )
    try:
        yield context.new_page()
    finally:
        context.close()


def test_on_a_touch_screen_enter_is_a_new_line_and_send_sits_in_the_box(phone: Page, live_app):
    live_app.upstream.enqueue(Script(word_count=400, tokens_per_second=60))
    chat = open_chat(phone, live_app)
    assert phone.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
    textarea = chat.textarea
    textarea.tap()
    phone.keyboard.type("First line")
    phone.keyboard.press("Enter")
    phone.keyboard.type("second line")
    expect(textarea).to_have_value("First line\nsecond line")
    assert chat.answers.count() == 0  # Enter sent nothing

    send = phone.get_by_role("button", name="Send")
    box, text = send.bounding_box(), textarea.bounding_box()
    # Beside the text, on its first line, inside the box's right edge.
    assert box["y"] < text["y"] + text["height"] and box["y"] + box["height"] > text["y"]
    assert box["x"] > text["x"] + text["width"] / 2
    assert box["x"] + box["width"] <= 390
    # The controls on one row below it (their middles on one line).
    tops = phone.evaluate(
        """() => [...document.querySelectorAll('.composer-bar > :not([hidden])')]
            .filter((el) => !['send', 'stop'].includes(el.name) && el.offsetParent)
            .filter((el) => !el.classList.contains('visually-hidden'))
            .map((el) => el.getBoundingClientRect())
            .map((r) => Math.round(r.top + r.height / 2))"""
    )
    assert len(tops) >= 3 and max(tops) - min(tops) <= 4, tops

    send.tap()
    answer = chat.answer()
    stop = phone.get_by_role("button", name="Stop")
    expect(stop).to_be_visible()
    # In Send's place: beside the (now empty) text, at the box's right edge.
    stop_box, text = stop.bounding_box(), textarea.bounding_box()
    assert (
        stop_box["y"] < text["y"] + text["height"]
        and stop_box["y"] + stop_box["height"] > text["y"]
    )
    assert abs(stop_box["x"] + stop_box["width"] - box["x"] - box["width"]) <= 2
    stop.tap()
    chat.wait_for_status(answer, "stopped")
    expect(send).to_be_visible()
    chat.assert_clean()


def test_on_a_desktop_enter_still_sends(page: Page, live_app):
    live_app.upstream.enqueue(Script(text="Sent.", tokens_per_second=300))
    chat = open_chat(page, live_app)
    assert not page.evaluate("matchMedia('(hover: none) and (pointer: coarse)').matches")
    chat.wait_for_status(chat.send("With Enter"), "complete")
