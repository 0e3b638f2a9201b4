"""Each message says when it was written: a short time on hover or focus (quietly there on a
touch screen), the full date and time in its tooltip and a <time datetime>."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.browser.chat_page import ChatPage, open_chat
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

AGE = """
from datetime import datetime, timezone
from chat.models import Message
Message.objects.all().update(created_at=datetime(2025, 3, 3, 12, 0, tzinfo=timezone.utc))
"""


def opacity(locator) -> float:
    return float(locator.evaluate("(node) => getComputedStyle(node).opacity"))


def test_messages_show_when_they_were_written(page: Page, browser: Browser, live_app):
    live_app.upstream.enqueue(Script(text="An answer.", tokens_per_second=300))
    chat = open_chat(page, live_app)
    answer = chat.send("A question")
    chat.wait_for_status(answer, "complete")
    question = page.locator(".message.user").first
    for message in (question, answer):
        stamp = message.locator("time.stamp")
        expect(stamp).to_have_text(re.compile(r"^\d{1,2}:\d{2}"))  # today: the time alone
        assert re.match(r"\d{4}-\d\d-\d\dT", stamp.get_attribute("datetime"))
        assert re.search(r"\d{4}", stamp.get_attribute("title"))  # the full date
    page.mouse.move(0, 0)
    page.locator("#content").focus()
    stamp = answer.locator("time.stamp")
    page.wait_for_function(
        "(node) => getComputedStyle(node).opacity === '0'", arg=stamp.element_handle()
    )
    answer.hover()
    page.wait_for_function(
        "(node) => getComputedStyle(node).opacity === '1'", arg=stamp.element_handle()
    )

    # Read back from the page data: the stored time.
    live_app.manage("shell", "-c", AGE)
    page.reload()
    chat.ready()
    assert {m["created_at"][:19] for m in chat.stored_messages()} == {"2025-03-03T12:00:00"}
    stamp = chat.answer().locator("time.stamp")
    expect(stamp).to_have_attribute("datetime", "2025-03-03T12:00:00.000Z")
    expect(stamp).to_have_text(re.compile(r"3.*2025|2025.*3"))  # another year: day, month, year
    assert "2025" in stamp.get_attribute("title")
    assert "Monday" in stamp.get_attribute("title")
    url = page.url
    chat.assert_clean()

    # A touch screen has no hover: the time stays, quietly.
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True,
        storage_state=page.context.storage_state(),
    )  # fmt: skip
    try:
        touch = ChatPage(phone.new_page(), live_app.url)
        touch.goto(url)
        stamp = touch.answer().locator("time.stamp")
        expect(stamp).to_be_visible()
        assert 0.5 < opacity(stamp) < 1
    finally:
        phone.close()
