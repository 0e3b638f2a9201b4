"""A tool call the model makes shows in the transcript as a small block that opens on demand."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import open_chat
from tests.fakes.script import Script, ToolCallScript

pytestmark = pytest.mark.browser


def test_tool_calls_show_as_collapsible_blocks(page: Page, live_app):
    live_app.upstream.enqueue(
        Script(text="Hello.", tokens_per_second=300),
        Script(
            text="Let me work that out.",
            tool_calls=[ToolCallScript("calculator", {"expression": "6 * 7"}, id="call_1")],
            tokens_per_second=300,
        ),
        Script(text="6 times 7 is 42.", tokens_per_second=300),
    )
    chat = open_chat(page, live_app)
    chat.wait_for_status(chat.send("Hi"), "complete")
    page.click("button[name=tools-toggle]")
    page.check("input[name=tools][value=calculator]")
    expect(page.locator("button[name=tools-toggle]")).to_have_text("Tools (1)")

    chat.textarea.fill("What is 6 times 7?")
    chat.textarea.press("Enter")
    # The answer that called the tool, then the answer written with its result.
    expect(chat.answers).to_have_count(3)
    calling, final = chat.answer(1), chat.answer(2)
    chat.wait_for_status(final, "complete")
    expect(final.locator(".body")).to_have_text("6 times 7 is 42.")

    def check(block) -> None:
        expect(block).to_have_count(1)
        expect(block.locator("summary")).to_contain_text("calculator")
        expect(block.locator("summary")).to_contain_text("42")
        details = block.locator(".tool-detail")
        expect(details).to_be_hidden()
        block.locator("summary").click()
        expect(details).to_be_visible()
        expect(details.locator("pre").first).to_contain_text('"expression": "6 * 7"')
        expect(details.locator("pre").last).to_have_text("42")
        block.locator("summary").press("Enter")  # it closes from the keyboard too
        expect(details).to_be_hidden()

    check(calling.locator(".tool-call"))
    expect(calling.locator(".body")).to_have_text("Let me work that out.")

    # Stored: the call is on its answer, and its result message is not shown twice; the
    # conversation keeps the tool enabled.
    page.reload()
    expect(page.locator("input[name=tools][value=calculator]")).to_be_checked()
    expect(chat.answers).to_have_count(3)
    check(chat.answer(1).locator(".tool-call"))
    expect(page.locator(".tool-call")).to_have_count(1)
    chat.assert_clean()
