"""A quiet line shows where the messages the model still gets begin, once older ones fall out
of its context window."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browser.chat_page import live_app_with, open_chat
from tests.browser.live import LiveApp
from tests.fakes.script import Script

pytestmark = pytest.mark.browser

FIRST_IN_WINDOW = """
(divider) => {
  const ids = (row) => row.matches("[data-message-id]") ? [row]
    : Array.from(row.querySelectorAll("[data-message-id]"));
  const before = [];
  for (let row = divider.previousElementSibling; row; row = row.previousElementSibling) {
    for (const m of ids(row)) before.push(Number(m.dataset.messageId));
  }
  return { first: Number(ids(divider.nextElementSibling)[0].dataset.messageId), before };
}
"""


@pytest.fixture
def small_window(tmp_path: Path) -> Iterator[LiveApp]:
    # Room for about two exchanges of the size below: older ones fall out.
    with live_app_with(
        tmp_path, MODEL_CONTEXT_LENGTHS="gpt-test=420", MAX_OUTPUT_TOKENS="120"
    ) as app:
        yield app


def test_the_divider_marks_where_the_models_context_begins(page: Page, small_window: LiveApp):
    app = small_window
    chat = open_chat(page, app)
    question = "Tell me more about this, in some detail please. " * 6

    app.upstream.enqueue(Script(word_count=50, tokens_per_second=400))
    chat.wait_for_status(chat.send("First: " + question), "complete")
    page.reload()
    expect(chat.answers).to_have_count(1)
    expect(page.locator(".context-divider")).to_have_count(0)  # everything is still sent

    for number in range(2, 5):
        app.upstream.enqueue(Script(word_count=50, tokens_per_second=400))
        chat.wait_for_status(chat.send(f"Number {number}: {question}"), "complete")
    page.reload()
    expect(chat.answers).to_have_count(4)

    stored = chat.stored_messages()
    start = stored[-1]["context_from_seq"]
    assert start > stored[0]["seq"], "the window should have left out the oldest messages"
    divider = page.locator(".context-divider")
    expect(divider).to_have_count(1)
    expect(divider).to_have_text("Earlier messages are not sent to the model")
    placed = divider.evaluate(FIRST_IN_WINDOW)
    assert placed["first"] == next(m["id"] for m in stored if m["seq"] >= start)
    assert sorted(placed["before"]) == sorted(m["id"] for m in stored if m["seq"] < start)
    # What the model was sent agrees: the oldest message it got is the first under the line.
    sent = [m["content"] for m in app.upstream.requests[-1].body["messages"] if m["role"] == "user"]
    first_user = next(m for m in stored if m["seq"] >= start and m["role"] == "user")
    assert sent[0] == first_user["text"]
    chat.assert_clean()
